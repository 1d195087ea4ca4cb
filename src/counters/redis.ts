import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import {
  type CounterStore,
  CounterStoreUnavailableError,
  type GcraResult,
  type LimitCheck,
  type LimitDecision,
  type Reservation,
  type ReserveResult,
} from './counter-store.js';
import { stateKeys } from './limits.js';
import { INCR_LUA, LIMIT_LUA, RESERVE_LUA } from './redis-scripts.js';

export interface RedisCounterOptions {
  /** `redis://[:password@]host:port[/db]` or `rediss://` for TLS. */
  url: string;
  /** Prefix of every key (default `pcs:`), so several gateways may share one Redis. */
  prefix?: string;
  /** A command not answered in this time fails (default 250 ms): the policy then fails open or closed. */
  commandTimeoutMs?: number;
  /** A degraded store is logged at most once per interval (default 10 s). */
  logIntervalMs?: number;
  clock: Clock;
  logger: Logger;
  metrics?: GatewayMetrics;
}

type Scripted = Redis & {
  pcsLimit(numKeys: number, ...args: (string | number)[]): Promise<string[]>;
  pcsIncr(key: string, amount: number, ttlMs: number): Promise<string>;
  pcsReserve(numKeys: number, ...args: (string | number)[]): Promise<(number | string)[]>;
};

/**
 * Counters in Redis, shared by every gateway process that points at it. Each decision is one
 * EVALSHA of an atomic Lua script. Commands are not queued while disconnected: they fail at once
 * with CounterStoreUnavailableError and the policy applies its `onStoreError`; ioredis keeps
 * reconnecting in the background. The outage is logged once per interval and counted.
 */
export class RedisCounterStore implements CounterStore {
  private readonly redis: Scripted;
  private readonly prefix: string;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly logIntervalMs: number;
  private readonly errors;
  private readonly degradedGauge;
  private degradedSince = 0;
  private lastLog = Number.NEGATIVE_INFINITY;
  private suppressed = 0;

