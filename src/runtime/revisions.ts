import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { SecretEnv } from '../config/secrets.js';
import type { PolicyRegistry } from '../config/validate.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { UpstreamService } from '../proxy/service.js';
import type { AuditStore } from '../store/audit-store.js';
import type { IdentityStore } from '../store/identity-store.js';
import type { RevisionMeta, RevisionStore } from '../store/revision-store.js';
import type { Clock } from '../core/clock.js';
import type { PolicyServices } from '../core/policy.js';
import { type CompiledRevision, compile, compileSliced } from './compile.js';
import { type ConfigDiff, diffConfigs, diffConfigsSteps } from '../core/diff.js';
import { runSliced, type SliceOptions } from '../core/slices.js';
import { ConfigError } from '../core/errors.js';
import { Canary, CanaryConflictError, type RollbackBounds, type SliceSpec } from '../canary/canary.js';

export interface ApplyOptions {
  author: string;
  message?: string;
  dryRun?: boolean;
}

export interface ApplyResult {
  /** `reloaded`: same revision, recompiled because a secret's value changed. */
  status: 'applied' | 'unchanged' | 'reloaded' | 'dry-run';
  revision: RevisionMeta | undefined;
  diff: ConfigDiff;
  /** The candidate's hash (set on a dry run). */
  hash?: string;
}

export interface RevisionDeps {
  /** Revisions and state; consumers declared in the file are upserted; every change is audited. */
  store: RevisionStore & IdentityStore & AuditStore;
  registry: PolicyRegistry;
  services: PolicyServices;
  clock: Clock;
  logger: Logger;
  metrics: GatewayMetrics;
  secretEnv?: SecretEnv;
  /** How long a replaced upstream pool is kept for requests still running on the old revision. */
  drainMs?: number;
  /** Time slices of apply, canary and rollback compiles (tests count the turns given). */
  slices?: SliceOptions;
}

const EMPTY: Config = { services: [], routes: [], policies: [] };

/**
 * The revision machinery: apply (validate -> compile -> store -> swap one reference), rollback,
 * diff. Applies are serialised; a request reads `current` once and finishes on that revision.
 */
export class Revisions {
  private live: CompiledRevision | undefined;
  private meta: RevisionMeta | undefined;
  /** A candidate revision live for a slice of traffic beside `live` (src/canary). */
  private cand: Canary | undefined;
  /** Ended canaries, closed once the requests still running on them have drained. */
  private readonly ended = new Map<NodeJS.Timeout, CompiledRevision>();
  /** Called with each revision that becomes active (listener settings follow the config). */
  onActivate: ((rev: CompiledRevision) => void) | undefined = undefined;
  /** Replaced revisions waiting for their policy cleanup. */
  private readonly disposals = new Map<NodeJS.Timeout, () => void>();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /**
   * A serialised change is running (its sliced compile may have taken over a retiring pool that
   * the swap has not taken back yet): retiring pools are not closed until it is done.
   */
  private changing = 0;
  /** Services the live revision no longer uses, each with the timer that will close it. */
  private readonly retiring = new Map<UpstreamService, NodeJS.Timeout>();

  constructor(private readonly deps: RevisionDeps) {}

  get current(): CompiledRevision {
    if (!this.live) throw new Error('no revision loaded: call init() first');
    return this.live;
  }

  get active(): RevisionMeta | undefined {
    return this.meta;
  }

  /** The running canary, if any; the data plane reads it once per request beside `current`. */
  get canary(): Canary | undefined {
    return this.cand;
  }

