import type { Clock } from '../core/clock.js';
import {
  type CounterStore,
  fits,
  type GcraResult,
  type LimitCheck,
  type LimitDecision,
  type Reservation,
  type ReserveResult,
} from './counter-store.js';
import { type Evaluation, evalFixed, evalGcra, evalSliding, stateKeys } from './limits.js';

interface Entry {
  value: number;
  expiresAt: number;
}

/**
 * Counters in this process's memory. Expired entries are swept on access and by a periodic
 * sweep, so memory stays bounded by the live keys.
 */
export class MemoryCounterStore implements CounterStore {
  private readonly counters = new Map<string, Entry>();
  private readonly tats = new Map<string, number>();
  private readonly until = new Map<string, { value: string; untilMs: number }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly clock: Clock) {
    this.sweeper = setInterval(() => this.sweep(), 10_000);
    this.sweeper.unref();
  }

  async incrBy(key: string, amount: number, ttlMs: number): Promise<number> {
    return this.add(key, amount, ttlMs, this.clock.now());
  }

  private add(key: string, amount: number, ttlMs: number, now: number): number {
    let e = this.counters.get(key);
    if (!e || e.expiresAt <= now) {
      e = { value: 0, expiresAt: now + ttlMs };
      this.counters.set(key, e);
    }
    e.value += amount;
    return e.value;
  }

  async get(key: string): Promise<number> {
    const e = this.counters.get(key);
    return e && e.expiresAt > this.clock.now() ? e.value : 0;
  }

  /** Synchronous between the checks and the writes, so no other request interleaves. */
  async reserve(items: readonly Reservation[]): Promise<ReserveResult> {
    const now = this.clock.now();
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      const current = this.count(it.key, now);
      if (!fits(current, it.amount, it.limit)) return { ok: false, index: i, current };
    }
    for (const it of items) if (it.amount !== 0) this.add(it.key, it.amount, it.ttlMs, now);
    return { ok: true };
  }

  async gcra(key: string, cost: number, emissionMs: number, burst: number, now: number): Promise<GcraResult> {
    return gcraStep(this.tats, key, cost, emissionMs, burst, now);
  }

  async limit(checks: readonly LimitCheck[], now: number): Promise<LimitDecision> {
    const evals: Evaluation[] = [];
    const keys: string[] = [];
    for (const c of checks) {
      const k = stateKeys(c, now);
      keys.push(k[k.length - 1]);
      if (c.kind === 'gcra') evals.push(evalGcra(this.tats.get(k[0]), c, now));
      else if (c.kind === 'fixed') evals.push(evalFixed(this.count(k[0], now), c, now));
      else evals.push(evalSliding(this.count(k[0], now), this.count(k[1], now), c, now));
    }
    const allowed = evals.every((e) => e.result.allowed);
    if (allowed)
      checks.forEach((c, i) => {
        const e = evals[i];
        if (c.kind === 'gcra') this.tats.set(keys[i], e.next);
        else this.counters.set(keys[i], { value: e.next, expiresAt: e.expiresAt });
      });
    // Nothing was spent: admitting checks report their state as it is.
    return {
      allowed,
      results: evals.map((e) =>
        allowed || !e.result.allowed ? e.result : { allowed: true, ...e.idle, retryAfterMs: 0 },
      ),
    };
  }

  private count(key: string, now: number): number {
    const e = this.counters.get(key);
    return e && e.expiresAt > now ? e.value : 0;
  }

  async setUntil(key: string, value: string, untilMs: number): Promise<void> {
    this.until.set(key, { value, untilMs });
  }

  async getUntil(key: string): Promise<{ value: string; untilMs: number } | undefined> {
    const e = this.until.get(key);
    if (!e) return undefined;
    if (e.untilMs <= this.clock.now()) {
      this.until.delete(key);
      return undefined;
    }
    return e;
  }

  async delete(key: string): Promise<void> {
    this.counters.delete(key);
    this.tats.delete(key);
    this.until.delete(key);
  }

  async scanUntil(prefix: string): Promise<{ key: string; value: string; untilMs: number }[]> {
    const now = this.clock.now();
    const out: { key: string; value: string; untilMs: number }[] = [];
    for (const [key, e] of this.until) if (key.startsWith(prefix) && e.untilMs > now) out.push({ key, ...e });
    return out;
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }

  private sweep(): void {
    const now = this.clock.now();
    for (const [k, e] of this.counters) if (e.expiresAt <= now) this.counters.delete(k);
    for (const [k, e] of this.until) if (e.untilMs <= now) this.until.delete(k);
    for (const [k, tat] of this.tats) if (tat <= now) this.tats.delete(k);
  }
}

/**
 * One GCRA decision on a map of theoretical arrival times (TAT). The same arithmetic runs in
 * the Redis Lua script, so both stores decide alike.
 */
export function gcraStep(
  tats: Map<string, number>,
  key: string,
  cost: number,
  emissionMs: number,
  burst: number,
  now: number,
): GcraResult {
  const tat = Math.max(tats.get(key) ?? now, now);
  const increment = emissionMs * cost;
  const tolerance = emissionMs * burst;
  const newTat = tat + increment;
  const allowAt = newTat - tolerance;
  if (allowAt > now) {
    return {
      allowed: false,
      remaining: Math.max(0, Math.floor((tolerance - (tat - now)) / emissionMs)),
      resetMs: tat - now,
      retryAfterMs: allowAt - now,
    };
  }
  tats.set(key, newTat);
  return {
    allowed: true,
    remaining: Math.floor((tolerance - (newTat - now)) / emissionMs),
    resetMs: newTat - now,
    retryAfterMs: 0,
  };
}