  constructor(opts: RedisCounterOptions) {
    this.prefix = opts.prefix ?? 'pcs:';
    this.clock = opts.clock;
    this.logger = opts.logger;
    this.logIntervalMs = opts.logIntervalMs ?? 10_000;
    this.errors = opts.metrics?.counter(
      'portcullis_counter_store_errors_total',
      'Counter store operations that failed (store unreachable, timeout, error), by operation.',
      ['op'],
    );
    this.degradedGauge = opts.metrics?.gauge(
      'portcullis_counter_store_degraded',
      'Whether the counter store is unreachable (1) or serving (0).',
      [],
    );
    this.redis = new Redis(opts.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: opts.commandTimeoutMs ?? 250,
      connectTimeout: 2000,
      retryStrategy: (times) => Math.min(50 * times, 1000),
      lazyConnect: false,
    }) as Scripted;
    this.redis.defineCommand('pcsLimit', { lua: LIMIT_LUA });
    this.redis.defineCommand('pcsIncr', { lua: INCR_LUA, numberOfKeys: 1 });
    this.redis.defineCommand('pcsReserve', { lua: RESERVE_LUA });
    // Connection errors are reported through failed commands; an unhandled 'error' would crash.
    this.redis.on('error', () => undefined);
    this.redis.on('ready', () => this.recovered());
  }

  /** Resolves when connected, or after `timeoutMs` (the gateway starts degraded rather than not at all). */
  async ready(timeoutMs = 2000): Promise<boolean> {
    if (this.redis.status === 'ready') return true;
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(t);
        this.redis.off('ready', onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      const t = setTimeout(() => done(false), timeoutMs);
      this.redis.once('ready', onReady);
    });
  }

  async limit(checks: readonly LimitCheck[], now: number): Promise<LimitDecision> {
    const keys: string[] = [];
    const argv: (string | number)[] = [now, checks.length];
    for (const c of checks) {
      for (const k of stateKeys(c, now)) keys.push(this.prefix + k);
      if (c.kind === 'gcra') argv.push('g', c.cost, c.emissionMs, c.burst, 0);
      else if (c.kind === 'sliding') argv.push('s', c.cost, c.limit, c.windowMs, 0);
      else argv.push('f', c.cost, c.limit, c.windowEnd, 0);
    }
    const out = await this.run('limit', () => this.redis.pcsLimit(keys.length, ...keys, ...argv));
    const results: GcraResult[] = [];
    for (let i = 0; i < checks.length; i++) {
      const o = 1 + i * 4;
      results.push({
        allowed: out[o] === '1',
        remaining: Number(out[o + 1]),
        resetMs: Number(out[o + 2]),
        retryAfterMs: Number(out[o + 3]),
      });
    }
    return { allowed: out[0] === '1', results };
  }

  async gcra(key: string, cost: number, emissionMs: number, burst: number, now: number): Promise<GcraResult> {
    const d = await this.limit([{ kind: 'gcra', key, cost, emissionMs, burst }], now);
    return d.results[0];
  }

  async incrBy(key: string, amount: number, ttlMs: number): Promise<number> {
    return Number(
      await this.run('incrBy', () => this.redis.pcsIncr(this.prefix + key, amount, Math.ceil(ttlMs))),
    );
  }

  async reserve(items: readonly Reservation[]): Promise<ReserveResult> {
    if (items.length === 0) return { ok: true };
    const keys = items.map((it) => this.prefix + it.key);
    const argv = items.flatMap((it) => [it.amount, it.limit ?? -1, Math.ceil(it.ttlMs)]);
    const out = await this.run('reserve', () => this.redis.pcsReserve(keys.length, ...keys, ...argv));
    if (Number(out[0]) === 1) return { ok: true };
    return { ok: false, index: Number(out[1]) - 1, current: Number(out[2]) };
  }

  async get(key: string): Promise<number> {
    return Number((await this.run('get', () => this.redis.get(this.prefix + key))) ?? 0);
  }

  /** The expiry is ours (`untilMs` against the gateway clock); Redis' PX only collects garbage. */
  async setUntil(key: string, value: string, untilMs: number): Promise<void> {
    const ttl = Math.max(1, Math.ceil(untilMs - this.clock.now()));
    await this.run('setUntil', () =>
      this.redis.set(this.prefix + key, JSON.stringify({ value, untilMs }), 'PX', ttl),
    );
  }

  async getUntil(key: string): Promise<{ value: string; untilMs: number } | undefined> {
    const raw = await this.run('getUntil', () => this.redis.get(this.prefix + key));
    const e = parseUntil(raw);
    return e && e.untilMs > this.clock.now() ? e : undefined;
  }

  async delete(key: string): Promise<void> {
    await this.run('delete', () => this.redis.del(this.prefix + key));
  }

  async scanUntil(prefix: string): Promise<{ key: string; value: string; untilMs: number }[]> {
    const now = this.clock.now();
    const out: { key: string; value: string; untilMs: number }[] = [];
    const match = `${escapeGlob(this.prefix + prefix)}*`;
    let cursor = '0';
    do {
      const [next, keys] = await this.run('scanUntil', () =>
        this.redis.scan(cursor, 'MATCH', match, 'COUNT', 500),
      );
      cursor = next;
      if (keys.length === 0) continue;
      const values = await this.run('scanUntil', () => this.redis.mget(...keys));
      keys.forEach((k, i) => {
        const e = parseUntil(values[i]);
        if (e && e.untilMs > now) out.push({ key: k.slice(this.prefix.length), ...e });
      });
    } while (cursor !== '0');
    return out;
  }

  async close(): Promise<void> {
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }

  private async run<T>(op: string, fn: () => Promise<T>): Promise<T> {
    try {
      const v = await fn();
      if (this.degradedSince) this.recovered();
      return v;
    } catch (err) {
      this.failed(op, err as Error);
      throw new CounterStoreUnavailableError(`counter store (redis) ${op}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  private failed(op: string, err: Error): void {
    this.errors?.labels(op).inc();
    this.degradedGauge?.set(1);
    const now = this.clock.monotonic();
    if (!this.degradedSince) this.degradedSince = now || 1;
    if (now - this.lastLog < this.logIntervalMs) {
      this.suppressed++;
      return;
    }
    this.logger.warn(
      { op, err: err.message, suppressed: this.suppressed, status: this.redis.status },
      'counter store unavailable: policies fail open or closed as configured',
    );
    this.lastLog = now;
    this.suppressed = 0;
  }

  private recovered(): void {
    if (!this.degradedSince) return;
    this.degradedGauge?.set(0);
    this.logger.warn(
      { downMs: Math.round(this.clock.monotonic() - this.degradedSince), suppressed: this.suppressed },
      'counter store recovered',
    );
    this.degradedSince = 0;
    this.suppressed = 0;
    this.lastLog = Number.NEGATIVE_INFINITY;
  }
}

function parseUntil(raw: string | null): { value: string; untilMs: number } | undefined {
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw) as { value?: unknown; untilMs?: unknown };
    if (typeof v.value === 'string' && typeof v.untilMs === 'number')
      return { value: v.value, untilMs: v.untilMs };
  } catch {
    // not a key set with setUntil
  }
  return undefined;
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}
