export interface JsonLimits {
  maxDepth?: number;
  maxArrayLength?: number;
  maxObjectKeys?: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_OBJ = 0x7b;
const CLOSE_OBJ = 0x7d;
const OPEN_ARR = 0x5b;
const CLOSE_ARR = 0x5d;

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

/**
 * Checks the structure of a JSON text against limits in one pass over its bytes, without
 * building it: nesting depth, elements per array, keys per object. Returns the limit crossed
 * (`depth>32`), or undefined. Malformed JSON is not this function's concern (it stops at
 * nothing worse than a miscount); schema validation refuses it.
 */
export function scanJson(buf: Uint8Array, limits: JsonLimits): string | undefined {
  const maxDepth = limits.maxDepth ?? Number.POSITIVE_INFINITY;
  const maxArray = limits.maxArrayLength ?? Number.POSITIVE_INFINITY;
  const maxKeys = limits.maxObjectKeys ?? Number.POSITIVE_INFINITY;
  // Per open container: 1 = array, 2 = object; its element count so far.
  const kinds: number[] = [];
  const counts: number[] = [];
  let inString = false;
  let escaped = false;
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (b === BACKSLASH) escaped = true;
      else if (b === QUOTE) inString = false;
      continue;
    }
    const top = kinds.length - 1;
    if (top >= 0 && counts[top] === 0 && !isSpace(b) && b !== CLOSE_ARR && b !== CLOSE_OBJ) {
      // The container's first element (or key) starts here.
      counts[top] = 1;
      if (kinds[top] === 1 && 1 > maxArray) return `array>${maxArray}`;
      if (kinds[top] === 2 && 1 > maxKeys) return `keys>${maxKeys}`;
    }
    switch (b) {
      case QUOTE:
        inString = true;
        break;
      case OPEN_ARR:
      case OPEN_OBJ:
        if (kinds.length + 1 > maxDepth) return `depth>${maxDepth}`;
        kinds.push(b === OPEN_ARR ? 1 : 2);
        counts.push(0);
        break;
      case CLOSE_ARR:
      case CLOSE_OBJ:
        kinds.pop();
        counts.pop();
        break;
      case COMMA:
        if (top < 0) break;
        counts[top]++;
        if (kinds[top] === 1 && counts[top] > maxArray) return `array>${maxArray}`;
        if (kinds[top] === 2 && counts[top] > maxKeys) return `keys>${maxKeys}`;
        break;
    }
  }
  return undefined;
}
