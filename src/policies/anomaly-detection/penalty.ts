import { type CounterStore, CounterStoreUnavailableError } from '../../counters/counter-store.js';
import type { PolicyContext } from '../../core/context.js';
import type { Outcome } from '../../core/policy.js';
import { type Anomaly, keyOf } from './settings.js';

/** A flagged key's stricter limit (GCRA in the counter store) until its flag expires. */
export async function penalise(a: Anomaly, ctx: PolicyContext): Promise<Outcome> {
  const { penalty } = a;
  if (!penalty) return undefined;
  const key = keyOf(a, ctx);
  const t = a.tracks.get(key);
  const now = a.deps.clock.now();
  if (!t || t.flaggedUntil <= now) return undefined;
  let g: Awaited<ReturnType<CounterStore['gcra']>>;
  try {
    g = await a.deps.counters.gcra(`anomaly:${a.instance}:${key}`, 1, a.emissionMs, penalty.requests, now);
  } catch (err) {
    if (!(err instanceof CounterStoreUnavailableError)) throw err;
    return ctx.allow('anomaly:store-unavailable');
  }
  const rule = `anomaly:${t.flaggedFor ?? 'flagged'}`;
  if (g.allowed) return ctx.allow(rule);
  return ctx.reject('PCS_ERR_RATE_LIMITED', {
    rule,
    detail: `${key} flagged (${t.flaggedFor}) until ${new Date(t.flaggedUntil).toISOString()}`,
    headers: { 'retry-after': String(Math.max(1, Math.ceil(g.retryAfterMs / 1000))) },
  });
}
