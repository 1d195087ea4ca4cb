import { request } from 'undici';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { ServiceConfig } from '../config/schema.js';
import { Balancer } from './balancer.js';
import { ConnectionGate } from './gate.js';
import { Target, type TargetHealth } from './target.js';

/**
 * A service's targets, balancer and health state. Kept across revisions while the service's
 * config is unchanged (same hash), so pools and health survive a policy change.
 */
export class UpstreamService {
  readonly targets: Target[];
  /** Caps the calls in flight to the service (`maxConnections`), queueing a bounded few. */
  readonly gate: ConnectionGate;
  private readonly balancer: Balancer<Target>;
  private activeTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    readonly def: ServiceConfig,
    readonly hash: string,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.targets = def.targets.map((t) => new Target(t.url, t.weight, def));
    this.balancer = new Balancer(this.targets, def.loadBalancing, clock);
    this.gate = new ConnectionGate(
      def.maxConnections ?? (def.connections ?? 128) * this.targets.length,
      def.queueSize ?? 1000,
      def.queueTimeoutMs ?? 5000,
    );
  }

  pick(exclude?: ReadonlySet<Target>): Target | undefined {
    return this.balancer.pick(exclude);
  }

  /** Passive health: count consecutive failures and eject for a cool-down. */
  reportFailure(t: Target, cause: string): void {
    t.consecutiveFailures++;
    const passive = this.def.healthChecks?.passive;
    if (passive && t.consecutiveFailures >= passive.failures && t.ejectedUntil <= this.clock.now()) {
      t.ejectedUntil = this.clock.now() + passive.cooldownMs;
      this.logger.warn(
        { service: this.def.name, target: t.url, cause, cooldownMs: passive.cooldownMs },
        'target ejected',
      );
    }
  }

  reportSuccess(t: Target): void {
    t.consecutiveFailures = 0;
  }

  health(): TargetHealth[] {
    const now = this.clock.now();
    return this.targets.map((t) => t.health(now));
  }

  /** Starts active probes, if configured. */
  start(): void {
    const active = this.def.healthChecks?.active;
    if (!active || this.activeTimer) return;
    const probeAll = () => {
      for (const t of this.targets) void this.probe(t, active);
    };
    this.activeTimer = setInterval(probeAll, active.intervalMs);
    this.activeTimer.unref();
    probeAll();
  }

  private async probe(
    t: Target,
    a: NonNullable<NonNullable<ServiceConfig['healthChecks']>['active']>,
  ): Promise<void> {
    let ok = false;
    try {
      const r = await request(`${t.origin}${t.basePath}${a.path}`, {
        method: 'GET',
        dispatcher: t.pool,
        headersTimeout: a.timeoutMs,
        bodyTimeout: a.timeoutMs,
        headers: { host: t.hostHeader, 'user-agent': 'portcullis-health-check' },
      });
      await r.body.dump();
      ok = a.healthyStatuses.includes(r.statusCode);
    } catch {
      ok = false;
    }
    if (this.closed) return;
    if (ok) {
      t.activeFail = 0;
      t.activeOk++;
      if (!t.activeHealthy && t.activeOk >= a.healthyThreshold) {
        t.activeHealthy = true;
        t.consecutiveFailures = 0;
        t.ejectedUntil = 0;
        this.logger.info({ service: this.def.name, target: t.url }, 'target healthy again');
      }
    } else {
      t.activeOk = 0;
      t.activeFail++;
      if (t.activeHealthy && t.activeFail >= a.unhealthyThreshold) {
        t.activeHealthy = false;
        this.logger.warn({ service: this.def.name, target: t.url }, 'target unhealthy (active check)');
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.activeTimer) clearInterval(this.activeTimer);
    await Promise.allSettled(this.targets.map((t) => t.pool.close()));
  }
}
