import type { PolicyContext } from '../../core/context.js';
import { definePolicy, type Outcome } from '../../core/policy.js';
import {
  CounterStoreUnavailableError,
  type LimitCheck,
  type LimitDecision,
} from '../../counters/counter-store.js';
import { ZonedTime } from '../schedule/zoned-time.js';
import { compileKey, durationMs, namespace } from './key.js';
import { type LimitConfig, RateLimitSchema } from './schema.js';

/** One limit, compiled: what it checks and how it is named in headers. */
interface Compiled {
  slot: string;
  requests: number;
  /** Window in ms for rates; for quotas, derived from the period per request. */
  windowMs: number;
  check(key: string, cost: number, now: number): LimitCheck;
}

function compileLimit(l: LimitConfig, at: string): Compiled {
  if ((l.per === undefined) === (l.period === undefined))
    throw new Error(`${at}: set exactly one of 'per' (a rate) and 'period' (a calendar quota)`);
  if (l.period) {
    if (l.algorithm || l.burst !== undefined)
      throw new Error(`${at}: 'algorithm' and 'burst' apply to rates ('per'), not to quotas ('period')`);
    const tz = l.timeZone ?? 'UTC';
    let zoned: ZonedTime;
    try {
      zoned = new ZonedTime(tz);
    } catch (err) {
      throw new Error(`${at}/timeZone: ${(err as Error).message}`);
    }
    const unit = l.period;
    const slot = l.name ?? `quota:${unit}:${tz}`;
    // The period is computed with Intl once per period, not per request.
    let cached = { start: 0, end: 0 };
    return {
      slot,
      requests: l.requests,
      windowMs: 0,
      check(key, cost, now) {
        if (now < cached.start || now >= cached.end) cached = zoned.period(now, unit);
        return {
          kind: 'fixed',
          key: `${key}:${slot}`,
          cost,
          limit: l.requests,
          windowStart: cached.start,
          windowEnd: cached.end,
        };
      },
    };
  }
  if (l.timeZone) throw new Error(`${at}: 'timeZone' applies to quotas ('period') only`);
  const windowMs = durationMs(l.per!);
  const algorithm = l.algorithm ?? 'gcra';
  const slot = l.name ?? `${algorithm === 'gcra' ? 'gcra' : 'sliding'}:${l.per}`;
  if (algorithm === 'sliding-window') {
    if (l.burst !== undefined) throw new Error(`${at}: 'burst' applies to the gcra algorithm only`);
    return {
      slot,
      requests: l.requests,
      windowMs,
      check: (key, cost) => ({ kind: 'sliding', key: `${key}:${slot}`, cost, limit: l.requests, windowMs }),
    };
  }
  const emissionMs = windowMs / l.requests;
  const burst = l.burst ?? l.requests;
  return {
    slot,
    requests: l.requests,
    windowMs,
    check: (key, cost) => ({ kind: 'gcra', key: `${key}:${slot}`, cost, emissionMs, burst }),
  };
}

const seconds = (ms: number) => Math.max(0, Math.ceil(ms / 1000));

/**
 * Rate limits and quotas: GCRA (token bucket), sliding window and calendar quotas, several per
 * policy, decided in one atomic store call. Answers 429 with Retry-After; every answer carries
 * the IETF RateLimit-Policy and RateLimit headers.
 */
export const rateLimit = definePolicy({
  name: 'rate-limit',
  description:
    'Limit requests per key (IP, consumer, credential, route, header, claim) with GCRA, sliding windows and calendar quotas.',
  schema: RateLimitSchema,
  priority: 100,
  create(config, deps) {
    const limits = config.limits.map((l, i) => compileLimit(l, `limits/${i}`));
    const slots = new Map<string, number>();
    limits.forEach((l, i) => {
      const first = slots.get(l.slot);
      if (first !== undefined)
        throw new Error(
          `limits/${i}: same counter as limits/${first} ('${l.slot}'); give one a distinct 'name'`,
        );
      slots.set(l.slot, i);
    });
    const keyOf = compileKey(config.key ?? ['ip'], config.onMissingKey);
    const ns = namespace(deps.instance, 'rate-limit');
    const cost = config.cost ?? 1;
    const failClosed = config.onStoreError === 'deny';
    const headers = config.headers !== false;
    const status = config.status;
    const counters = deps.counters;
    const label = deps.instance?.id ?? 'rate-limit';
    const limited = deps.metrics.counter(
      'portcullis_rate_limited_total',
      'Requests over a rate limit or quota (enforced or shadowed), by policy and limit.',
      ['policy', 'limit'],
    );
    const storeFailures = deps.metrics.counter(
      'portcullis_rate_limit_store_failures_total',
      'Rate-limit decisions the counter store could not make, by policy and what was done (allow: fail open, deny: fail closed).',
      ['policy', 'action'],
    );
    const staticPolicy = limits.every((l) => l.windowMs > 0)
      ? limits.map((l) => `"${l.slot}";q=${l.requests};w=${seconds(l.windowMs)}`).join(', ')
      : undefined;

    function policyHeader(checks: LimitCheck[]): string {
      if (staticPolicy) return staticPolicy;
      return limits
        .map((l, i) => {
          const c = checks[i];
          const w = c.kind === 'fixed' ? c.windowEnd - c.windowStart : l.windowMs;
          return `"${l.slot}";q=${l.requests};w=${seconds(w)}`;
        })
        .join(', ');
    }

    function stateHeader(d: LimitDecision): string {
      return limits
        .map((l, i) => `"${l.slot}";r=${d.results[i].remaining};t=${seconds(d.results[i].resetMs)}`)
        .join(', ');
    }

    return {
      rateLimit: async function rateLimit(ctx: PolicyContext): Promise<Outcome> {
        const key = keyOf(ctx);
        if (key === undefined) return ctx.allow('key-missing');
        const now = ctx.now();
        const base = `rl:{${ns}|${key}}`;
        const checks = limits.map((l) => l.check(base, cost, now));
        let d: LimitDecision;
        try {
          d = await counters.limit(checks, now);
        } catch (err) {
          if (!(err instanceof CounterStoreUnavailableError)) throw err;
          storeFailures.labels(label, failClosed ? 'deny' : 'allow').inc();
          if (!failClosed) return ctx.allow('store-unavailable:open');
          return ctx.reject('PCS_ERR_COUNTER_STORE_UNAVAILABLE', {
            rule: 'store-unavailable:closed',
            detail: err.message,
          });
        }
        if (headers) {
          ctx.setResponseHeader('ratelimit-policy', policyHeader(checks));
          ctx.setResponseHeader('ratelimit', stateHeader(d));
        }
        if (d.allowed) return undefined;
        let retry = 0;
        let denied = '';
        d.results.forEach((r, i) => {
          if (r.allowed) return;
          retry = Math.max(retry, r.retryAfterMs);
          denied = denied ? `${denied},${limits[i].slot}` : limits[i].slot;
          limited.labels(label, limits[i].slot).inc();
        });
        // RateLimit-Policy and RateLimit are already on ctx.responseHeaders, which the error carries.
        return ctx.reject('PCS_ERR_RATE_LIMITED', {
          rule: denied,
          detail: `${key} over ${denied}`,
          headers: { 'retry-after': String(Math.max(1, seconds(retry))) },
          status,
        });
      },
    };
  },
});
