import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { AuditTrail } from './admin/audit-trail.js';
import { AdminToken } from './admin/auth.js';
import { ADMIN_MODULES } from './admin/routes/index.js';
import { createAdminServer } from './admin/server.js';
import { AdminUsers } from './admin/users.js';
import { Approvals } from './approvals/approvals.js';
import { readConfigFile } from './config/load.js';
import type { SecretEnv } from './config/secrets.js';
import { watchConfigFile } from './config/watch.js';
import type { SliceOptions } from './core/slices.js';
import { type Clock, systemClock } from './core/clock.js';
import type { PolicyModule, PolicyServices } from './core/policy.js';
import { policyServices } from './core/services.js';
import type { CounterStore } from './counters/counter-store.js';
import { RedisCounterStore } from './counters/redis.js';
import { Revisions } from './core/revisions.js';
import { type AccessLog, createAccessLog, createLogger, type LogSink } from './observability/logger.js';
import { GatewayMetrics } from './observability/metrics.js';
import { policyRegistry } from './policies/index.js';
import {
  applyClientTimeouts,
  createDataPlane,
  createTlsDataPlane,
  DEFAULT_LIMITS,
  type ServerLimits,
} from './proxy/server.js';
import { RequestRecorder } from './reqlog/recorder.js';
import { attachReplayEnv } from './replay/env.js';
import { type AuditKeyRing, auditKey } from './store/audit-keys.js';
import { SqliteStore } from './store/sqlite.js';
import type { Store } from './store/store.js';
import { type TlsListenerOptions, tlsServerOptions } from './tls/listener.js';

export interface GatewayOptions {
  /** A config object to apply at start (takes precedence over configFile). */
  config?: unknown;
  /** A YAML or JSON file applied at start, and re-applied when it changes if `watch`. */
  configFile?: string;
  watch?: boolean;
  host?: string;
  port?: number;
  adminHost?: string;
  adminPort?: number;
  /** Admin token; when absent one is generated and `generatedAdminToken` holds it. */
  adminToken?: string;
  /** Directory for the SQLite store (default ./data); `store` overrides. */
  dataDir?: string;
  store?: Store;
  clock?: Clock;
  logSink?: LogSink;
  accessLogSink?: LogSink;
  logLevel?: string;
  policies?: readonly PolicyModule[];
  /** Counter store for limits and budgets (default: in memory, or Redis with `redisUrl`). */
  counters?: CounterStore;
  /** Shared counters in Redis (`redis://host:port/db`) when `counters` is not given. */
  redisUrl?: string;
  /** Key prefix in Redis (default `pcs:`). */
  redisPrefix?: string;
  /** A Redis command not answered in this time fails (default 250 ms; the policy's onStoreError decides). */
  redisCommandTimeoutMs?: number;
  secretEnv?: SecretEnv;
  limits?: Partial<ServerLimits>;
  /** An HTTPS data plane listener beside the plain one (client certificates for mtls-auth). */
  tls?: TlsListenerOptions;
  drainMs?: number;
  /** Time slices of apply compiles (src/core/slices.ts); tests count the event-loop turns given. */
  compileSlices?: SliceOptions;
  random?: () => number;
  author?: string;
  /**
   * Secret that HMACs new audit events (at least 32 bytes; `--audit-key-file`). It stays in
   * memory: only its id is stored. Without it the chain is plain SHA-256 and a warning says so.
   */
  auditKey?: Buffer | string;
  /** Earlier keys, to verify events they signed after a rotation (never used to sign). */
  auditPreviousKeys?: readonly (Buffer | string)[];
  /** External copies of every audit event: `file:/path` (O_APPEND) or `http(s)://` collectors. */
  auditSinks?: readonly string[];
  /** HTTP audit sinks: first retry delay in ms (default 250, doubled up to 30 s). */
  auditSinkRetryMs?: number;
}

/** One gateway: data plane, admin API, store and revision machinery. */
export class Gateway {
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly store: Store;
  readonly revisions: Revisions;
  readonly services: PolicyServices;
  readonly clock: Clock;
  /** The request log writer (records only when `gateway.requestLog.enabled`). */
  readonly requestLog: RequestRecorder;
  readonly generatedAdminToken: string | undefined;
  private readonly token: AdminToken;
  readonly admins: AdminUsers;
  /** The audit keys held in memory (first signs); empty when the chain is unkeyed. */
  readonly auditKeys: AuditKeyRing;
  private readonly auditTrail: AuditTrail;
  /** Proposed revisions waiting for a second admin (src/approvals). */
  readonly approvals: Approvals;
  private data: Server | undefined;
  private accessLog: AccessLog | undefined;
  private dataTls: Server | undefined;
  /** The HTTPS listener's port, once started with `tls`. */
  httpsPort: number | undefined;
  private admin: Server | undefined;
  private watcher: { close(): void; settled(): Promise<void> } | undefined;

