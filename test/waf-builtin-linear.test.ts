import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUILTIN_RULES } from '../src/waf/rules.js';

/**
 * The built-in WAF rules run on V8's backtracking RegExp (for speed; user rules run on RE2). Each
 * must stay linear: here every rule meets, for each pumped character, long runs of it after
 * every punctuation mark and every word of the pattern. A rule that backtracks quadratically
 * (`\s*x?\s*`, or a boundary class that also matches the `\s*` after it, as 941150, 942170 and
 * 941100 once did) takes many minutes on this input and the runner's timeout (180 s) fails the file; a
 * linear rule takes milliseconds. No timing is asserted.
 */
const PUMPS = [...' \t()\'"<>/\\.;=-%&|${}:,#*+`!?@[]a0_'];
const RUN = 64_000;

describe('waf: built-in rules are linear on pumped input', () => {
  for (const rule of BUILTIN_RULES) {
    if (rule.pattern === undefined) continue;
    it(`${rule.id} (${rule.description})`, () => {
      const re = new RegExp(rule.pattern as string, 'i');
      const words = [...new Set(rule.pattern?.toLowerCase().match(/[a-z]{2,}/g) ?? [])];
      // Punctuation the pattern names, and its words: where a match could start.
      const marks = PUMPS.filter((c) => !/[a-z0-9_]/.test(c) && (rule.pattern as string).includes(c));
      const prefixes = ['', 'a', ...marks, ...words];
      for (const p of PUMPS) {
        const run = p.repeat(RUN);
        const text = `${prefixes.map((pre) => pre + run).join('\u0001')}\u0001`;
        assert.equal(typeof re.test(text), 'boolean');
      }
    });
  }
});
