import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { linearRegExp } from './ajv.js';
import { builtinPattern, compilePattern, patternProblem } from './pattern.js';

const NOT_RE2 = 'which the linear-time engine (RE2) does not support';

describe('regex: refusals', () => {
  it('names the construct RE2 lacks', () => {
    const cases: [string, string][] = [
      ['(a)\\1', `pattern uses a backreference (\\1), ${NOT_RE2}`],
      ['(?<n>a)\\k<n>', `pattern uses a named backreference (\\k<name>), ${NOT_RE2}`],
      ['secret(?=\\d)', `pattern uses a lookahead ((?=...)), ${NOT_RE2}`],
      ['a(?!b)', `pattern uses a negative lookahead ((?!...)), ${NOT_RE2}`],
      ['(?<=a)b', `pattern uses a lookbehind ((?<=...)), ${NOT_RE2}`],
      ['(?<!a)b', `pattern uses a negative lookbehind ((?<!...)), ${NOT_RE2}`],
    ];
    for (const [p, want] of cases) assert.equal(patternProblem(p, 'i'), want, p);
  });

  it('refuses invalid syntax and what RE2 parses differently', () => {
    assert.equal(
      patternProblem('(['),
      'pattern is not a valid regular expression: Invalid regular expression: /([/: Unterminated character class',
    );
    assert.equal(
      patternProblem('a{1001}'),
      'pattern is not supported by the linear-time engine (RE2): invalid repeat count: `{1001}`',
    );
  });

  it('does not take escaped or bracketed parentheses for lookarounds', () => {
    for (const p of ['[(?=]x', '\\(?=x', '(?<year>\\d{4})-\\d{2}', '(?:a|b)'])
      assert.equal(patternProblem(p), undefined, p);
  });
});

describe('regex: matching', () => {
  const evil = `${'a'.repeat(100_000)}!`;

  it('runs shapes that backtrack exponentially in V8 in linear time', () => {
    // Each would not finish on a backtracking engine; the test runner's timeout bounds them.
    for (const p of ['(\\d|\\w)+$', '(a|a)+$', '(a+)+$', '^(a|aa)+$', '(?:\\w*x)*y', '\\w+@'])
      assert.equal(compilePattern(p, 'i').test(evil), false, p);
  });

  it('honours i, m and s; matches anywhere', () => {
    assert.equal(compilePattern('emp-\\d{6}', 'i').test('id EMP-123456'), true);
    assert.equal(compilePattern('emp-\\d{6}').test('id EMP-123456'), false);
    assert.equal(compilePattern('^b$', 'm').test('a\nb\nc'), true);
    assert.equal(compilePattern('^b$').test('a\nb\nc'), false);
    assert.equal(compilePattern('a.b', 's').test('a\nb'), true);
    assert.equal(compilePattern('a.b').test('a\nb'), false);
    assert.throws(() => compilePattern('a', 'y'), /unknown flag 'y'/);
  });

  it('replaces and spans non-empty matches by UTF-16 offset', () => {
    const p = compilePattern('EMP-\\d{6}', 'i');
    assert.equal(
      p.replace('😀 EMP-123456, emp-654321!', (m) => `<${m.length}>`),
      '😀 <10>, <10>!',
    );
    assert.deepEqual(p.spans('😀 EMP-123456'), [[3, 13]]);
    assert.equal(
      compilePattern('x*').replace('abc', () => '-'),
      'abc',
    );
  });

  it('wraps the gateway own RegExps in the same interface', () => {
    const p = builtinPattern(/\d{3}/);
    assert.equal(p.test('ab123'), true);
    assert.equal(p.test('ab123'), true); // no lastIndex carried over
    assert.equal(
      p.replace('1234 567', () => '#'),
      '#4 #',
    );
    assert.deepEqual(p.spans('1234 567'), [
      [0, 3],
      [5, 8],
    ]);
  });
});

describe('regex: Ajv engine', () => {
  it('gives Ajv a matcher keyed by source and flags, or an error naming the pattern', () => {
    const rx = linearRegExp('(a|a)+$', 'u');
    assert.equal(rx.test(`${'a'.repeat(100_000)}!`), false);
    assert.equal(rx.test('aa'), true);
    assert.equal(String(rx), '/(a|a)+$/u');
    assert.throws(
      () => linearRegExp('^(?!admin)', 'u'),
      (e: Error) => e.message === `pattern "^(?!admin)" uses a negative lookahead ((?!...)), ${NOT_RE2}`,
    );
  });
});
