import type { Logger } from 'pino';
import type { CounterStore } from '../counters/counter-store.js';
import { MemoryCounterStore } from '../counters/memory.js';
import { FeedRegistry } from '../net/ip-lists.js';
import { SecurityEvents } from '../observability/events.js';
import { GatewayMetrics } from '../observability/metrics.js';
import { SqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../core/clock.js';
import { Directory } from '../core/directory.js';
import type { PolicyServices } from '../core/policy.js';

/** The services policies get, built around a store. */
export function policyServices(
  store: Store,
  clock: Clock,
  logger: Logger,
  metrics: GatewayMetrics,
  counters?: CounterStore,
): PolicyServices & { store: Store } {
  return {
    store,
    directory: new Directory(store, clock),
    counters: counters ?? new MemoryCounterStore(clock),
    metrics,
    events: new SecurityEvents(logger, metrics),
    ipFeeds: new FeedRegistry(logger, metrics),
  };
}

/** Services for compiling without a running gateway (`portcullis validate`): nothing persists. */
export function offlineServices(clock: Clock, logger: Logger): PolicyServices & { store: Store } {
  return policyServices(new SqliteStore(':memory:'), clock, logger, new GatewayMetrics());
}
