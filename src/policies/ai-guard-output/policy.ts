import type { ValidateFunction } from 'ajv';
import {
  aiCall,
  type OutputCheck,
  type OutputVerdict,
  type StreamFilterFactory,
} from '../../ai/call-state.js';
import { streamRedactor } from '../../ai/guards/pii.js';
import { guardSignals, refuseStream, streamCutter } from '../../ai/guards/common.js';
import { compileGuardPattern, PatternError } from '../../ai/guards/guard-pattern.js';
import { ajv } from '../../config/ajv.js';
import type { PolicyContext } from '../../core/context.js';
import { definePolicy } from '../../core/policy.js';
import { AiGuardOutputSchema } from './schema.js';

const FENCE = /^\s*```(?:json)?\s*\n([\s\S]*?)\n\s*```\s*$/;

function compileSchema(schema: Record<string, unknown>): ValidateFunction {
  // A schema with an `$id` is registered in the shared Ajv: the next revision replaces it.
  const id = typeof schema.$id === 'string' ? schema.$id : undefined;
  if (id && ajv.getSchema(id)) ajv.removeSchema(id);
  let v: ValidateFunction;
  try {
    v = ajv.compile(structuredClone(schema));
  } catch (err) {
    throw new PatternError(`not a valid JSON Schema: ${(err as Error).message}`, 'jsonSchema');
  }
  // An async schema's validator returns a promise, which would pass every answer.
  if ((v as { $async?: boolean }).$async)
    throw new PatternError('`$async` schemas are not supported', 'jsonSchema');
  return v;
}

/**
 * Checks on the model's answer: regular expressions that refuse, require or redact, a JSON
 * Schema the answer must satisfy, and a length cap. The AI terminal runs the check on the
 * answer; the request is only refused when it asks for a stream and `streams: refuse` is set.
 */
export const aiGuardOutput = definePolicy({
  name: 'ai-guard-output',
  description:
    'Checks AI answers: regular expressions (block, require, redact), a JSON Schema, a length cap.',
  schema: AiGuardOutputSchema,
  priority: 50,
  create(config, deps) {
    const rules = config.regex.map((r, i) => ({
      ...r,
      re: compileGuardPattern(r.pattern, `regex/${i}/pattern`),
    }));
    const validate = config.jsonSchema ? compileSchema(config.jsonSchema) : undefined;
    const signals = guardSignals('ai-guard-output', deps);
    const blocked = (rule: string, detail?: string): OutputVerdict => {
      signals.matched('output', rule);
      return { block: { rule, detail } };
    };

    const aiOutput: OutputCheck = (answer) => {
      let text = answer;
      const redacted: string[] = [];
      if (config.maxChars !== undefined && text.length > config.maxChars)
        return blocked('max-chars', `${text.length} > ${config.maxChars}`);
      for (const r of rules) {
        if (r.action === 'redact') {
          const next = r.re.replace(text, () => r.replacement);
          if (next !== text) {
            signals.matched('output', `redact:${r.name}`);
            redacted.push(r.name);
          }
          text = next;
        } else if (r.re.test(text) !== (r.action === 'require')) return blocked(`${r.action}:${r.name}`);
      }
      if (validate) {
        let value: unknown;
        try {
          value = JSON.parse(FENCE.exec(text)?.[1] ?? text);
        } catch {
          return blocked('json-schema', 'the answer is not JSON');
        }
        if (!validate(value))
          return blocked(
            'json-schema',
            (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; '),
          );
      }
      return redacted.length ? { text, rule: `redact:${redacted.join(',')}` } : undefined;
    };

    // Per request it only refuses streams (with `streams: refuse`); the AI terminal runs aiOutput.
    const fn = async function aiGuardOutput(ctx: PolicyContext) {
      if (config.streams !== 'refuse') return undefined;
      const st = await aiCall(ctx);
      return st.parseError ? undefined : refuseStream(ctx, st);
    };
    // On streams, `redact` rules rewrite the text in flight and, with `streams: cut`, `block`
    // rules and `maxChars` cut the stream before a match is sent; the other checks run at the end.
    const redactors = rules
      .filter((r) => r.action === 'redact')
      .map((r) => ({ name: r.name, re: r.re, replacement: r.replacement }));
    const cutRules = rules.filter((r) => r.action === 'block');
    const cutting = config.streams === 'cut' && (cutRules.length > 0 || config.maxChars !== undefined);
    const aiStreamOutput: StreamFilterFactory | undefined =
      config.streams !== 'refuse' && (redactors.length || cutting)
        ? () => {
            const red = redactors.length ? streamRedactor(redactors, config.streamWindow) : undefined;
            let total = 0;
            const cut = cutting
              ? streamCutter((held) => {
                  const hit = cutRules.find((r) => r.re.test(held));
                  const rule =
                    config.maxChars !== undefined && total > config.maxChars
                      ? 'max-chars'
                      : hit && `block:${hit.name}`;
                  if (rule) signals.matched('output', rule);
                  return rule;
                }, config.streamWindow)
              : undefined;
            return {
              push(t) {
                total += t.length;
                const x = red ? red.push(t) : t;
                return cut ? cut.push(x) : x;
              },
              end() {
                const x = red ? red.end() : '';
                return cut ? cut.push(x) + cut.end() : x;
              },
              rule: () => (red?.kinds.size ? `redact:${[...red.kinds].join(',')}` : undefined),
            };
          }
        : undefined;
    return { validate: Object.assign(fn, { aiOutput, aiStreamOutput }) };
  },
});
