import { CounterStoreUnavailableError, type CounterStore } from '../../counters/counter-store.js';
import type { PolicyContext } from '../../core/context.js';
import { definePolicy } from '../../core/policy.js';
import { hash32, Lru, Track } from './baseline.js';
import { AnomalyDetectionSchema, SIGNALS, type Signal } from './schema.js';

/**
 * Baselines per gateway (keyed by its counter store) and policy instance, outside the policy
 * object: a new revision keeps what was learned. Bounded by `maxTracked` per instance.
 */
const TRACKS = new WeakMap<CounterStore, Map<string, Lru<Track>>>();

function tracksOf(counters: CounterStore, instance: string, max: number): Lru<Track> {
  let byInstance = TRACKS.get(counters);
  if (!byInstance) {
    byInstance = new Map();
    TRACKS.set(counters, byInstance);
  }
  let lru = byInstance.get(instance);
  if (!lru) {
    lru = new Lru<Track>(max);
    byInstance.set(instance, lru);
  }
  lru.max = max;
  return lru;
}

/**
 * A rolling baseline per consumer of request rate, error share, distinct endpoints and payload
 * size. Observes every finished request in phase `log`; flags a consumer whose current window
 * deviates (`anomaly.detected` security event) and, with `penalty`, limits it in `rateLimit` for
 * a while. All time comes from the injected clock.
 */
export const anomalyDetection = definePolicy({
  name: 'anomaly-detection',
  description:
    'Learns a rolling baseline per consumer (request rate, error ratio, distinct endpoints, payload size), flags deviations as security events and can apply a stricter limit to a flagged consumer.',
  schema: AnomalyDetectionSchema,
  priority: 55,
  create(config, deps) {
    const windowMs = config.windowMs ?? 60000;
    const learning = config.learningWindows ?? 5;
    const k = config.sensitivity ?? 3;
    const factor = config.factor ?? 3;
    const signals = new Set<Signal>(config.signals ?? SIGNALS);
    const floors = {
      rate: config.floors?.rate ?? 60,
      errorRatio: config.floors?.errorRatio ?? 0.5,
      endpoints: config.floors?.endpoints ?? 30,
      payloadBytes: config.floors?.payloadBytes ?? 65536,
    };
    const byIp = (config.key ?? 'consumer') === 'ip';
    const instance = `${deps.instance?.id ?? 'anomaly-detection'}@${deps.instance?.scope ?? ''}`;
    const tracks = tracksOf(deps.counters, instance, config.maxTracked ?? 10000);
    // A smoothing factor that weighs about the last 20 windows.
    const alpha = 2 / (20 + 1);
    const penalty = config.penalty;
    const emissionMs = penalty ? ((penalty.perSeconds ?? 60) * 1000) / penalty.requests : 0;
    const durationMs = penalty?.durationMs ?? 600000;
    const flagged = deps.metrics.counter(
      'portcullis_anomalies_total',
      'Consumers flagged by anomaly-detection, by signal',
      ['signal'],
    );
    const tracked = deps.metrics.gauge(
      'portcullis_anomaly_tracked_consumers',
      'Baselines held in memory',
      [],
    );
    const keyOf = (ctx: PolicyContext) =>
      !byIp && ctx.consumer && !ctx.identity?.anonymous
        ? `consumer:${ctx.consumer.name}`
        : `ip:${ctx.request.clientIp}`;

    function flag(
      ctx: PolicyContext,
      key: string,
      t: Track,
      signal: Signal,
      value: number,
      limit: number,
      mean: number,
    ) {
      if (t.reported.has(signal)) return;
      t.reported.add(signal);
      const now = deps.clock.now();
      if (penalty) {
        t.flaggedUntil = Math.max(t.flaggedUntil, now + durationMs);
        t.flaggedFor = signal;
      }
      flagged.labels(signal).inc();
      deps.events.emit({
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
          penaltyUntil: penalty ? new Date(t.flaggedUntil).toISOString() : undefined,
        },
      });
    }

    return {
      rateLimit: async function anomalyPenalty(ctx: PolicyContext) {
        if (!penalty) return undefined;
        const key = keyOf(ctx);
        const t = tracks.get(key);
        const now = deps.clock.now();
        if (!t || t.flaggedUntil <= now) return undefined;
        let g: Awaited<ReturnType<CounterStore['gcra']>>;
        try {
          g = await deps.counters.gcra(`anomaly:${instance}:${key}`, 1, emissionMs, penalty.requests, now);
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
      },
      log: function anomalyObserve(ctx: PolicyContext): undefined {
        const now = deps.clock.now();
        const key = keyOf(ctx);
        let t = tracks.get(key);
        if (!t) {
          t = new Track(now, alpha);
          tracks.set(key, t);
          tracked.set(tracks.size);
        }
        t.roll(now, windowMs);
        const r = ctx.request;
        const bytes = Number(r.headers['content-length'] ?? 0) || ctx.bufferedBody?.length || 0;
        t.count++;
        t.bytes += bytes;
        if ((ctx.finalStatus ?? 0) >= 400) t.errors++;
        t.addEndpoint(hash32(`${r.method} ${r.path}`));
        if (t.windows < learning) return undefined;
        if (signals.has('rate')) {
          const limit = t.rate.limit(k, factor, floors.rate);
          if (t.count > limit) flag(ctx, key, t, 'rate', t.count, limit, t.rate.mean);
        }
        if (signals.has('endpoints')) {
          const limit = t.distinct.limit(k, factor, floors.endpoints);
          if (t.endpoints.size > limit)
            flag(ctx, key, t, 'endpoints', t.endpoints.size, limit, t.distinct.mean);
        }
        if (signals.has('errors') && t.count >= 5) {
          const ratio = t.errors / t.count;
          const limit = Math.min(1, t.errorRatio.limit(k, factor, floors.errorRatio));
          if (ratio > limit || (limit === 1 && ratio === 1 && t.errorRatio.mean < floors.errorRatio))
            flag(ctx, key, t, 'errors', ratio, limit, t.errorRatio.mean);
        }
        if (signals.has('payload') && bytes > 0) {
          const limit = t.payload.limit(k, factor, floors.payloadBytes);
          if (bytes > limit) flag(ctx, key, t, 'payload', bytes, limit, t.payload.mean);
        }
        return undefined;
      },
    };
  },
});
