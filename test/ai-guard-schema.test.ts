import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatAjvErrors, validator } from '../src/config/ajv.js';
import { aiGuardDeny } from '../src/policies/ai-guard-deny/policy.js';
import { aiGuardInjection } from '../src/policies/ai-guard-injection/policy.js';
import { aiGuardOutput } from '../src/policies/ai-guard-output/policy.js';
import { aiGuardPii } from '../src/policies/ai-guard-pii/policy.js';

function check(
  schema: unknown,
  config: unknown,
): { config: unknown; issues: { path: string; message: string }[] } {
  const v = validator(schema as never);
  const c = structuredClone(config);
  return v(c) ? { config: c, issues: [] } : { config: c, issues: formatAjvErrors(v.errors) };
}

describe('ai-guard-* schemas', () => {
  it('fill their defaults', () => {
    assert.deepEqual(check(aiGuardInjection.schema, {}).config, {
      threshold: 1,
      roles: ['user', 'tool'],
      output: false,
      streams: 'check-at-end',
      disabledRules: [],
      rules: [],
    });
    assert.deepEqual(check(aiGuardPii.schema, {}).config, {
      detect: ['email', 'phone', 'card', 'iban', 'ssn', 'uk-nino'],
      custom: [],
      input: 'redact',
      output: 'redact',
      roles: ['system', 'user', 'assistant', 'tool'],
      streams: 'in-flight',
      streamWindow: 96,
      replacement: '[{type}]',
    });
    assert.deepEqual(check(aiGuardDeny.schema, { words: ['x'] }).config, {
      words: ['x'],
      topics: [],
      patterns: [],
      input: true,
      output: false,
      roles: ['user', 'tool'],
      streams: 'check-at-end',
      streamWindow: 96,
    });
    assert.deepEqual(check(aiGuardOutput.schema, {}).config, {
      regex: [],
      streams: 'check-at-end',
      streamWindow: 96,
    });
  });

  it('refuse unknown keys and bad values, by path', () => {
    assert.deepEqual(check(aiGuardInjection.schema, { treshold: 2, classifier: { url: 'x y' } }).issues, [
      { path: '/treshold', message: 'unknown key' },
      { path: '/classifier/url', message: 'must match format "uri"' },
    ]);
    assert.deepEqual(check(aiGuardPii.schema, { detect: ['passport'], input: 'mask' }).issues, [
      { path: '/detect/0', message: 'must be one of: email, phone, card, iban, ssn, uk-nino' },
      { path: '/input', message: 'must be one of: redact, block, off' },
    ]);
    assert.deepEqual(check(aiGuardOutput.schema, { regex: [{ name: 'Bad Name', pattern: '' }] }).issues, [
      { path: '/regex/0/name', message: 'must match pattern "^[a-z0-9][a-z0-9_-]{0,63}$"' },
      { path: '/regex/0/pattern', message: 'must NOT have fewer than 1 characters' },
    ]);
  });
});
