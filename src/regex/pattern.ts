import { RE2JS } from 're2js';

/**
 * Regular expressions a user supplies (WAF rules, guard patterns, request-log masks, JSON Schema
 * `pattern`s) run here, on RE2 (re2js, pure JavaScript): matching takes time linear in the text
 * whatever the pattern, so no pattern can stall the process (`(a|a)+$` on 30 `a`s and a `!`
 * takes seconds in V8, doubling with each byte). Syntax is JavaScript's; what RE2 cannot run
 * (backreferences, lookarounds) is refused with a RegexError when the revision compiles.
 *
 * A leaf library: it imports nothing from the gateway.
 */
export interface Pattern {
  readonly source: string;
  /** Whether the pattern matches anywhere in the text. */
  test(text: string): boolean;
  /** Replaces every non-empty match with what `by` returns for it. */
  replace(text: string, by: (match: string) => string): string;
  /** Start and end (UTF-16 offsets) of every non-empty match. */
  spans(text: string): [number, number][];
}

/** A pattern refused: `reason` says why (`uses a backreference (\1), which ...`). */
export class RegexError extends Error {
  constructor(readonly reason: string) {
    super(`pattern ${reason}`);
  }
}

const ENGINE = 'the linear-time engine (RE2)';

const FLAGS: Record<string, number> = {
  i: RE2JS.CASE_INSENSITIVE,
  m: RE2JS.MULTILINE,
  s: RE2JS.DOTALL,
  u: 0, // RE2 always matches code points
  g: 0, // replace and spans are always global; test is stateless
};

/** The first construct RE2 lacks, outside character classes, or undefined. */
function unsupported(source: string): string | undefined {
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      const n = source[i + 1] ?? '';
      if (/[1-9]/.test(n)) return `a backreference (\\${n})`;
      if (n === 'k' && source[i + 2] === '<') return 'a named backreference (\\k<name>)';
      i++;
    } else if (c === '[') {
      // Skip the class (in JavaScript the first `]` closes it, even right after `[`).
      for (i++; i < source.length && source[i] !== ']'; i++) if (source[i] === '\\') i++;
    } else if (c === '(' && source[i + 1] === '?') {
      const head = source.slice(i + 2, i + 4);
      if (head[0] === '=') return 'a lookahead ((?=...))';
      if (head[0] === '!') return 'a negative lookahead ((?!...))';
      if (head === '<=') return 'a lookbehind ((?<=...))';
      if (head === '<!') return 'a negative lookbehind ((?<!...))';
    }
  }
  return undefined;
}

/**
 * Compiles a user's pattern (JavaScript syntax) for RE2. `flags` may hold `i`, `m`, `s`, `u`
 * and `g` (the last two change nothing). Throws a RegexError naming what is wrong.
 */
export function compilePattern(source: string, flags = ''): Pattern {
  let bits = 0;
  for (const f of flags) {
    const b = FLAGS[f];
    if (b === undefined) throw new Error(`compilePattern: unknown flag '${f}'`);
    bits |= b;
  }
  try {
    // Syntax is checked as JavaScript's (construction parses; nothing runs).
    new RegExp(source, flags.replace('g', ''));
  } catch (e) {
    throw new RegexError(`is not a valid regular expression: ${(e as Error).message}`);
  }
  const what = unsupported(source);
  if (what) throw new RegexError(`uses ${what}, which ${ENGINE} does not support`);
  let re: RE2JS;
  try {
    re = RE2JS.compile(RE2JS.translateRegExp(source), bits);
  } catch (e) {
    const msg = (e as Error).message.replace(/^error parsing regexp: /, '');
    throw new RegexError(`is not supported by ${ENGINE}: ${msg}`);
  }
  return {
    source,
    test: (text) => re.test(text),
    replace(text, by) {
      const m = re.matcher(text);
      let out = '';
      let last = 0;
      while (m.find()) {
        const start = m.start();
        const end = m.end();
        if (end === start) continue; // an empty match replaces nothing
        out += text.slice(last, start) + by(text.slice(start, end));
        last = end;
      }
      return last === 0 ? text : out + text.slice(last);
    },
    spans(text) {
      const m = re.matcher(text);
      const out: [number, number][] = [];
      while (m.find()) if (m.end() > m.start()) out.push([m.start(), m.end()]);
      return out;
    },
  };
}

/** Why a pattern is refused, or undefined when it compiles. */
export function patternProblem(source: string, flags = ''): string | undefined {
  try {
    compilePattern(source, flags);
    return undefined;
  } catch (e) {
    if (e instanceof RegexError) return e.message;
    throw e;
  }
}

/**
 * Wraps one of the gateway's own RegExps (written and tested to be linear, never a user's) in
 * the Pattern interface, for the fast native engine.
 */
export function builtinPattern(re: RegExp): Pattern {
  const g = re.global ? re : new RegExp(re.source, `${re.flags}g`);
  return {
    source: re.source,
    test(text) {
      g.lastIndex = 0;
      return g.test(text);
    },
    replace(text, by) {
      g.lastIndex = 0;
      return text.replace(g, (m) => (m === '' ? m : by(m)));
    },
    spans(text) {
      g.lastIndex = 0;
      const out: [number, number][] = [];
      for (const m of text.matchAll(g)) if (m[0]) out.push([m.index, m.index + m[0].length]);
      return out;
    },
  };
}
