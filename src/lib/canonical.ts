import { createHash } from 'node:crypto';
import type { Steps } from '../core/slices.js';

/** JSON with object keys sorted at every depth: equal configs give equal text, hence equal hashes. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

/**
 * `canonicalJson` with a step after each element of the arrays directly under the top object
 * (a config's routes, policies, services), for sliced compiles. Gives the same text.
 */
export function* canonicalJsonSteps(value: unknown): Steps<string> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return canonicalJson(value);
  const parts: string[] = [];
  for (const k of Object.keys(value).sort()) {
    const x = (value as Record<string, unknown>)[k];
    if (x === undefined) continue;
    let text: string;
    if (Array.isArray(x)) {
      const items: string[] = [];
      for (const el of x) {
        // As JSON.stringify writes an array element that has no JSON form.
        items.push(canonicalJson(el) ?? 'null');
        yield;
      }
      text = `[${items.join(',')}]`;
    } else text = canonicalJson(x);
    parts.push(`${JSON.stringify(k)}:${text}`);
  }
  return `{${parts.join(',')}}`;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