  /**
   * Compiles and stores a candidate revision and serves it to a slice of traffic; the stable
   * revision stays active. One canary at a time; applies are refused while it runs.
   */
  startCanary(
    input: unknown,
    opts: ApplyOptions & { slice: SliceSpec; rollback?: RollbackBounds },
  ): Promise<Canary> {
    return this.serial(async () => {
      if (this.cand) throw new CanaryConflictError(`canary revision ${this.cand.meta.id} is running`);
      const compiled = await this.compileSliced(input, 0);
      if (this.meta && compiled.hash === this.meta.hash) {
        this.discard(compiled);
        throw new ConfigError([{ path: '/', message: 'the candidate is the active revision' }]);
      }
      const rec = {
        hash: compiled.hash,
        parent: this.meta?.id ?? null,
        author: opts.author,
        message: opts.message ?? '',
        createdAt: new Date(this.deps.clock.now()).toISOString(),
        config: compiled.config,
      };
      const id = await this.deps.store.insertRevision(rec);
      const c = new Canary(
        { ...compiled, id },
        { id, ...rec },
        opts.slice,
        opts.rollback,
        this.deps.clock.now(),
        opts.author,
        this.meta?.hash ?? null,
      );
      for (const s of compiled.services.values()) {
        // Taken back from retirement: the canary serves with it until it ends.
        clearTimeout(this.retiring.get(s));
        this.retiring.delete(s);
        s.start();
      }
      this.cand = c;
      await this.deps.store.setState('canary', JSON.stringify({ id, hash: compiled.hash }));
      c.startTimer(() => void this.evaluateCanary().catch(() => undefined));
      await this.deps.store.appendAudit({
        actor: opts.author,
        action: 'canary.start',
        target: `revision/${id}`,
        beforeHash: this.meta?.hash ?? null,
        afterHash: compiled.hash,
        detail: {
          slice: opts.slice,
          rollback: opts.rollback ?? null,
          message: rec.message,
          stable: this.meta?.id ?? null,
        },
      });
      this.deps.logger.info({ revision: id, hash: compiled.hash, slice: opts.slice }, 'canary started');
      return c;
    });
  }

  /** Makes the canary the active revision for all traffic (stored like an apply). */
  promoteCanary(author: string): Promise<RevisionMeta> {
    return this.serial(async () => {
      const c = this.cand;
      if (!c) throw new NotFoundError('no canary is running');
      const before = this.meta;
      await this.deps.store.setActiveRevisionId(c.meta.id);
      this.cand = undefined;
      c.stop();
      await this.deps.store.setState('canary', null);
      this.swap(c.revision, c.meta);
      await this.deps.store.appendAudit({
        actor: author,
        action: 'canary.promote',
        target: `revision/${c.meta.id}`,
        beforeHash: before?.hash ?? null,
        afterHash: c.meta.hash,
        detail: { from: before?.id ?? null, to: c.meta.id, ...c.outcome(this.deps.clock.now()) },
      });
      this.deps.metrics.applies.labels('applied').inc();
      this.deps.logger.info({ revision: c.meta.id, hash: c.meta.hash }, 'canary promoted');
      return c.meta;
    });
  }

  /** Ends the canary: every request goes back to the stable revision. */
  abortCanary(author: string, reason: string, detail: Record<string, unknown> = {}): Promise<RevisionMeta> {
    return this.serial(async () => {
      const c = this.cand;
      if (!c) throw new NotFoundError('no canary is running');
      await this.endCanary(c, author, 'canary.abort', { reason, ...detail });
      return c.meta;
    });
  }

  /**
   * One guard evaluation (the canary's timer calls it every `intervalMs`; tests call it with a
   * ManualClock). Rolls the canary back when a bound stayed exceeded for `forMs`.
   */
  evaluateCanary(): Promise<ReturnType<Canary['evaluate']> | undefined> {
    return this.serial(async () => {
      const c = this.cand;
      if (!c) return undefined;
      const e = c.evaluate(this.deps.clock.now());
      if (e.verdict === 'rollback') {
        await this.endCanary(c, 'canary-guard', 'canary.rollback', {
          reason: 'automatic rollback: a bound stayed exceeded',
          violations: e.violations,
          measurements: e.canary,
          stable: e.stable,
          breachSince: e.breachSince,
          bounds: c.bounds,
        });
        this.deps.logger.warn({ revision: c.meta.id, violations: e.violations }, 'canary rolled back');
      }
      return e;
    });
  }

