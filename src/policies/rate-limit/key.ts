import { createHash } from 'node:crypto';
import type { PolicyContext } from '../../core/context.js';
import type { KeyPartConfig } from './schema.js';

/** Builds a request's limit key; undefined when a part is absent and `onMissing` is `skip`. */
export type KeyFn = (ctx: PolicyContext) => string | undefined;

type PartFn = (ctx: PolicyContext) => string | undefined;

/** Long or odd values (headers, claims) are hashed, so a client cannot bloat the store's keys. */
function safe(v: string): string {
  return v.length <= 96 && /^[\w.:@/+=-]*$/.test(v)
    ? v
    : `#${createHash('sha256').update(v).digest('base64url').slice(0, 22)}`;
}

function part(p: KeyPartConfig): PartFn {
  if (p === 'ip') return (ctx) => ctx.request.clientIp;
  if (p === 'consumer') return (ctx) => ctx.consumer?.name;
  if (p === 'credential') return (ctx) => ctx.identity?.credential;
  if (p === 'route') return (ctx) => ctx.request.route;
  if (p === 'service') return (ctx) => ctx.request.service || undefined;
  if ('header' in p) {
    const name = p.header.toLowerCase();
    return (ctx) => {
      const v = ctx.request.headers[name];
      const s = Array.isArray(v) ? v[0] : v;
      return s ? safe(s) : undefined;
    };
  }
  const claim = p.claim;
  return (ctx) => {
    const v = ctx.identity?.claims?.[claim];
    return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
      ? safe(String(v))
      : undefined;
  };
}

function label(p: KeyPartConfig): string {
  if (typeof p === 'string') return p;
  return 'header' in p ? `header:${p.header.toLowerCase()}` : `claim:${p.claim}`;
}

/**
 * Compiles key parts into one function. Each part is written `label=value`, joined by `|`, so
 * `['consumer', 'route']` gives `consumer=alice|route=orders`. A missing part is replaced by
 * the client IP (`onMissing: 'ip'`) or makes the key undefined (`skip`).
 */
export function compileKey(parts: readonly KeyPartConfig[], onMissing: 'ip' | 'skip' = 'ip'): KeyFn {
  const fns = parts.map(part);
  const labels = parts.map(label);
  if (fns.length === 1 && parts[0] === 'ip') return (ctx) => `ip=${ctx.request.clientIp}`;
  return function limitKey(ctx) {
    let key = '';
    for (let i = 0; i < fns.length; i++) {
      let v = fns[i](ctx);
      let l = labels[i];
      if (v === undefined) {
        if (onMissing === 'skip') return undefined;
        v = ctx.request.clientIp;
        l = `${l}?ip`;
      }
      key += i === 0 ? `${l}=${v}` : `|${l}=${v}`;
    }
    return key;
  };
}

/** The counter namespace of a policy instance: its id and scope, so two instances never share counters. */
export function namespace(instance: { id: string; scope: string } | undefined, fallback: string): string {
  return instance ? `${instance.id}@${instance.scope}` : fallback;
}

/** `10s` -> 10000 */
export function durationMs(s: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(s);
  if (!m) throw new Error(`'${s}' is not a duration (e.g. 500ms, 10s, 1m, 1h, 1d)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms'];
  return Number(m[1]) * unit;
}
