import type { CounterStore } from '../../counters/counter-store.js';
import type { PolicyContext } from '../../core/context.js';
import type { PolicyDeps } from '../../core/policy.js';
import { Lru, type Track } from './baseline.js';
import { type AnomalyDetectionConfig, SIGNALS, type Signal } from './schema.js';

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

/** One instance's settings, read once in `create` and passed to the per-request functions. */
export interface Anomaly {
  windowMs: number;
  learning: number;
  /** Deviations allowed (`sensitivity`), and the factor over the mean, for each signal's limit. */
  k: number;
  factor: number;
  signals: ReadonlySet<Signal>;
  floors: { rate: number; errorRatio: number; endpoints: number; payloadBytes: number };
  byIp: boolean;
  instance: string;
  tracks: Lru<Track>;
  alpha: number;
  penalty: AnomalyDetectionConfig['penalty'];
  emissionMs: number;
  durationMs: number;
  flagged: ReturnType<PolicyDeps['metrics']['counter']>;
  tracked: ReturnType<PolicyDeps['metrics']['gauge']>;
  deps: PolicyDeps;
}

export function settings(config: AnomalyDetectionConfig, deps: PolicyDeps): Anomaly {
  const instance = `${deps.instance?.id ?? 'anomaly-detection'}@${deps.instance?.scope ?? ''}`;
  const penalty = config.penalty;
  return {
    windowMs: config.windowMs ?? 60000,
    learning: config.learningWindows ?? 5,
    k: config.sensitivity ?? 3,
    factor: config.factor ?? 3,
    signals: new Set<Signal>(config.signals ?? SIGNALS),
    floors: {
      rate: config.floors?.rate ?? 60,
      errorRatio: config.floors?.errorRatio ?? 0.5,
      endpoints: config.floors?.endpoints ?? 30,
      payloadBytes: config.floors?.payloadBytes ?? 65536,
    },
    byIp: (config.key ?? 'consumer') === 'ip',
    instance,
    tracks: tracksOf(deps.counters, instance, config.maxTracked ?? 10000),
    // A smoothing factor that weighs about the last 20 windows.
    alpha: 2 / (20 + 1),
    penalty,
    emissionMs: penalty ? ((penalty.perSeconds ?? 60) * 1000) / penalty.requests : 0,
    durationMs: penalty?.durationMs ?? 600000,
    flagged: deps.metrics.counter(
      'portcullis_anomalies_total',
      'Consumers flagged by anomaly-detection, by signal',
      ['signal'],
    ),
    tracked: deps.metrics.gauge('portcullis_anomaly_tracked_consumers', 'Baselines held in memory', []),
    deps,
  };
}

/** Whose baseline a request counts in: the consumer's, or the client address's. */
export function keyOf(a: Anomaly, ctx: PolicyContext): string {
  return !a.byIp && ctx.consumer && !ctx.identity?.anonymous
    ? `consumer:${ctx.consumer.name}`
    : `ip:${ctx.request.clientIp}`;
}
