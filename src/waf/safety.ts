import { createRequire } from 'node:module';

// ret is CommonJS with named exports that ESM cannot see statically.
const ret = createRequire(import.meta.url)('ret') as typeof import('ret').default & {
  types: typeof import('ret').types;
};
const tokenizer = ret;
const types = ret.types;

type Node = { type: number; options?: Node[][]; stack?: Node[]; value?: Node; min?: number; max?: number };

/**
 * Star height of a pattern: how deeply unbounded quantifiers nest. An optional group (`?`,
 * `{0,1}`) does not count; any other quantifier does. Height 2 (`(a+)+`, `(a|b*){2,9}`) is the
 * shape of catastrophic backtracking.
 */
function starHeight(node: Node, height: number): number {
  let h = height;
  if (node.type === types.REPETITION && !(node.max === 1)) h++;
  let max = h;
  const options = node.options ?? node.value?.options;
  if (options) for (const o of options) max = Math.max(max, starHeight({ type: -1, stack: o }, h));
  const stack = node.stack ?? node.value?.stack;
  if (stack) for (const s of stack) max = Math.max(max, starHeight(s, h));
  if (node.type === types.REPETITION && node.value && !node.value.stack && !node.value.options)
    max = Math.max(max, starHeight(node.value, h));
  return max;
}

/** A quantified alternation whose branches are more than single characters: `(a|aa)+`. */
function ambiguousLoop(node: Node): boolean {
  if (node.type === types.REPETITION && node.max !== 1 && node.value) {
    const options = node.value.options;
    if (
      options?.some(
        (o) => o.length > 1 || o.some((t) => t.type === types.REPETITION || t.type === types.GROUP),
      )
    )
      return true;
  }
  const options = node.options ?? node.value?.options;
  if (options) for (const o of options) for (const t of o) if (ambiguousLoop(t)) return true;
  const stack = node.stack ?? node.value?.stack;
  if (stack) for (const t of stack) if (ambiguousLoop(t)) return true;
  if (node.type === types.REPETITION && node.value && ambiguousLoop(node.value)) return true;
  return false;
}

/**
 * Proves a pattern free of catastrophic backtracking at compile time: no nested quantifiers
 * (star height at most 1), no backreferences and no quantified lookarounds. Returns the reason
 * when it is refused, undefined when the pattern is safe.
 */
export function unsafeReason(source: string): string | undefined {
  try {
    new RegExp(source, 'i');
  } catch (e) {
    return `not a valid regular expression: ${(e as Error).message}`;
  }
  if (/\\[1-9]|\\k</.test(source)) return 'backreferences are not allowed (they can backtrack exponentially)';
  if (/\(\?<?[=!][^)]*[*+}]/.test(source)) return 'quantifiers inside lookarounds are not allowed';
  let tree: Node;
  try {
    tree = tokenizer(source) as unknown as Node;
  } catch (e) {
    return `not a supported regular expression: ${(e as Error).message}`;
  }
  if (starHeight(tree, 0) > 1)
    return 'nested quantifiers can backtrack catastrophically; rewrite without a quantifier inside a quantified group';
  if (ambiguousLoop(tree))
    return 'a repeated group of alternatives longer than one character can backtrack catastrophically; use a character class or bound it';
  return undefined;
}
