import type { PolicyContext } from '../../core/context.js';
import { hash32, Track } from './baseline.js';
import type { Signal } from './schema.js';
import { type Anomaly, keyOf } from './settings.js';

/** Counts a finished request in its key's window, then checks the window against the baseline. */
export function observe(a: Anomaly, ctx: PolicyContext): undefined {
  const now = a.deps.clock.now();
  const key = keyOf(a, ctx);
  let t = a.tracks.get(key);
  if (!t) {
    t = new Track(now, a.alpha);
    a.tracks.set(key, t);
    a.tracked.set(a.tracks.size);
  }
  t.roll(now, a.windowMs);
  const r = ctx.request;
  const bytes = Number(r.headers['content-length'] ?? 0) || ctx.bufferedBody?.length || 0;
  t.count++;
  t.bytes += bytes;
  if ((ctx.finalStatus ?? 0) >= 400) t.errors++;
  t.addEndpoint(hash32(`${r.method} ${r.path}`));
  if (t.windows < a.learning) return undefined;
  detect(a, ctx, key, t, bytes);
  return undefined;
}

/** Flags each enabled signal whose current window is over its limit. */
function detect(a: Anomaly, ctx: PolicyContext, key: string, t: Track, bytes: number): void {
  const { signals, k, factor, floors } = a;
  if (signals.has('rate')) {
    const limit = t.rate.limit(k, factor, floors.rate);
    if (t.count > limit) flag(a, ctx, key, t, 'rate', t.count, limit, t.rate.mean);
  }
  if (signals.has('endpoints')) {
    const limit = t.distinct.limit(k, factor, floors.endpoints);
    if (t.endpoints.size > limit) flag(a, ctx, key, t, 'endpoints', t.endpoints.size, limit, t.distinct.mean);
  }
  if (signals.has('errors') && t.count >= 5) {
    const ratio = t.errors / t.count;
    const limit = Math.min(1, t.errorRatio.limit(k, factor, floors.errorRatio));
    if (ratio > limit || (limit === 1 && ratio === 1 && t.errorRatio.mean < floors.errorRatio))
      flag(a, ctx, key, t, 'errors', ratio, limit, t.errorRatio.mean);
  }
  if (signals.has('payload') && bytes > 0) {
    const limit = t.payload.limit(k, factor, floors.payloadBytes);
    if (bytes > limit) flag(a, ctx, key, t, 'payload', bytes, limit, t.payload.mean);
  }
}

/** Once per signal and window: the event, the counter and, with a penalty, the flag's time. */
function flag(
  a: Anomaly,
  ctx: PolicyContext,
  key: string,
  t: Track,
  signal: Signal,
  value: number,
  limit: number,
  mean: number,
): void {
  if (t.reported.has(signal)) return;
  t.reported.add(signal);
  const now = a.deps.clock.now();
  if (a.penalty) {
    t.flaggedUntil = Math.max(t.flaggedUntil, now + a.durationMs);
    t.flaggedFor = signal;
  }
  a.flagged.labels(signal).inc();
  a.deps.events.emit({
    type: 'anomaly.detected',
    subject: key,
    policy: 'anomaly-detection',
    route: ctx.request.route,
    requestId: ctx.requestId,
    detail: {
      signal,
      value: Math.round(value * 1000) / 1000,
      limit: Math.round(limit * 1000) / 1000,
      baseline: Math.round(mean * 1000) / 1000,
      windows: t.windows,
      penaltyUntil: a.penalty ? new Date(t.flaggedUntil).toISOString() : undefined,
    },
  });
}
