import { createRequire } from 'node:module';

// ret is CommonJS with named exports that ESM cannot see statically.
const ret = createRequire(import.meta.url)('ret') as typeof import('ret').default & {
  types: typeof import('ret').types;
};
const types = ret.types;

type Node = {
  type: number;
  options?: Node[][];
  stack?: Node[];
  set?: Node[];
  not?: boolean;
  value?: Node | number | string;
  from?: number;
  to?: number;
  min?: number;
  followedBy?: boolean;
  notFollowedBy?: boolean;
};

/** Literal strings a match must contain at least one of; undefined when nothing useful is known. */
type Req = Set<string> | undefined;

const MAX_SET = 64;

/** Lower-case ASCII, as the forms the rules run on are lower-cased; undefined past ASCII. */
function ascii(code: number): string | undefined {
  if (code >= 128) return undefined;
  return String.fromCharCode(code).toLowerCase();
}

/** The characters a (non-negated) class can match, or undefined when it is large or not ASCII. */
function setChars(node: Node, out: Set<string>): boolean {
  if (node.not) return false;
  for (const s of node.set ?? []) {
    if (s.type === types.CHAR) {
      const c = ascii(s.value as number);
      if (c === undefined) return false;
      out.add(c);
    } else if (s.type === types.RANGE) {
      const from = s.from as number;
      const to = s.to as number;
      if (to >= 128 || to - from > MAX_SET) return false;
      for (let c = from; c <= to; c++) out.add(ascii(c) as string);
    } else if (s.type === types.SET) {
      if (!setChars(s, out)) return false;
    } else return false;
    if (out.size > MAX_SET) return false;
  }
  return out.size > 0;
}

/** Literals made only of what plain text (words, numbers, e-mail addresses) has. */
const COMMON = /^[a-z0-9 _.,@-]*$/;

/** How much a literal costs to check and how often benign text has it: lower is better. */
function cost(req: Set<string>): number {
  let c = 0;
  for (const lit of req) {
    if (!COMMON.test(lit)) c += 1;
    else if (lit.length >= 5) c += 2;
    else if (lit.length === 4) c += 3;
    else if (lit.length === 3) c += 8;
    else c += 100;
  }
  return c;
}

function seq(stack: Node[]): Req {
  let best: Req;
  let bestCost = Number.POSITIVE_INFINITY;
  const consider = (r: Req) => {
    if (!r) return;
    const c = cost(r);
    if (c < bestCost) {
      best = r;
      bestCost = c;
    }
  };
  let run = '';
  for (const n of stack) {
    const c = n.type === types.CHAR ? ascii(n.value as number) : undefined;
    if (c !== undefined) {
      run += c;
      continue;
    }
    if (run) consider(new Set([run]));
    run = '';
    consider(req(n));
  }
  if (run) consider(new Set([run]));
  return best;
}

function alt(options: Node[][]): Req {
  const out = new Set<string>();
  for (const o of options) {
    const r = seq(o);
    if (!r) return undefined;
    for (const l of r) out.add(l);
  }
  return out;
}

function req(n: Node): Req {
  switch (n.type) {
    case types.ROOT:
    case types.GROUP:
      if (n.followedBy || n.notFollowedBy) return undefined;
      if (n.options) return alt(n.options);
      return seq(n.stack ?? []);
    case types.CHAR: {
      const c = ascii(n.value as number);
      return c === undefined ? undefined : new Set([c]);
    }
    case types.SET: {
      const out = new Set<string>();
      return setChars(n, out) ? out : undefined;
    }
    case types.REPETITION:
      return (n.min ?? 0) >= 1 ? req(n.value as Node) : undefined;
    default:
      return undefined;
  }
}

/**
 * A cheap necessary condition for a case-insensitive pattern to match a lower-cased value: the
 * value holds one of these single characters or strings. Derived from the pattern's syntax
 * (a character, class, literal run or alternation every match must pass through); undefined when
 * no selective condition is found, and the rule then runs on every value.
 */
export interface Gate {
  /** ASCII characters as a 128-bit mask in four words. */
  mask: [number, number, number, number];
  strings: string[];
}

/** Most literals a gate may hold before it costs more than it saves. */
const MAX_COST = 40;

export function gateOf(source: string): Gate | undefined {
  let tree: Node;
  try {
    tree = ret(source) as unknown as Node;
  } catch {
    return undefined;
  }
  const r = req(tree);
  if (!r || r.size === 0 || cost(r) > MAX_COST) return undefined;
  const gate: Gate = { mask: [0, 0, 0, 0], strings: [] };
  for (const lit of r) {
    if (lit.length === 1) {
      const c = lit.charCodeAt(0);
      gate.mask[c >> 5] = (gate.mask[c >> 5] as number) | (1 << (c & 31));
    } else gate.strings.push(lit);
  }
  return gate;
}

/** The ASCII characters a value holds, as the mask a gate is checked against. */
export function charMask(s: string, out: Int32Array = new Int32Array(4)): Int32Array {
  let m0 = 0;
  let m1 = 0;
  let m2 = 0;
  let m3 = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 32) m0 |= 1 << c;
    else if (c < 64) m1 |= 1 << (c - 32);
    else if (c < 96) m2 |= 1 << (c - 64);
    else if (c < 128) m3 |= 1 << (c - 96);
  }
  out[0] = m0;
  out[1] = m1;
  out[2] = m2;
  out[3] = m3;
  return out;
}

