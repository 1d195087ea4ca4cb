import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The gateway's Prometheus metrics, on a registry of its own (several gateways may live in one
 * process in tests). Label children are cached so the hot path does not hash labels.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'portcullis_requests_total',
    help: 'Requests answered, by route and status.',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'portcullis_request_duration_seconds',
    help: 'Time from request received to response finished, by route.',
    labelNames: ['route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly upstreamDuration = new Histogram({
    name: 'portcullis_upstream_duration_seconds',
    help: 'Time from upstream call to upstream response headers, by service.',
    labelNames: ['service'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly upstreamErrors = new Counter({
    name: 'portcullis_upstream_errors_total',
    help: 'Failed upstream attempts, by service and kind (connect, timeout, reset, status).',
    labelNames: ['service', 'kind'] as const,
    registers: [this.registry],
  });
  readonly decisions = new Counter({
    name: 'portcullis_policy_decisions_total',
    help: 'Policy decisions, by policy instance, mode and outcome (allow, deny, would_deny, respond, error).',
    labelNames: ['policy', 'mode', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly clientErrors = new Counter({
    name: 'portcullis_client_errors_total',
    help: 'Requests that ended on the client side: malformed HTTP, aborted, timed out.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly activeRevision = new Gauge({
    name: 'portcullis_active_revision',
    help: 'The revision being served (value 1 on the active one).',
    labelNames: ['id', 'hash'] as const,
    registers: [this.registry],
  });
  readonly applies = new Counter({
    name: 'portcullis_config_applies_total',
    help: 'Config applies, by result (applied, unchanged, refused).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  private readonly requestChildren = new Map<string, Counter.Internal>();
  private readonly durationChildren = new Map<string, Histogram.Internal<'route'>>();
  private readonly decisionChildren = new Map<string, Counter.Internal>();

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics)
      collectDefaultMetrics({ register: this.registry, prefix: 'portcullis_process_' });
  }

  countRequest(route: string, status: number, seconds: number): void {
    const key = `${route}\0${status}`;
    let c = this.requestChildren.get(key);
    if (!c) {
      c = this.requests.labels(route, String(status));
      this.requestChildren.set(key, c);
    }
    c.inc();
    let h = this.durationChildren.get(route);
    if (!h) {
      h = this.duration.labels(route);
      this.durationChildren.set(route, h);
    }
    h.observe(seconds);
  }

  countDecision(policy: string, mode: string, outcome: string): void {
    const key = `${policy}\0${mode}\0${outcome}`;
    let c = this.decisionChildren.get(key);
    if (!c) {
      c = this.decisions.labels(policy, mode, outcome);
      this.decisionChildren.set(key, c);
    }
    c.inc();
  }

  /** Gets or creates a counter, so a policy compiled in every revision registers it once. */
  counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    const existing = this.registry.getSingleMetric(name);
    if (existing) return existing as Counter<L>;
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  histogram<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets?: number[],
  ): Histogram<L> {
    const existing = this.registry.getSingleMetric(name);
    if (existing) return existing as Histogram<L>;
    return new Histogram({ name, help, labelNames, buckets, registers: [this.registry] });
  }

  gauge<L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L> {
    const existing = this.registry.getSingleMetric(name);
    if (existing) return existing as Gauge<L>;
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  setActiveRevision(id: number, hash: string): void {
    this.activeRevision.reset();
    this.activeRevision.labels(String(id), hash).set(1);
  }
}
