import { Pool } from 'undici';
import type { ServiceConfig } from '../config/schema.js';
import type { Balanced } from './balancer.js';

export interface TargetHealth {
  url: string;
  healthy: boolean;
  ejectedUntil?: string;
  activeHealthy: boolean;
  consecutiveFailures: number;
  inflight: number;
}

/** One upstream target: its connection pool and its health. */
export class Target implements Balanced {
  readonly origin: string;
  /** Path prefix of the target URL, without trailing slash ('' when none). */
  readonly basePath: string;
  readonly pool: Pool;
  readonly weight: number;
  inflight = 0;
  currentWeight = 0;
  consecutiveFailures = 0;
  ejectedUntil = 0;
  activeHealthy = true;
  activeOk = 0;
  activeFail = 0;
  /** The Host header sent upstream when the route does not preserve the client's. */
  readonly hostHeader: string;

  /** The URL as shown in /status, logs and error details: credentials masked. */
  readonly url: string;

  constructor(url: string, weight: number, service: ServiceConfig) {
    const u = new URL(url);
    this.url = url;
    if (u.username || u.password) {
      const shown = new URL(url);
      shown.username = '***';
      shown.password = '';
      this.url = shown.href;
    }
    this.origin = u.origin;
    this.hostHeader = u.host;
    this.basePath = u.pathname === '/' ? '' : u.pathname.replace(/\/$/, '');
    this.weight = weight;
    const t = service.timeouts;
    this.pool = new Pool(this.origin, {
      connections: service.connections,
      keepAliveTimeout: service.keepAliveMs,
      headersTimeout: t?.readMs ?? 60000,
      bodyTimeout: t?.readMs ?? 60000,
      connect: { timeout: t?.connectMs ?? 5000 },
      // Request smuggling defence: never reuse a connection after an upstream protocol error.
      strictContentLength: true,
    });
  }

  available(now: number): boolean {
    return this.activeHealthy && this.ejectedUntil <= now;
  }

  health(now: number): TargetHealth {
    return {
      url: this.url,
      healthy: this.available(now),
      ejectedUntil: this.ejectedUntil > now ? new Date(this.ejectedUntil).toISOString() : undefined,
      activeHealthy: this.activeHealthy,
      consecutiveFailures: this.consecutiveFailures,
      inflight: this.inflight,
    };
  }
}
