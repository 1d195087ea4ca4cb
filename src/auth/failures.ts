import type { Counter } from 'prom-client';
import type { PolicyContext } from '../core/context.js';
import type { PolicyDeps } from '../core/policy.js';
import type { AuthFailure } from './authenticator.js';

/** Failures from one IP or against one consumer within this window count as repeated. */
export const FAILURE_WINDOW_MS = 60_000;
/** A security event is raised at this many failures in the window, then at every multiple. */
export const FAILURE_THRESHOLD = 10;

/**
 * Counts authentication failures: a metric by method and reason (provider outages apart), and
 * per client IP and per consumer in the shared counter store, so that repeated failures raise a
 * `auth.repeated_failures` security event on any worker. The ban itself belongs to a later policy.
 */
export class FailureTracker {
  private static readonly byDeps = new WeakMap<object, FailureTracker>();
  private readonly failures: Counter<'policy' | 'method' | 'reason'>;
  private readonly providerErrors: Counter<'method'>;
  private readonly repeated: Counter<'kind'>;
  private readonly successes: Counter<'method'>;

  static for(deps: PolicyDeps): FailureTracker {
    let t = FailureTracker.byDeps.get(deps.counters);
    if (!t) {
      t = new FailureTracker(deps);
      FailureTracker.byDeps.set(deps.counters, t);
    }
    return t;
  }

  private constructor(private readonly deps: PolicyDeps) {
    const m = deps.metrics;
    this.failures = m.counter(
      'portcullis_auth_failures_total',
      'Authentication failures, by policy, method and reason.',
      ['policy', 'method', 'reason'],
    );
    this.providerErrors = m.counter(
      'portcullis_auth_provider_errors_total',
      'Requests that met an unreachable identity provider (JWKS, discovery, introspection), by method.',
      ['method'],
    );
    this.repeated = m.counter(
      'portcullis_auth_repeated_failures_total',
      'Times a client IP or consumer reached the repeated-failure threshold, by kind (ip, consumer).',
      ['kind'],
    );
    this.successes = m.counter('portcullis_auth_successes_total', 'Successful authentications, by method.', [
      'method',
    ]);
  }

  private readonly successChildren = new Map<string, { inc(): void }>();

  success(method: string): void {
    let c = this.successChildren.get(method);
    if (!c) {
      c = this.successes.labels(method);
      this.successChildren.set(method, c);
    }
    c.inc();
  }

  failure(ctx: PolicyContext, policy: string, method: string, f: AuthFailure): void {
    this.failures.labels(policy, method, f.reason).inc();
    if (f.providerDown) this.providerErrors.labels(method).inc();
    if (f.absent || f.providerDown) return;
    void this.countRepeated(ctx, policy, 'ip', ctx.request.clientIp);
    if (f.subject) void this.countRepeated(ctx, policy, 'consumer', f.subject);
  }

  private async countRepeated(ctx: PolicyContext, policy: string, kind: string, subject: string) {
    try {
      const n = await this.deps.counters.incrBy(`authfail:${kind}:${subject}`, 1, FAILURE_WINDOW_MS);
      if (n % FAILURE_THRESHOLD !== 0) return;
      this.repeated.labels(kind).inc();
      this.deps.events.emit({
        type: 'auth.repeated_failures',
        subject,
        policy,
        route: ctx.request.route,
        requestId: ctx.request.id,
        detail: { kind, failures: n, windowMs: FAILURE_WINDOW_MS },
      });
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'auth failure counter unavailable');
    }
  }
}
