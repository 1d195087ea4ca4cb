import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
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
import { policyServices } from './runtime/services.js';
import type { CounterStore } from './counters/counter-store.js';
import { RedisCounterStore } from './counters/redis.js';
import { ConfigFileSource, type FileApply, StartRefusedError, type StartMode } from './core/config-file.js';
import { Revisions } from './runtime/revisions.js';
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
import { type DataDirLock, lockDataDir } from './store/data-dir-lock.js';
import { SqliteStore } from './store/sqlite.js';
import type { Store } from './store/store.js';
import { reloadTlsListener, type TlsListenerOptions, tlsServerOptions } from './tls/listener.js';

export interface GatewayOptions {
  /** A config object to apply at start (takes precedence over configFile). */
  config?: unknown;
  /** A YAML or JSON file applied at start, and re-applied when it changes if `watch`. */
  configFile?: string;
  /**
   * Applied like `configFile` when neither it nor `config` is given and the store has no active
   * revision yet (the CLI's demo example): an empty data dir gets a working config, a used one
   * keeps its own.
   */
  exampleFile?: string;
  /** How `configFile` is treated at start (src/core/config-file.ts; default `auto`). */
  startMode?: StartMode;
  watch?: boolean;
  /**
   * Take the data dir for this process (src/store/data-dir-lock.ts) before the store is opened;
   * the CLI does. Off by default so tests can run two gateways on one store in one process.
   */
  lockDataDir?: boolean;
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
  private lock: DataDirLock | undefined;
  private configSource: ConfigFileSource | undefined;
  /** False until the first revision is loaded: the listeners answer 503 PCS_ERR_NOT_READY. */
  private serving = false;

  constructor(private readonly opts: GatewayOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.logger = createLogger({ sink: opts.logSink, level: opts.logLevel });
    if (opts.lockDataDir && !opts.store) this.lock = lockDataDir(opts.dataDir ?? 'data');
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

  /**
   * Binds every listener first (requests meanwhile get 503 PCS_ERR_NOT_READY), then loads the
   * store's active revision and the start config: a start that cannot have its ports writes
   * nothing to the store.
   */
  async start(): Promise<{ port: number; adminPort: number }> {
    const o = this.opts;
    const file = o.config === undefined ? (o.configFile ?? (await this.exampleIfEmpty())) : undefined;
    // A config file that does not parse refuses the start before anything is bound.
    const fileConfig = file && o.startMode !== 'store' ? readConfigFile(file) : undefined;
    this.accessLog = createAccessLog({ sink: o.accessLogSink });
    const limits = { ...DEFAULT_LIMITS, ...o.limits };
    const ready = () => this.serving;
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
        ready,
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
      ready,
    });
    const data = this.data;
    const tlsData = this.dataTls;
    this.revisions.onActivate = (rev) => {
      applyClientTimeouts(data, rev.config.gateway?.clientTimeouts, limits);
      if (tlsData) applyClientTimeouts(tlsData, rev.config.gateway?.clientTimeouts, limits);
    };
    let port: number;
    let adminPort: number;
    try {
      port = await listen(this.data, o.port ?? 8080, o.host ?? '0.0.0.0');
      adminPort = await listen(this.admin, o.adminPort ?? 8081, o.adminHost ?? '127.0.0.1');
      if (o.tls && this.dataTls)
        this.httpsPort = await listen(this.dataTls, o.tls.port, o.tls.host ?? o.host ?? '0.0.0.0');
      // Bound: now the store may be written (audit sinks first, so they see every event).
      this.auditTrail.open();
      await this.boot(file, fileConfig);
    } catch (err) {
      await Promise.all([close(this.data), close(this.dataTls), close(this.admin)]);
      throw err;
    }
    this.serving = true;
    if (this.services.counters.ready && !(await this.services.counters.ready()))
      this.logger.warn('counter store not reachable at start: serving degraded until it is');
    this.requestLog.start();
    const source = this.configSource;
    if (source && o.watch) {
      this.watcher = watchConfigFile(
        source.path,
        (c) => source.applyIfChanged(c, 'file-watcher', `file changed: ${o.configFile ?? source.path}`),
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

  /** `exampleFile` if the store is still empty (nothing is written to find out). */
  private async exampleIfEmpty(): Promise<string | undefined> {
    if (!this.opts.exampleFile || this.opts.startMode === 'store') return undefined;
    return (await this.store.getActiveRevisionId()) === undefined ? this.opts.exampleFile : undefined;
  }

  /** The config file this gateway applies (at start, on change, on SIGHUP), if any. */
  get configFile(): string | undefined {
    return this.configSource?.path;
  }

  /** Loads the store's active revision, then the start config (an object, or the file). */
  private async boot(file: string | undefined, fileConfig: unknown): Promise<void> {
    const o = this.opts;
    const author = o.author ?? 'startup';
    if (!file) {
      await this.revisions.init(
        o.config === undefined ? undefined : { config: o.config, author, message: 'start' },
      );
      const a = this.revisions.active;
      if (o.startMode === 'store' && !a)
        throw new StartRefusedError(
          '--from-store: the store has no active revision to serve; start with --config',
        );
      if (o.config === undefined && a)
        this.logger.info({ revision: a.id, hash: a.hash }, `serving revision ${a.id} from the store`);
      return;
    }
    const mode = o.startMode ?? 'auto';
    this.configSource = new ConfigFileSource(file, this.revisions, this.store, this.logger);
    await this.revisions.init(undefined, { fallback: mode !== 'store' });
    await this.configSource.boot(fileConfig, mode, author);
  }

  /**
   * What SIGHUP does: re-reads the config file (applied if it changed since it last produced a
   * revision, as the watcher does) and the TLS certificate files. A bad file or certificate is
   * logged and the running one stays; this never throws.
   */
  async reload(
    reason = 'SIGHUP',
  ): Promise<{ config?: FileApply['status'] | 'refused'; tls?: 'reloaded' | 'failed' }> {
    const out: { config?: FileApply['status'] | 'refused'; tls?: 'reloaded' | 'failed' } = {};
    const source = this.configSource;
    if (source) {
      try {
        const r = await source.applyIfChanged(
          readConfigFile(source.path),
          'reload',
          `${reason}: ${source.path}`,
        );
        out.config = r.status;
      } catch (err) {
        out.config = 'refused';
        const issues = (err as { issues?: unknown }).issues ?? [{ path: source.path, message: String(err) }];
        this.logger.error(
          { file: source.path, issues },
          `${reason}: config file refused; the running revision stays`,
        );
      }
    }
    if (this.opts.tls && this.dataTls) {
      try {
        reloadTlsListener(this.dataTls as unknown as HttpsServer, this.opts.tls);
        out.tls = 'reloaded';
      } catch (err) {
        out.tls = 'failed';
        this.logger.error(
          { err: String(err) },
          `${reason}: TLS certificates not reloaded; the listener keeps its own`,
        );
      }
    }
    this.logger.info({ ...out, revision: this.revisions.active?.id }, `${reason}: reload done`);
    return out;
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
    this.lock?.release();
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
