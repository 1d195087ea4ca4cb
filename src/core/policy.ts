import type { Static, TSchema } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { CounterStore } from '../counters/counter-store.js';
import type { FeedRegistry } from '../net/ip-lists.js';
import type { SecurityEvents } from '../observability/events.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { RequestLogStore } from '../store/request-log-store.js';
import type { Clock } from './clock.js';
import type { Directory } from './directory.js';
import type { PolicyContext } from './context.js';
import type { Phase } from './phases.js';

export type Mode = 'enforce' | 'shadow' | 'off';

/** A denial, as a value. Sent by the pipeline from one place; never thrown. */
export interface Rejection {
  readonly kind: 'reject';
  readonly code: import('./errors.js').ErrorCode;
  readonly status: number;
  /** Names the rule that decided, for the access log (`deny:10.0.0.0/8`). */
  readonly rule?: string;
  /** Extra headers for the client (`Retry-After`, `WWW-Authenticate`). */
  readonly headers?: Record<string, string>;
  /** The cause in detail, for the log only. */
  readonly detail?: string;
  /** Overrides the registry's client message; keep it short and free of internals. */
  readonly message?: string;
}

/** A policy answering on its own without denying (a CORS preflight, a cached answer). */
export interface ShortCircuit {
  readonly kind: 'respond';
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly rule?: string;
}

/** An explicit allow that names the rule, for the access log. */
export interface Allow {
  readonly kind: 'allow';
  readonly rule: string;
}

export type Outcome = Rejection | ShortCircuit | Allow | undefined;

export type PolicyFn = (ctx: PolicyContext) => Outcome | Promise<Outcome>;

/** What `create` returns: one named function per phase the policy runs in. */
export type PolicyHandlers = Partial<Record<Phase, PolicyFn>>;

/** Long-lived services of the gateway that policies use; the same objects across revisions. */
export interface PolicyServices {
  /** The request log and AI usage (replay reads it, the AI terminal writes usage). */
  store: RequestLogStore;
  /** Cached consumer and credential lookups. */
  directory: Directory;
  /** Shared counters (memory or Redis) for limits, quotas, bans and budgets. */
  counters: CounterStore;
  /** Register policy metrics with get-or-create (`metrics.counter(...)`). */
  metrics: GatewayMetrics;
  events: SecurityEvents;
  /** HTTP IP-list feeds shared across revisions (ip-restriction). */
  ipFeeds: FeedRegistry;
}

export interface PolicyDeps extends PolicyServices {
  logger: Logger;
  clock: Clock;
  /** Gateway-wide settings that policies may read (trusted proxies and the like). */
  gateway: { trustedProxies: readonly string[] };
  /** Which instance is being created (`id` or the policy name, and its scope): namespaces counters. */
  instance?: { id: string; scope: string };
  /**
   * Registers cleanup (timers, feed refreshers) run when the revision that created the instance
   * is retired (after in-flight requests drained) or discarded (a refused config, a dry run).
   */
  onDispose?: (fn: () => void) => void;
  /**
   * Declares a request header the instance sets for the upstream from what it verified (a
   * forwarded claim, a classification). The data plane then strips it from every client request
   * on every route of the revision, so no client can forge it where the policy does not run.
   */
  assertsHeader?: (name: string) => void;
}

/**
 * A policy module: a schema and a factory. `create` runs once per revision and does all the
 * parsing and compiling; the functions it returns run per request and parse nothing.
 */
export interface PolicyModule<S extends TSchema = TSchema> {
  name: string;
  description: string;
  schema: S;
  /** Order inside a phase: lower runs first. Ties keep config order. */
  priority: number;
  create(config: Static<S>, deps: PolicyDeps): PolicyHandlers;
}

/** Helper so a module gets its config type inferred from its schema. */
export function definePolicy<S extends TSchema>(m: PolicyModule<S>): PolicyModule<S> {
  return m;
}

export interface Decision {
  policy: string;
  /** Instance id: the policy's `id`, or its name when it has none. */
  id: string;
  scope: string;
  phase: Phase;
  mode: Mode;
  outcome: 'allow' | 'deny' | 'would_deny' | 'respond' | 'error';
  rule?: string;
  code?: string;
}