  constructor(private readonly opts: GatewayOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.logger = createLogger({ sink: opts.logSink, level: opts.logLevel });
    this.metrics = new GatewayMetrics({ defaultMetrics: !opts.logSink });
    this.store =
      opts.store ?? new SqliteStore(join(opts.dataDir ?? 'data', 'portcullis.db'), () => this.clock.now());
    this.auditKeys = [
      ...(opts.auditKey === undefined ? [] : [opts.auditKey]),
      ...(opts.auditPreviousKeys ?? []),
    ].map(auditKey);
    this.store.setAuditKeys(this.auditKeys);
    this.auditTrail = new AuditTrail({
      store: this.store,
      keys: this.auditKeys,
      logger: this.logger,
      metrics: this.metrics,
      sinks: opts.auditSinks,
      retryMs: opts.auditSinkRetryMs,
    });
    const counters =
      opts.counters ??
      (opts.redisUrl
        ? new RedisCounterStore({
            url: opts.redisUrl,
            prefix: opts.redisPrefix,
            commandTimeoutMs: opts.redisCommandTimeoutMs,
            clock: this.clock,
            logger: this.logger,
            metrics: this.metrics,
          })
        : undefined);
    this.services = policyServices(this.store, this.clock, this.logger, this.metrics, counters);
    const registry = policyRegistry(opts.policies);
    this.revisions = new Revisions({
      store: this.store,
      services: this.services,
      registry,
      clock: this.clock,
      logger: this.logger,
      metrics: this.metrics,
      secretEnv: opts.secretEnv,
      drainMs: opts.drainMs,
      slices: opts.compileSlices,
    });
    this.requestLog = new RequestRecorder({
      store: this.store,
      metrics: this.metrics,
      clock: this.clock,
      logger: this.logger,
      settings: () => this.revisions.current.requestLog,
      random: opts.random,
    });
    attachReplayEnv(this.revisions, { registry, secretEnv: opts.secretEnv, recorder: this.requestLog });
    if (!opts.adminToken) this.generatedAdminToken = randomBytes(24).toString('base64url');
    this.token = new AdminToken(opts.adminToken ?? this.generatedAdminToken!);
    this.admins = new AdminUsers(this.store, this.token, this.clock);
    this.approvals = new Approvals({
      store: this.store,
      revisions: this.revisions,
      clock: this.clock,
      logger: this.logger,
    });
  }

  async start(): Promise<{ port: number; adminPort: number }> {
    const o = this.opts;
    const author = o.author ?? 'startup';
    const config = o.config ?? (o.configFile ? readConfigFile(o.configFile) : undefined);
    this.auditTrail.open();
    await this.revisions.init(
      config === undefined
        ? undefined
        : { config, author, message: o.configFile ? `start: ${o.configFile}` : 'start' },
    );
    if (this.services.counters.ready && !(await this.services.counters.ready()))
      this.logger.warn('counter store not reachable at start: serving degraded until it is');
    this.accessLog = createAccessLog({ sink: o.accessLogSink });
    const limits = { ...DEFAULT_LIMITS, ...o.limits };
    this.data = createDataPlane(
      {
        current: () => this.revisions.current,
        canary: () => this.revisions.canary,
        clock: this.clock,
        logger: this.logger,
        accessLog: this.accessLog,
        metrics: this.metrics,
        protocol: 'http',
        random: o.random,
        requestLog: this.requestLog,
      },
      limits,
    );
    if (o.tls) this.dataTls = createTlsDataPlane(this.data, limits, tlsServerOptions(o.tls));
    this.admin = createAdminServer({
      revisions: this.revisions,
      store: this.store,
      services: this.services,
      modules: ADMIN_MODULES,
      metrics: this.metrics,
      token: this.token,
      admins: this.admins,
      approvals: this.approvals,
      logger: this.logger,
      clock: this.clock,
      startedAt: this.clock.now(),
      auditKeys: this.auditKeys,
    });
    this.requestLog.start();
    const data = this.data;
    const tlsData = this.dataTls;
    this.revisions.onActivate = (rev) => {
      applyClientTimeouts(data, rev.config.gateway?.clientTimeouts, limits);
      if (tlsData) applyClientTimeouts(tlsData, rev.config.gateway?.clientTimeouts, limits);
    };
    this.revisions.onActivate(this.revisions.current);
    const port = await listen(this.data, o.port ?? 8080, o.host ?? '0.0.0.0');
    const adminPort = await listen(this.admin, o.adminPort ?? 8081, o.adminHost ?? '127.0.0.1');
    if (o.tls && this.dataTls)
      this.httpsPort = await listen(this.dataTls, o.tls.port, o.tls.host ?? o.host ?? '0.0.0.0');
    if (o.configFile && o.watch) {
      this.watcher = watchConfigFile(
        o.configFile,
        (c) => this.revisions.apply(c, { author: 'file-watcher', message: `file changed: ${o.configFile}` }),
        this.logger,
      );
    }
    this.approvals.startScheduler();
    this.logger.info(
      { port, adminPort, httpsPort: this.httpsPort, revision: this.revisions.active?.id },
      'portcullis started',
    );
    return { port, adminPort };
  }

  /** Waits for the file watcher's pending apply, if any (for tests). */
  watcherSettled(): Promise<void> {
    return this.watcher?.settled() ?? Promise.resolve();
  }

  async stop(): Promise<void> {
    this.watcher?.close();
    this.approvals.stopScheduler();
    await Promise.all([close(this.data), close(this.dataTls), close(this.admin)]);
    await this.requestLog.stop();
    await this.revisions.close();
    await this.services.counters.close();
    this.services.ipFeeds.close();
    await this.auditTrail.close();
    await this.store.close();
    this.accessLog?.flush();
    this.logger.flush?.();
  }
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: Server | undefined): Promise<void> {
  if (!server?.listening) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 2000).unref();
  });
}