  private async endCanary(
    c: Canary,
    actor: string,
    action: string,
    detail: Record<string, unknown>,
  ): Promise<void> {
    this.cand = undefined;
    c.stop();
    // Like a replaced revision: requests still on the canary finish on it, then it is closed.
    const t = setTimeout(() => {
      this.ended.delete(t);
      this.discard(c.revision);
    }, this.deps.drainMs ?? 60_000);
    t.unref();
    this.ended.set(t, c.revision);
    await this.deps.store.setState('canary', null);
    await this.deps.store.appendAudit({
      actor,
      action,
      target: `revision/${c.meta.id}`,
      beforeHash: c.meta.hash,
      afterHash: this.meta?.hash ?? null,
      detail: { ...detail, ...c.outcome(this.deps.clock.now()) },
    });
  }

  /**
   * Loads the active revision from the store. A config given at start is then applied over it;
   * when it is the same, nothing changes. With `fallback` (a config file will be applied next,
   * src/core/config-file.ts), a stored revision that no longer compiles is logged, not thrown.
   */
  async init(
    boot?: { config: unknown; author: string; message: string },
    opts: { fallback?: boolean } = {},
  ): Promise<void> {
    const id = await this.deps.store.getActiveRevisionId();
    const rec = id !== undefined ? await this.deps.store.getRevision(id) : undefined;
    if (rec) {
      try {
        this.swap(this.compile(rec.config, rec.id), metaOf(rec));
      } catch (err) {
        if (!boot && !opts.fallback) throw err;
        this.deps.logger.error(
          { revision: rec.id, err: String(err) },
          'stored revision does not compile; starting from the given config',
        );
      }
    }
    await this.closeStaleCanary();
    if (boot) await this.apply(boot.config, { author: boot.author, message: boot.message });
    if (!this.live) this.swap(this.compile(EMPTY, 0), undefined);
  }

  /**
   * A canary is process state: after a restart every request is on the stable revision again.
   * One that was running when the gateway stopped is closed in the audit log, not resumed (a
   * canary that crashed the gateway must not crash it again).
   */
  private async closeStaleCanary(): Promise<void> {
    const stale = await this.deps.store.getState('canary');
    if (!stale) return;
    const { id, hash } = JSON.parse(stale) as { id: number; hash: string };
    await this.deps.store.appendAudit({
      actor: 'startup',
      action: 'canary.abort',
      target: `revision/${id}`,
      beforeHash: hash,
      afterHash: this.meta?.hash ?? null,
      detail: { reason: 'the gateway restarted while the canary ran' },
    });
    await this.deps.store.setState('canary', null);
    this.deps.logger.warn({ revision: id }, 'a canary was running when the gateway stopped: ended');
  }

  apply(input: unknown, opts: ApplyOptions): Promise<ApplyResult> {
    return this.serial(() => this.applyNow(input, opts));
  }

  /**
   * Compiles `input` off the request path and hands it, with the live revision, to `fn`; then
   * discards it. Nothing is stored or served (the approval guard compares effective chains).
   */
  inspect<T>(input: unknown, fn: (candidate: CompiledRevision, live: CompiledRevision) => T): Promise<T> {
    return this.serial(async () => {
      const compiled = this.compile(input, 0);
      try {
        return fn(compiled, this.current);
      } finally {
        this.discard(compiled);
      }
    });
  }

  rollback(id: number, author: string): Promise<RevisionMeta> {
    return this.serial(async () => {
      const rec = await this.deps.store.getRevision(id);
      if (!rec) throw new NotFoundError(`revision ${id} not found`);
      const before = this.meta;
      const compiled = await this.compileSliced(rec.config, rec.id);
      if (this.cand) await this.endCanary(this.cand, author, 'canary.abort', { reason: 'rollback' });
      await this.deps.store.setActiveRevisionId(rec.id);
      this.swap(compiled, metaOf(rec));
      await this.deps.store.appendAudit({
        actor: author,
        action: 'revision.rollback',
        target: `revision/${rec.id}`,
        beforeHash: before?.hash ?? null,
        afterHash: rec.hash,
        detail: { from: before?.id ?? null, to: rec.id },
      });
      this.deps.logger.info({ from: before?.id, to: rec.id, hash: rec.hash }, 'rolled back');
      return metaOf(rec);
    });
  }

