/**
 * Guard patterns come from operators and run on every prompt and answer, so they are proven
 * linear-ish when the revision compiles: valid syntax, no backreferences, no quantified
 * lookarounds, no quantifier inside a repeated group (`(a+)+`, `(\w*x)*`) and no repeated group
 * of multi-character alternatives (`(a|aa)+`). These are the shapes of catastrophic backtracking.
 * A refused pattern is a config error with the reason, never a silently open guard.
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
        if (q.many && last.frame.ambiguous)
          return 'a repeated group of alternatives longer than one character can backtrack catastrophically; use a character class or bound it';
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

/** Compiles an operator's pattern or throws a PatternError naming the config field. */
export function compileGuardPattern(source: string, flags: string, path: string): RegExp {
  const why = unsafePattern(source, flags);
  if (why) throw new PatternError(`pattern ${JSON.stringify(source.slice(0, 80))}: ${why}`, path);
  return new RegExp(source, flags);
}
