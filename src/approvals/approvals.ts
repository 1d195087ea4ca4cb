import type { Logger } from 'pino';
import { parseCanary } from '../canary/spec.js';
import type { Config } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import type { Revisions } from '../runtime/revisions.js';
import type { AuditStore } from '../store/audit-store.js';
import type { IdentityStore } from '../store/identity-store.js';
import type { Proposal, RevisionStore } from '../store/revision-store.js';
import { consumerLosses } from './coverage.js';
import { type ApprovalRule, guardedBy, guardedChanges } from './guard.js';

export interface ApprovalDeps {
  /** Proposals; the approver's admin record and the consumers a change touches; the audit log. */
  store: RevisionStore & IdentityStore & AuditStore;
  revisions: Revisions;
  clock: Clock;
  logger: Logger;
}

/** Why an approval step was refused; `kind` picks the admin error. */
export class ApprovalError extends Error {
  constructor(
    readonly kind: 'not-found' | 'conflict' | 'forbidden' | 'bad-input',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Proposed revisions and their approval (four-eyes): a proposal waits until an admin other than
 * its author approves it; it then activates at once, or at `activateAt` (the scheduler's `tick`).
 * A proposal is made against the live revision: if that changed before activation, the activation
 * fails rather than silently undoing the changes made in between. Every step is an audit event.
 */
export class Approvals {
  private ticking: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: ApprovalDeps) {}

  /**
   * What of replacing the live revision by `config` (an apply, a canary, a rollback) needs an
   * approval under the live revision's rules: protected policy changes, paths whose effective
   * chain loses a guarded policy, and consumers the config moves out of (or into) groups so that
   * they lose one. Empty when approvals are off.
   */
  async touches(config: unknown, _author: string): Promise<string[]> {
    const rule = this.deps.revisions.current.config.gateway?.approvals;
    if (!rule?.required) return [];
    return (await this.inspect(config, rule)).touches;
  }

  /**
   * What a change of a consumer's groups (`PUT /consumers/:name`, `POST /consumers`) takes away
   * of the guarded policies under the live revision's rules; empty when approvals are off.
   */
  consumerTouches(name: string, before: readonly string[], after: readonly string[]): string[] {
    const live = this.deps.revisions.current;
    const rule = live.config.gateway?.approvals;
    if (!rule?.required || sameGroups(before, after)) return [];
    return consumerLosses(live, name, before, after, guardedBy(rule));
  }

  /** The candidate's hash and what it touches under `rule`; throws ConfigError when it is refused. */
  private async inspect(config: unknown, rule: ApprovalRule): Promise<{ hash: string; touches: string[] }> {
    const groups = await this.groupChanges(config);
    return this.deps.revisions.inspect(config, (next, live) => {
      const touches = guardedChanges(live, next, rule);
      const guarded = guardedBy(rule);
      for (const g of groups)
        for (const rev of [live, next])
          touches.push(...consumerLosses(rev, g.name, g.before, g.after, guarded));
      return { hash: next.hash, touches: [...new Set(touches)] };
    });
  }

  /** The consumers a config declares whose groups differ from the store's (applying it upserts them). */
  private async groupChanges(
    config: unknown,
  ): Promise<{ name: string; before: string[]; after: string[] }[]> {
    const decl = (config as Partial<Config> | null)?.consumers;
    if (!Array.isArray(decl)) return [];
    const out: { name: string; before: string[]; after: string[] }[] = [];
    for (const c of decl) {
      if (typeof c?.name !== 'string') continue;
      const before = (await this.deps.store.getConsumer(c.name))?.groups ?? [];
      const after = Array.isArray(c.groups) ? c.groups.filter((g) => typeof g === 'string') : [];
      if (!sameGroups(before, after)) out.push({ name: c.name, before, after });
    }
    return out;
  }

  async propose(
    config: unknown,
    opts: { author: string; message?: string; activateAt?: string; canary?: Record<string, unknown> },
  ): Promise<Proposal & { touches: string[] }> {
    if (opts.canary) {
      const c = parseCanary({ ...opts.canary, config: {} });
      if (!c.ok)
        throw new ApprovalError(
          'bad-input',
          `canary: ${c.issues.map((i) => `${i.path} ${i.message}`).join('; ')}`,
        );
    }
    // Validates and compiles (ConfigError on a bad config); nothing is activated. What it
    // touches is told by the protected policies' names (every policy when no rule is set).
    const live = this.deps.revisions.current.config;
    const rule = { required: true, policies: live.gateway?.approvals?.policies };
    const { hash, touches } = await this.inspect(config, rule);
    const p = await this.deps.store.insertProposal({
      createdAt: this.iso(),
      author: opts.author,
      message: opts.message ?? '',
      config,
      baseHash: this.deps.revisions.active?.hash ?? null,
      hash,
      status: 'pending',
      activateAt: opts.activateAt ?? null,
      decidedBy: null,
      decidedAt: null,
      reason: null,
      revisionId: null,
      canary: opts.canary ?? null,
    });
    await this.audit(opts.author, 'proposal.create', p, {
      message: p.message,
      activateAt: p.activateAt,
      touches,
    });
    return { ...p, touches };
  }

  async approve(id: number, actor: string, activateAt?: string): Promise<Proposal> {
    const p = await this.get(id);
    if (p.status !== 'pending')
      throw new ApprovalError('conflict', `proposal ${id} is ${p.status}, not pending`);
    if (p.author === actor)
      throw new ApprovalError(
        'forbidden',
        `proposal ${id} was made by ${actor}: another admin must approve it`,
      );
    // An admin made (or confirmed) after the proposal cannot approve it: its author could have
    // made one to approve their own change.
    const approver = (await this.deps.store.listAdmins()).find((a) => a.name === actor);
    const since = approver ? (approver.confirmedAt ?? approver.createdAt) : undefined;
    if (since !== undefined && since > p.createdAt)
      throw new ApprovalError(
        'forbidden',
        `${actor} became an admin after proposal ${id} was made: an admin of that time must approve it`,
      );
    const at = activateAt ?? p.activateAt ?? null;
    const now = this.deps.clock.now();
    const scheduled = at !== null && Date.parse(at) > now;
    const decided = { decidedBy: actor, decidedAt: this.iso(), activateAt: at };
    if (
      !(await this.deps.store.updateProposal(id, ['pending'], {
        ...decided,
        status: scheduled ? 'scheduled' : 'approved',
      }))
    )
      throw new ApprovalError('conflict', `proposal ${id} was decided concurrently`);
    await this.audit(actor, 'proposal.approve', p, { author: p.author, activateAt: at, scheduled });
    if (scheduled) return this.get(id);
    return this.activate({ ...p, ...decided }, actor, ['approved']);
  }

  async reject(id: number, actor: string, reason: string): Promise<Proposal> {
    const p = await this.get(id);
    if (p.status !== 'pending' && p.status !== 'scheduled')
      throw new ApprovalError('conflict', `proposal ${id} is ${p.status}: it can no longer be rejected`);
    const ok = await this.deps.store.updateProposal(id, ['pending', 'scheduled'], {
      status: 'rejected',
      decidedBy: actor,
      decidedAt: this.iso(),
      reason,
    });
    if (!ok) throw new ApprovalError('conflict', `proposal ${id} was decided concurrently`);
    await this.audit(actor, 'proposal.reject', p, { author: p.author, reason });
    return this.get(id);
  }

  /** Activates scheduled proposals whose time has come (the scheduler calls it every second). */
  tick(): Promise<Proposal[]> {
    const run = this.ticking.then(async () => {
      const now = this.deps.clock.now();
      const due = (await this.deps.store.listProposals({ status: 'scheduled', limit: 1000 }))
        .filter((p) => p.activateAt !== null && Date.parse(p.activateAt) <= now)
        .sort((a, b) => a.id - b.id);
      const out: Proposal[] = [];
      for (const p of due) {
        // Claimed first, so a rejection that lands meanwhile wins cleanly (or loses cleanly).
        if (!(await this.deps.store.updateProposal(p.id, ['scheduled'], { status: 'approved' }))) continue;
        out.push(await this.activate(p, 'scheduler', ['approved']));
      }
      return out;
    });
    this.ticking = run.catch(() => undefined);
    return run;
  }

  startScheduler(intervalMs = 1000): void {
    this.timer = setInterval(() => {
      this.tick().catch((err) => this.deps.logger.error({ err: String(err) }, 'proposal scheduler failed'));
    }, intervalMs);
    this.timer.unref();
  }

  stopScheduler(): void {
    clearInterval(this.timer);
  }

  async get(id: number): Promise<Proposal> {
    const p = await this.deps.store.getProposal(id);
    if (!p) throw new ApprovalError('not-found', `proposal ${id} not found`);
    return p;
  }

  private async activate(p: Proposal, actor: string, from: Proposal['status'][]): Promise<Proposal> {
    const live = this.deps.revisions.active?.hash ?? null;
    if (live !== p.baseHash)
      return this.fail(
        p,
        actor,
        from,
        `the live revision changed since the proposal (was ${short(p.baseHash)}, now ${short(live)}): propose again`,
      );
    const message = `${p.message}${p.message ? ' ' : ''}(proposal #${p.id}, approved by ${p.decidedBy})`;
    let revisionId: number | undefined;
    try {
      if (p.canary) {
        const c = parseCanary({ ...p.canary, config: p.config });
        if (!c.ok) throw new Error('invalid canary');
        const started = await this.deps.revisions.startCanary(p.config, {
          author: p.author,
          message,
          slice: c.slice,
          rollback: c.rollback,
        });
        revisionId = started.meta.id;
      } else {
        const r = await this.deps.revisions.apply(p.config, { author: p.author, message });
        revisionId = r.revision?.id;
      }
    } catch (err) {
      return this.fail(p, actor, from, (err as Error).message);
    }
    await this.deps.store.updateProposal(p.id, from, { status: 'applied', revisionId: revisionId ?? null });
    await this.audit(actor, 'proposal.activate', p, {
      revision: revisionId ?? null,
      canary: p.canary !== null,
    });
    return this.get(p.id);
  }

  private async fail(
    p: Proposal,
    actor: string,
    from: Proposal['status'][],
    reason: string,
  ): Promise<Proposal> {
    await this.deps.store.updateProposal(p.id, from, { status: 'failed', reason });
    await this.audit(actor, 'proposal.fail', p, { reason });
    this.deps.logger.warn({ proposal: p.id, reason }, 'proposal activation failed');
    return this.get(p.id);
  }

  private audit(actor: string, action: string, p: Proposal, detail: Record<string, unknown>) {
    return this.deps.store.appendAudit({
      actor,
      action,
      target: `proposal/${p.id}`,
      beforeHash: p.baseHash,
      afterHash: p.hash,
      detail,
    });
  }

  private iso(): string {
    return new Date(this.deps.clock.now()).toISOString();
  }
}

function sameGroups(a: readonly string[], b: readonly string[]): boolean {
  return [...new Set(a)].sort().join('\0') === [...new Set(b)].sort().join('\0');
}

function short(h: string | null): string {
  return h ? h.slice(0, 12) : 'none';
}
