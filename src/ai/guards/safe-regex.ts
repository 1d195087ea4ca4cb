import { RE2JS } from 're2js';

/**
 * Guard patterns come from operators and run on every prompt and answer (up to the body limit,
 * 1 MiB by default), so two things hold when the revision compiles:
 * - the pattern is refused if it has the shape of catastrophic backtracking (invalid syntax,
 *   backreferences, quantified lookarounds, a quantifier inside a repeated group such as `(a+)+`,
 *   a repeated group of alternatives such as `(a|aa)+`), the same rules as the WAF's own patterns;
 * - it is compiled for RE2 (re2js, pure JavaScript), which matches in time linear in the text:
 *   even shapes that backtrack polynomially in V8 (`\w+@` takes 9 s on 100 KB of letters there)
 *   stay linear. Syntax RE2 lacks (lookarounds) is refused with the reason.
 * A refused pattern is a config error at its field, never a silently open guard.
 */
export class PatternError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
  }
}

interface Frame {
  /** A quantifier with max > 1 inside the group (directly or nested). */
  repeats: boolean;
  /** The group has `|` and at least one branch longer than one atom. */
  ambiguous: boolean;
  branchAtoms: number;
  alternation: boolean;
  lookaround: boolean;
}

type Atom = { kind: 'char' } | { kind: 'group'; frame: Frame };

/** Reads a quantifier at `i`; returns its length and whether it allows more than one repetition. */
function quantifierAt(s: string, i: number): { len: number; many: boolean } | undefined {
  const c = s[i];
  if (c === '*' || c === '+') return { len: 1, many: true };
  if (c === '?') return { len: 1, many: false };
  if (c !== '{') return undefined;
  const m = /^\{(\d+)(,(\d*))?\}/.exec(s.slice(i));
  if (!m) return undefined;
  const max = m[2] === undefined ? Number(m[1]) : m[3] === '' ? Number.POSITIVE_INFINITY : Number(m[3]);
  return { len: m[0].length, many: max > 1 };
}

/** Why a pattern is refused, or undefined when it is accepted. */
export function unsafePattern(source: string, flags = ''): string | undefined {
  try {
    new RegExp(source, flags);
  } catch (e) {
    return `not a valid regular expression: ${(e as Error).message}`;
  }
  const newFrame = (lookaround = false): Frame => ({
    repeats: false,
    ambiguous: false,
    branchAtoms: 0,
    alternation: false,
    lookaround,
  });
  const stack: Frame[] = [newFrame()];
  let last: Atom | undefined;
  for (let i = 0; i < source.length; ) {
    const c = source[i];
    const top = stack[stack.length - 1];
    if (c === '\\') {
      const n = source[i + 1];
      if (/[1-9]/.test(n) || n === 'k')
        return 'backreferences are not allowed (they can backtrack exponentially)';
      // \uXXXX, \xXX, \cX and the like are one atom; the extra characters are literals.
      i += n === 'u' && source[i + 2] === '{' ? source.indexOf('}', i) - i + 1 : 2;
      last = { kind: 'char' };
      top.branchAtoms++;
      continue;
    }
    if (c === '[') {
      let j = i + 1;
      if (source[j] === '^') j++;
      if (source[j] === ']') j++;
      while (j < source.length && source[j] !== ']') j += source[j] === '\\' ? 2 : 1;
      i = j + 1;
      last = { kind: 'char' };
      top.branchAtoms++;
      continue;
    }
    if (c === '(') {
      const look = /^\(\?<?[=!]/.test(source.slice(i));
      stack.push(newFrame(look));
      i +=
        source[i + 1] !== '?'
          ? 1
          : source[i + 2] === ':'
            ? 3
            : look
              ? source[i + 2] === '<'
                ? 4
                : 3
              : source.indexOf('>', i) - i + 1;
      last = undefined;
      continue;
    }
    if (c === ')') {
      const f = stack.pop()!;
      if (f.alternation && f.branchAtoms > 1) f.ambiguous = true;
      const parent = stack[stack.length - 1];
      if (f.repeats) parent.repeats = true;
      parent.branchAtoms++;
      last = { kind: 'group', frame: f };
      i++;
      continue;
    }
    if (c === '|') {
      if (top.branchAtoms > 1) top.ambiguous = true;
      top.alternation = true;
      top.branchAtoms = 0;
      last = undefined;
      i++;
      continue;
    }
    const q = quantifierAt(source, i);
    if (q) {
      if (last?.kind === 'group') {
        if (last.frame.lookaround) return 'quantified lookarounds are not allowed';
        if (q.many && last.frame.repeats)
          return 'nested quantifiers can backtrack catastrophically; rewrite without a quantifier inside a repeated group';
        if (q.many && last.frame.alternation)
          return 'a repeated group of alternatives can backtrack catastrophically; use a character class or repeat each alternative on its own';
      }
      if (q.many) top.repeats = true;
      i += q.len;
      if (source[i] === '?' || source[i] === '+') i++; // lazy / possessive marker
      // A quantifier counts as part of its atom: a branch `a+` is still one atom long.
      last = undefined;
      continue;
    }
    last = { kind: 'char' };
    top.branchAtoms++;
    i++;
  }
  return undefined;
}

/** A compiled guard pattern: search semantics (anywhere in the text), linear time. */
export interface GuardPattern {
  readonly source: string;
  test(text: string): boolean;
  /** Replaces every match with what `by` returns for it. */
  replace(text: string, by: (match: string) => string): string;
  /** Start and end of every match. */
  spans(text: string): [number, number][];
}

/** Wraps a built-in RegExp (written to be linear) in the GuardPattern interface. */
export function nativePattern(re: RegExp): GuardPattern {
  const g = re.global ? re : new RegExp(re.source, `${re.flags}g`);
  return {
    source: re.source,
    test(text) {
      g.lastIndex = 0;
      return g.test(text);
    },
    replace(text, by) {
      g.lastIndex = 0;
      return text.replace(g, by);
    },
    spans(text) {
      g.lastIndex = 0;
      return [...text.matchAll(g)].map((m) => [m.index, m.index + m[0].length]);
    },
  };
}

/** Compiles an operator's pattern, case-insensitive, or throws a PatternError naming the config field. */
export function compileGuardPattern(source: string, path: string): GuardPattern {
  const why = unsafePattern(source, 'i');
  if (why) throw new PatternError(`pattern ${JSON.stringify(source.slice(0, 80))}: ${why}`, path);
  let re: RE2JS;
  try {
    re = RE2JS.compile(RE2JS.translateRegExp(source), RE2JS.CASE_INSENSITIVE);
  } catch (e) {
    throw new PatternError(
      `pattern ${JSON.stringify(source.slice(0, 80))}: not supported by the linear-time matcher (RE2): ${(e as Error).message}`,
      path,
    );
  }
  return {
    source,
    test: (text) => re.matcher(text).find(),
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
