import type { GcraResult, LimitCheck } from './counter-store.js';

/**
 * The arithmetic of rate-limit decisions, shared by the memory store and mirrored line for line
 * by the Redis Lua script (redis-scripts.ts), so both stores decide alike. Everything is in
 * milliseconds and IEEE doubles (Lua numbers are doubles too).
 */

/** Guards floor() against 2.9999999 from fractional emission intervals (1000 / 3 ms). */
export const EPSILON = 1e-9;

/** The state keys a check reads and writes, derived the same way for every store. */
export function stateKeys(c: LimitCheck, now: number): string[] {
  if (c.kind === 'gcra') return [c.key];
  if (c.kind === 'fixed') return [`${c.key}:${c.windowStart}`];
  const index = Math.floor(now / c.windowMs);
  return [`${c.key}:${index - 1}`, `${c.key}:${index}`];
}

export interface Evaluation {
  result: GcraResult;
  /** Remaining and reset without spending: what an admitting check reports when another denies. */
  idle: { remaining: number; resetMs: number };
  /** The new value of the check's last state key when the decision commits. */
  next: number;
  /** Absolute expiry of that value. */
  expiresAt: number;
}

/** GCRA on a theoretical arrival time (undefined: a full bucket). */
export function evalGcra(
  tat: number | undefined,
  c: Extract<LimitCheck, { kind: 'gcra' }>,
  now: number,
): Evaluation {
  const e = c.emissionMs;
  const base = tat === undefined || tat < now ? now : tat;
  const tolerance = e * c.burst;
  const next = base + e * c.cost;
  const allowAt = next - tolerance;
  const idle = {
    remaining: Math.max(0, Math.floor((tolerance - (base - now)) / e + EPSILON)),
    resetMs: base - now,
  };
  if (allowAt > now)
    return {
      idle,
      result: {
        allowed: false,
        remaining: Math.max(0, Math.floor((tolerance - (base - now)) / e + EPSILON)),
        resetMs: base - now,
        retryAfterMs: allowAt - now,
      },
      next: base,
      expiresAt: base,
    };
  return {
    idle,
    result: {
      allowed: true,
      remaining: Math.max(0, Math.floor((tolerance - (next - now)) / e + EPSILON)),
      resetMs: next - now,
      retryAfterMs: 0,
    },
    next,
    expiresAt: next,
  };
}

/**
 * Sliding window: the count of the current fixed window plus the previous window's count
 * weighted by how much of it still overlaps the sliding window.
 */
export function evalSliding(
  prev: number,
  curr: number,
  c: Extract<LimitCheck, { kind: 'sliding' }>,
  now: number,
): Evaluation {
  const w = c.windowMs;
  const start = Math.floor(now / w) * w;
  const elapsed = now - start;
  const estimate = (prev * (w - elapsed)) / w + curr;
  const allowed = estimate + c.cost <= c.limit + EPSILON;
  const spent = allowed ? c.cost : 0;
  const after = curr + spent;
  const resetMs = after > 0 ? start + 2 * w - now : prev > 0 ? start + w - now : 0;
  let retryAfterMs = 0;
  if (!allowed) {
    if (c.cost > c.limit) retryAfterMs = start + 2 * w - now;
    else if (curr + c.cost <= c.limit) {
      // The previous window's weight must fall: prev * (w - t) / w <= limit - curr - cost.
      const t = w - (w * (c.limit - curr - c.cost)) / prev;
      retryAfterMs = Math.max(1, t - elapsed);
    } else {
      // Only the next window helps: curr * (w - t) / w + cost <= limit, t into the next window.
      const t = Math.max(0, w - (w * (c.limit - c.cost)) / curr);
      retryAfterMs = Math.max(1, start + w - now + t);
    }
  }
  return {
    idle: {
      remaining: Math.max(0, Math.floor(c.limit - estimate + EPSILON)),
      resetMs: curr > 0 ? start + 2 * w - now : prev > 0 ? start + w - now : 0,
    },
    result: {
      allowed,
      remaining: Math.max(0, Math.floor(c.limit - estimate - spent + EPSILON)),
      resetMs,
      retryAfterMs,
    },
    next: after,
    expiresAt: start + 2 * w,
  };
}

/** A fixed window with explicit bounds (calendar quotas). */
export function evalFixed(count: number, c: Extract<LimitCheck, { kind: 'fixed' }>, now: number): Evaluation {
  const allowed = count + c.cost <= c.limit;
  const spent = allowed ? c.cost : 0;
  return {
    idle: { remaining: Math.max(0, c.limit - count), resetMs: c.windowEnd - now },
    result: {
      allowed,
      remaining: Math.max(0, c.limit - count - spent),
      resetMs: c.windowEnd - now,
      retryAfterMs: allowed ? 0 : c.windowEnd - now,
    },
    next: count + spent,
    expiresAt: c.windowEnd,
  };
}