  async diff(a: number, b: number): Promise<ConfigDiff> {
    const [ra, rb] = await Promise.all([this.deps.store.getRevision(a), this.deps.store.getRevision(b)]);
    if (!ra) throw new NotFoundError(`revision ${a} not found`);
    if (!rb) throw new NotFoundError(`revision ${b} not found`);
    return diffConfigs(ra.config, rb.config);
  }

  /** Closes the pools of every revision this manager served. */
  async close(): Promise<void> {
    this.closed = true;
    this.cand?.stop();
    if (this.cand) this.discard(this.cand.revision);
    this.cand = undefined;
    for (const [t, rev] of this.ended) {
      clearTimeout(t);
      this.discard(rev);
    }
    this.ended.clear();
    for (const t of this.retiring.values()) clearTimeout(t);
    for (const [t, dispose] of this.disposals) {
      clearTimeout(t);
      dispose();
    }
    this.disposals.clear();
    this.live?.dispose();
    const all = new Set<UpstreamService>(this.retiring.keys());
    for (const s of this.live?.services.values() ?? []) all.add(s);
    await Promise.allSettled([...all].map((s) => s.close()));
  }

  private async applyNow(input: unknown, opts: ApplyOptions): Promise<ApplyResult> {
    let compiled: CompiledRevision;
    try {
      compiled = await this.compileSliced(input, 0);
    } catch (err) {
      if (err instanceof ConfigError) this.deps.metrics.applies.labels('refused').inc();
      throw err;
    }
    const previous = this.live?.config ?? EMPTY;
    const diff = await runSliced(diffConfigsSteps(previous, compiled.config), this.deps.slices);
    if (this.cand && !opts.dryRun) {
      this.discard(compiled);
      throw new CanaryConflictError(
        `canary revision ${this.cand.meta.id} is running: promote or abort it before applying`,
      );
    }
    if (opts.dryRun) {
      this.discard(compiled);
      return { status: 'dry-run', revision: undefined, diff, hash: compiled.hash };
    }
    const consumers = (input as Config).consumers;
    if (consumers?.length) await this.importConsumers(consumers, opts.author);
    if (this.meta && compiled.hash === this.meta.hash) {
      if (this.live && compiled.fingerprint !== this.live.fingerprint) {
        // Same revision, new secret values (a rotated key file or env var): recompile in place.
        this.swap({ ...compiled, id: this.meta.id }, this.meta);
        await this.deps.store.appendAudit({
          actor: opts.author,
          action: 'revision.reload',
          target: `revision/${this.meta.id}`,
          beforeHash: this.meta.hash,
          afterHash: this.meta.hash,
          detail: { reason: 'secret values changed' },
        });
        this.deps.metrics.applies.labels('reloaded').inc();
        return { status: 'reloaded', revision: this.meta, diff };
      }
      this.discard(compiled);
      this.deps.metrics.applies.labels('unchanged').inc();
      return { status: 'unchanged', revision: this.meta, diff };
    }
    const createdAt = new Date(this.deps.clock.now()).toISOString();
    const rec = {
      hash: compiled.hash,
      parent: this.meta?.id ?? null,
      author: opts.author,
      message: opts.message ?? '',
      createdAt,
      config: compiled.config,
    };
    const id = await this.deps.store.insertRevision(rec);
    await this.deps.store.setActiveRevisionId(id);
    const before = this.meta;
    this.swap({ ...compiled, id }, metaOf({ id, ...rec }));
    await this.deps.store.appendAudit({
      actor: opts.author,
      action: 'revision.apply',
      target: `revision/${id}`,
      beforeHash: before?.hash ?? null,
      afterHash: compiled.hash,
      detail: { message: rec.message, parent: rec.parent },
    });
    this.deps.metrics.applies.labels('applied').inc();
    this.deps.logger.info({ revision: id, hash: compiled.hash, author: opts.author }, 'revision applied');
    return { status: 'applied', revision: this.meta, diff };
  }