/** A gate's string, under its first character, with the mask of all its characters. */
interface Literal {
  rule: number;
  lit: string;
  mask: Int32Array;
}

/** Whether a value's mask has every character of a literal's. */
function holds(m: Int32Array, lit: Int32Array): boolean {
  return (
    ((m[0] as number) & (lit[0] as number)) === lit[0] &&
    ((m[1] as number) & (lit[1] as number)) === lit[1] &&
    ((m[2] as number) & (lit[2] as number)) === lit[2] &&
    ((m[3] as number) & (lit[3] as number)) === lit[3]
  );
}

/** Letters from the rarest to the most common in English text. */
const LETTERS_BY_RARITY = 'zqxjkvbpygfwmucldrhsnioate';

/** How rare a character is in ordinary values: punctuation outside plain text first. */
function rarity(c: string): number {
  const l = LETTERS_BY_RARITY.indexOf(c);
  if (l >= 0) return 100 - l;
  if (c >= '0' && c <= '9') return 60;
  if (COMMON.test(c)) return 50;
  return 200;
}

/** The code of a literal's rarest character. */
function rarest(lit: string): number {
  let best = 0;
  for (let i = 1; i < lit.length; i++) if (rarity(lit[i] as string) > rarity(lit[best] as string)) best = i;
  return lit.charCodeAt(best);
}

/** Most forms a value can have for the per-form bits of `candidates` (more: every rule runs). */
const MAX_FORMS = 31;

/**
 * The gates of a list of rules, indexed by character: for the forms of one value, which rules can
 * match which form. Rules without a gate are candidates on every form.
 */
export class GateIndex {
  /** Rules without a gate: candidates on every form. */
  private readonly ungated: number[] = [];
  private readonly byChar: number[][] = Array.from({ length: 128 }, () => []);
  private readonly byFirst: Literal[][] = Array.from({ length: 128 }, () => []);
  /** The characters some gate has, and those plus the characters literals are filed under. */
  private readonly usedChars: [number, number, number, number] = [0, 0, 0, 0];
  private readonly used: [number, number, number, number] = [0, 0, 0, 0];
  private readonly cand: Uint32Array;
  private readonly mask = new Int32Array(4);
  /** Matches where any gate string is: a form it misses needs no look at the strings. */
  private readonly anyString: RegExp | undefined;

  constructor(gates: readonly (Gate | undefined)[]) {
    this.cand = new Uint32Array(gates.length);
    const strings = new Set<string>();
    gates.forEach((g, rule) => {
      if (!g) {
        this.ungated.push(rule);
        return;
      }
      for (let c = 0; c < 128; c++) {
        if (((g.mask[c >> 5] as number) & (1 << (c & 31))) === 0) continue;
        (this.byChar[c] as number[]).push(rule);
        this.usedChars[c >> 5] = (this.usedChars[c >> 5] as number) | (1 << (c & 31));
        this.used[c >> 5] = (this.used[c >> 5] as number) | (1 << (c & 31));
      }
      g.strings.forEach((lit) => {
        // Filed under its rarest character, so common letters lead to few literals.
        const c = rarest(lit);
        (this.byFirst[c] as Literal[]).push({ rule, lit, mask: charMask(lit) });
        strings.add(lit);
        this.used[c >> 5] = (this.used[c >> 5] as number) | (1 << (c & 31));
      });
    });
    const esc = (x: string) => x.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
    this.anyString = strings.size ? new RegExp([...strings].map(esc).join('|')) : undefined;
  }

  /**
   * Per rule, one bit per form (bit j: the rule can match form j); the array is reused by the
   * next call.
   */
  candidates(forms: readonly string[]): Uint32Array {
    const cand = this.cand;
    const all = forms.length > MAX_FORMS ? 0xffffffff : (1 << forms.length) - 1;
    if (all === 0xffffffff) return cand.fill(all);
    for (let i = 0; i < cand.length; i++) cand[i] = 0;
    for (let i = 0; i < this.ungated.length; i++) cand[this.ungated[i] as number] = all;
    const anyString = this.anyString;
    for (let j = 0; j < forms.length; j++) {
      const form = forms[j] as string;
      // One alternation of every string first: most values hold none of them.
      const strings = anyString !== undefined && anyString.test(form);
      const look = strings ? this.used : this.usedChars;
      if ((look[0] | look[1] | look[2] | look[3]) === 0) continue;
      const m = charMask(form, this.mask);
      const bit = 1 << j;
      for (let w = 0; w < 4; w++) {
        let bits = (m[w] as number) & (look[w] as number);
        while (bits !== 0) {
          const low = bits & -bits;
          bits ^= low;
          const c = (w << 5) | (31 - Math.clz32(low));
          for (const rule of this.byChar[c] as number[]) cand[rule] = (cand[rule] as number) | bit;
          if (!strings) continue;
          for (const f of this.byFirst[c] as Literal[])
            if (((cand[f.rule] as number) & bit) === 0 && holds(m, f.mask) && form.includes(f.lit))
              cand[f.rule] = (cand[f.rule] as number) | bit;
        }
      }
    }
    return cand;
  }
}