  private async importConsumers(consumers: NonNullable<Config['consumers']>, author: string): Promise<void> {
    const changed: string[] = [];
    const changes: { name: string; before: unknown; after: unknown }[] = [];
    for (const c of consumers) {
      const prior = await this.deps.store.getConsumer(c.name);
      const groups = c.groups ?? [];
      const metadata = c.metadata ?? {};
      if (
        prior &&
        JSON.stringify(prior.groups) === JSON.stringify(groups) &&
        JSON.stringify(prior.metadata) === JSON.stringify(metadata)
      )
        continue;
      await this.deps.store.upsertConsumer({ name: c.name, groups, metadata });
      changed.push(c.name);
      const before = prior ? { groups: prior.groups, metadata: prior.metadata } : null;
      changes.push({ name: c.name, before, after: { groups, metadata } });
    }
    if (changed.length)
      await this.deps.store.appendAudit({
        actor: author,
        action: 'consumer.import',
        target: 'consumers',
        detail: { names: changed, changes },
      });
  }

  private compile(input: unknown, id: number): CompiledRevision {
    return compile(input, id, { ...this.deps, liveServices: this.liveServices() });
  }

  /**
   * Compiles in time slices: requests keep being served by the live revision meanwhile (applies
   * are serialised, so nothing else swaps or retires services until this one is done). A
   * manager closed during the compile discards what it built.
   */
  private async compileSliced(input: unknown, id: number): Promise<CompiledRevision> {
    const compiled = await compileSliced(
      input,
      id,
      { ...this.deps, liveServices: this.liveServices() },
      this.deps.slices,
    );
    if (this.closed) {
      this.discard(compiled);
      throw new Error('the revision manager was closed during the compile');
    }
    return compiled;
  }

  private liveServices(): Map<string, UpstreamService> {
    const live = new Map<string, UpstreamService>();
    for (const s of [...this.retiring.keys(), ...(this.live?.services.values() ?? [])]) live.set(s.hash, s);
    return live;
  }

  /** The atomic swap: one reference. Then retire pools the new revision no longer uses. */
  private swap(next: CompiledRevision, meta: RevisionMeta | undefined): void {
    const prev = this.live;
    this.live = next;
    this.meta = meta;
    this.onActivate?.(next);
    for (const s of next.services.values()) {
      // Taken back from retirement: its pending close must not fire (it would on a later retire).
      clearTimeout(this.retiring.get(s));
      this.retiring.delete(s);
      s.start();
    }
    if (meta) this.deps.metrics.setActiveRevision(meta.id, meta.hash);
    if (!prev) return;
    // The old revision's policy cleanup runs once requests still on it have drained. Only the
    // cleanup function is kept, not the revision: its router and chains (large for 10,000-route
    // configs) are garbage as soon as the last request on them ends.
    const dispose = prev.dispose;
    const d = setTimeout(() => {
      this.disposals.delete(d);
      dispose();
    }, this.deps.drainMs ?? 60_000);
    d.unref();
    this.disposals.set(d, dispose);
    const kept = new Set(next.services.values());
    for (const s of prev.services.values()) if (!kept.has(s) && !this.retiring.has(s)) this.retire(s);
  }

  /**
   * Closes a service the live revision no longer uses once requests on it have drained. While a
   * change runs its compile may have taken the service over, so the close waits for it.
   */
  private retire(s: UpstreamService): void {
    const t = setTimeout(() => {
      if (this.retiring.get(s) !== t) return;
      if (this.changing > 0) return this.retire(s);
      this.retiring.delete(s);
      void s.close();
    }, this.deps.drainMs ?? 60_000);
    t.unref();
    this.retiring.set(s, t);
  }

  /** Closes what a compile created and nothing else: live and draining services are shared. */
  private discard(c: CompiledRevision): void {
    c.dispose();
    const keep = new Set([...(this.live?.services.values() ?? []), ...this.retiring.keys()]);
    for (const s of c.services.values()) if (!keep.has(s)) void s.close();
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const tracked = async () => {
      this.changing++;
      try {
        return await fn();
      } finally {
        this.changing--;
      }
    };
    const run = this.queue.then(tracked, tracked);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

export class NotFoundError extends Error {}

/** A revision's metadata without its config, as the API shows it. */
function metaOf(r: RevisionMeta & { config?: unknown }): RevisionMeta {
  return {
    id: r.id,
    hash: r.hash,
    parent: r.parent,
    author: r.author,
    message: r.message,
    createdAt: r.createdAt,
  };
}
