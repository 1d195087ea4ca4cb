import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Consumer } from '../core/context.js';
import * as requestLog from '../reqlog/sqlite.js';
import type { RequestLogQuery, RequestLogRecord, StoredRequestLog } from '../reqlog/types.js';
import { auditHash, GENESIS_HASH } from './audit-chain.js';
import type { AuditKeyRing } from './audit-keys.js';
import { MIGRATIONS } from './migrations.js';
import type {
  AiUsageQuery,
  AiUsageRecord,
  AiUsageRow,
  AuditEvent,
  Credential,
  CredentialQuery,
  NewAuditEvent,
  NewCredential,
  Proposal,
  RevisionMeta,
  RevisionRecord,
  Store,
  StoredAdmin,
  StoredConsumer,
} from './store.js';

interface RevisionRow {
  id: number;
  hash: string;
  parent: number | null;
  author: string;
  message: string;
  created_at: string;
  config?: string;
}

interface ConsumerRow {
  id: string;
  name: string;
  groups: string;
  metadata: string;
  created_at: string;
  updated_at: string;
}

interface AuditRow {
  id: number;
  ts: string;
  actor: string;
  action: string;
  target: string;
  before_hash: string | null;
  after_hash: string | null;
  detail: string;
  prev_hash: string;
  key_id: string | null;
  hash: string;
}

export class SqliteStore implements Store {
  readonly db: Database.Database;
  private auditKeys: AuditKeyRing = [];
  private readonly auditListeners: ((e: AuditEvent) => void)[] = [];

  constructor(
    file: string,
    private readonly now: () => number = Date.now,
  ) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    this.migrate();
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  async insertRevision(r: Omit<RevisionRecord, 'id'>): Promise<number> {
    const info = this.db
      .prepare(
        'INSERT INTO revisions (hash, parent, author, message, created_at, config) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(r.hash, r.parent, r.author, r.message, r.createdAt, JSON.stringify(r.config));
    return Number(info.lastInsertRowid);
  }

  async getRevision(id: number): Promise<RevisionRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM revisions WHERE id = ?').get(id) as RevisionRow | undefined;
    return row ? { ...meta(row), config: JSON.parse(row.config!) } : undefined;
  }

  async listRevisions(opts: { limit?: number; beforeId?: number } = {}): Promise<RevisionMeta[]> {
    const rows = this.db
      .prepare(
        'SELECT id, hash, parent, author, message, created_at FROM revisions WHERE id < ? ORDER BY id DESC LIMIT ?',
      )
      .all(opts.beforeId ?? Number.MAX_SAFE_INTEGER, opts.limit ?? 100) as RevisionRow[];
    return rows.map(meta);
  }

  async getActiveRevisionId(): Promise<number | undefined> {
    const row = this.db.prepare("SELECT value FROM state WHERE key = 'active_revision'").get() as
      | { value: string }
      | undefined;
    return row ? Number(row.value) : undefined;
  }

  async setActiveRevisionId(id: number): Promise<void> {
    this.db
      .prepare(
        "INSERT INTO state (key, value) VALUES ('active_revision', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      )
      .run(String(id));
  }

  async listConsumers(opts: { limit?: number; offset?: number } = {}): Promise<StoredConsumer[]> {
    const rows = this.db
      .prepare('SELECT * FROM consumers ORDER BY name LIMIT ? OFFSET ?')
      .all(opts.limit ?? 1000, opts.offset ?? 0) as ConsumerRow[];
    return rows.map(consumer);
  }

  async getConsumer(name: string): Promise<StoredConsumer | undefined> {
    const row = this.db.prepare('SELECT * FROM consumers WHERE name = ?').get(name) as
      | ConsumerRow
      | undefined;
    return row ? consumer(row) : undefined;
  }

  async upsertConsumer(
    c: Omit<Consumer, 'id'> & { id?: string },
  ): Promise<{ consumer: StoredConsumer; created: boolean }> {
    const now = this.iso();
    return this.db.transaction(() => {
      const existing = this.db.prepare('SELECT * FROM consumers WHERE name = ?').get(c.name) as
        | ConsumerRow
        | undefined;
      if (existing) {
        this.db
          .prepare('UPDATE consumers SET groups = ?, metadata = ?, updated_at = ? WHERE name = ?')
          .run(JSON.stringify(c.groups), JSON.stringify(c.metadata), now, c.name);
      } else {
        this.db
          .prepare(
            'INSERT INTO consumers (id, name, groups, metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
          )
          .run(c.id ?? randomUUID(), c.name, JSON.stringify(c.groups), JSON.stringify(c.metadata), now, now);
      }
      const row = this.db.prepare('SELECT * FROM consumers WHERE name = ?').get(c.name) as ConsumerRow;
      return { consumer: consumer(row), created: !existing };
    })();
  }

  async deleteConsumer(name: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM consumers WHERE name = ?').run(name).changes > 0;
  }

  setAuditKeys(keys: AuditKeyRing): void {
    this.auditKeys = keys;
  }

  onAudit(listener: (e: AuditEvent) => void): void {
    this.auditListeners.push(listener);
  }

  async appendAudit(e: NewAuditEvent): Promise<AuditEvent> {
    const appended = this.insertAudit(e);
    for (const l of this.auditListeners)
      try {
        l(appended);
      } catch {
        // A listener's failure (a sink, the log) never fails the change that was audited.
      }
    return appended;
  }

  private insertAudit(e: NewAuditEvent): AuditEvent {
    const key = this.auditKeys[0];
    return this.db
      .transaction(() => {
        // The head recorded beside the log wins: a deleted tail then shows as a gap on verify.
        const last =
          this.readAuditHead() ??
          (this.db.prepare('SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1').get() as
            | { id: number; hash: string }
            | undefined);
        const event: Omit<AuditEvent, 'hash'> = {
          id: (last?.id ?? 0) + 1,
          ts: this.iso(),
          actor: e.actor,
          action: e.action,
          target: e.target,
          // An event that does not change the revision (a key issued, a consumer deleted) records
          // the revision active when it happened, as both hashes.
          beforeHash: e.beforeHash === undefined ? this.activeHash() : e.beforeHash,
          afterHash: e.afterHash === undefined ? this.activeHash() : e.afterHash,
          detail: e.detail ?? {},
          prevHash: last?.hash ?? GENESIS_HASH,
          keyId: key?.id ?? null,
        };
        const hash = auditHash(event, key?.secret);
        this.db
          .prepare(
            'INSERT INTO audit (id, ts, actor, action, target, before_hash, after_hash, detail, prev_hash, key_id, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
          )
          .run(
            event.id,
            event.ts,
            event.actor,
            event.action,
            event.target,
            event.beforeHash,
            event.afterHash,
            JSON.stringify(event.detail),
            event.prevHash,
            event.keyId,
            hash,
          );
        this.db
          .prepare(
            "INSERT INTO state (key, value) VALUES ('audit_head', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
          )
          .run(`${event.id}:${hash}`);
        return { ...event, hash };
      })
      .immediate();
  }

  async listAudit(opts: { limit?: number; afterId?: number } = {}): Promise<AuditEvent[]> {
    const rows = this.db
      .prepare('SELECT * FROM audit WHERE id > ? ORDER BY id ASC LIMIT ?')
      .all(opts.afterId ?? 0, opts.limit ?? 1000) as AuditRow[];
    return rows.map((r) => ({
      id: r.id,
      ts: r.ts,
      actor: r.actor,
      action: r.action,
      target: r.target,
      beforeHash: r.before_hash,
      afterHash: r.after_hash,
      detail: JSON.parse(r.detail),
      prevHash: r.prev_hash,
      keyId: r.key_id ?? null,
      hash: r.hash,
    }));
  }

  async getState(key: string): Promise<string | undefined> {
    const row = this.db.prepare('SELECT value FROM state WHERE key = ?').get(key) as
      | { value: string }
      | undefined;
    return row?.value;
  }

  async setState(key: string, value: string | null): Promise<void> {
    if (value === null) this.db.prepare('DELETE FROM state WHERE key = ?').run(key);
    else
      this.db
        .prepare(
          'INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
        )
        .run(key, value);
  }

  private activeHash(): string | null {
    const row = this.db
      .prepare(
        "SELECT r.hash FROM revisions r JOIN state s ON s.key = 'active_revision' AND r.id = CAST(s.value AS INTEGER)",
      )
      .get() as { hash: string } | undefined;
    return row?.hash ?? null;
  }

  async auditHead(): Promise<{ id: number; hash: string } | undefined> {
    return this.readAuditHead();
  }

  private readAuditHead(): { id: number; hash: string } | undefined {
    const row = this.db.prepare("SELECT value FROM state WHERE key = 'audit_head'").get() as
      | { value: string }
      | undefined;
    if (!row) return undefined;
    const [id, hash] = row.value.split(':');
    return { id: Number(id), hash: hash ?? '' };
  }

  async insertAdmin(a: StoredAdmin): Promise<void> {
    this.db
      .prepare(
        'INSERT INTO admins (name, role, token_hash, created_at, created_by, status) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(a.name, a.role, a.tokenHash, a.createdAt, a.createdBy, a.status ?? 'active');
  }

  async confirmAdmin(name: string, by: string, at: string): Promise<boolean> {
    const sql =
      "UPDATE admins SET status = 'active', confirmed_by = ?, confirmed_at = ? WHERE name = ? AND status = 'pending'";
    return this.db.prepare(sql).run(by, at, name).changes > 0;
  }

  async getAdminByTokenHash(tokenHash: string): Promise<StoredAdmin | undefined> {
    const r = this.db.prepare('SELECT * FROM admins WHERE token_hash = ?').get(tokenHash) as
      | AdminRow
      | undefined;
    return r ? admin(r) : undefined;
  }

  async listAdmins(): Promise<StoredAdmin[]> {
    return (this.db.prepare('SELECT * FROM admins ORDER BY name').all() as AdminRow[]).map(admin);
  }

  async deleteAdmin(name: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM admins WHERE name = ?').run(name).changes > 0;
  }

  async insertProposal(p: Omit<Proposal, 'id'>): Promise<Proposal> {
    const info = this.db
      .prepare(
        'INSERT INTO proposals (created_at, author, message, config, base_hash, hash, status, activate_at, decided_by, decided_at, reason, revision_id, canary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        p.createdAt,
        p.author,
        p.message,
        JSON.stringify(p.config),
        p.baseHash,
        p.hash,
        p.status,
        p.activateAt,
        p.decidedBy,
        p.decidedAt,
        p.reason,
        p.revisionId,
        p.canary ? JSON.stringify(p.canary) : null,
      );
    return { id: Number(info.lastInsertRowid), ...p };
  }

  async getProposal(id: number): Promise<Proposal | undefined> {
    const r = this.db.prepare('SELECT * FROM proposals WHERE id = ?').get(id) as ProposalRow | undefined;
    return r ? proposal(r) : undefined;
  }

  async listProposals(opts: { status?: string; limit?: number } = {}): Promise<Proposal[]> {
    const rows = (
      opts.status
        ? this.db
            .prepare('SELECT * FROM proposals WHERE status = ? ORDER BY id DESC LIMIT ?')
            .all(opts.status, opts.limit ?? 100)
        : this.db.prepare('SELECT * FROM proposals ORDER BY id DESC LIMIT ?').all(opts.limit ?? 100)
    ) as ProposalRow[];
    return rows.map(proposal);
  }

  async updateProposal(id: number, from: readonly string[], change: Partial<Proposal>): Promise<boolean> {
    const cols: Record<string, string> = {
      status: 'status',
      activateAt: 'activate_at',
      decidedBy: 'decided_by',
      decidedAt: 'decided_at',
      reason: 'reason',
      revisionId: 'revision_id',
    };
    const sets: string[] = [];
    const args: unknown[] = [];
    for (const [k, v] of Object.entries(change)) {
      if (!cols[k]) continue;
      sets.push(`${cols[k]} = ?`);
      args.push(v ?? null);
    }
    if (!sets.length) return false;
    const marks = from.map(() => '?').join(', ');
    return (
      this.db
        .prepare(`UPDATE proposals SET ${sets.join(', ')} WHERE id = ? AND status IN (${marks})`)
        .run(...args, id, ...from).changes > 0
    );
  }

  async insertCredential(c: NewCredential): Promise<Credential> {
    const row: CredentialRow = {
      id: c.id ?? randomUUID(),
      consumer: c.consumer,
      kind: c.kind,
      lookup: c.lookup,
      secret: c.secret,
      label: c.label ?? '',
      metadata: JSON.stringify(c.metadata ?? {}),
      created_at: this.iso(),
      expires_at: c.expiresAt ?? null,
      revoked_at: null,
    };
    this.db
      .prepare(
        'INSERT INTO credentials (id, consumer, kind, lookup, secret, label, metadata, created_at, expires_at, revoked_at) VALUES (@id, @consumer, @kind, @lookup, @secret, @label, @metadata, @created_at, @expires_at, @revoked_at)',
      )
      .run(row);
    return credential(row);
  }

  async findCredentials(kind: string, lookup: string): Promise<Credential[]> {
    const rows = this.db
      .prepare('SELECT * FROM credentials WHERE kind = ? AND lookup = ? AND revoked_at IS NULL')
      .all(kind, lookup) as CredentialRow[];
    return rows.map(credential);
  }

  async listCredentials(q: CredentialQuery = {}): Promise<Credential[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.consumer) {
      where.push('consumer = ?');
      args.push(q.consumer);
    }
    if (q.kind) {
      where.push('kind = ?');
      args.push(q.kind);
    }
    if (q.lookupPrefix) {
      where.push('substr(lookup, 1, ?) = ?');
      args.push(q.lookupPrefix.length, q.lookupPrefix);
    }
    if (!q.includeRevoked) where.push('revoked_at IS NULL');
    const sql = `SELECT * FROM credentials ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, id LIMIT ?`;
    return (this.db.prepare(sql).all(...args, q.limit ?? 1000) as CredentialRow[]).map(credential);
  }

  async getCredential(id: string): Promise<Credential | undefined> {
    const row = this.db.prepare('SELECT * FROM credentials WHERE id = ?').get(id) as
      | CredentialRow
      | undefined;
    return row ? credential(row) : undefined;
  }

  async revokeCredential(id: string): Promise<boolean> {
    return (
      this.db
        .prepare('UPDATE credentials SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL')
        .run(this.iso(), id).changes > 0
    );
  }

  async insertAiUsage(records: readonly AiUsageRecord[]): Promise<void> {
    const st = this.db.prepare(
      `INSERT INTO ai_usage (ts, day, request_id, consumer, route, model, provider, provider_model, input_tokens,
         output_tokens, cost, latency_ms, ttft_ms, status, stream, cached, estimated)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.db.transaction(() => {
      for (const r of records)
        st.run(
          r.ts,
          new Date(r.ts).toISOString().slice(0, 10),
          r.requestId,
          r.consumer,
          r.route,
          r.model,
          r.provider,
          r.providerModel,
          r.inputTokens,
          r.outputTokens,
          r.cost,
          r.latencyMs,
          r.ttftMs,
          r.status,
          r.stream ? 1 : 0,
          r.cached ? 1 : 0,
          r.estimated ? 1 : 0,
        );
    })();
  }

  private aiWhere(q: AiUsageQuery): { sql: string; args: string[] } {
    const w: string[] = [];
    const args: string[] = [];
    if (q.from) w.push('day >= ?') && args.push(q.from);
    if (q.to) w.push('day <= ?') && args.push(q.to);
    if (q.consumer) w.push('consumer = ?') && args.push(q.consumer);
    if (q.model) w.push('model = ?') && args.push(q.model);
    return { sql: w.length ? `WHERE ${w.join(' AND ')}` : '', args };
  }

  async aiUsageSummary(q: AiUsageQuery): Promise<AiUsageRow[]> {
    const cols = (q.groupBy ?? []).filter((g) => ['consumer', 'model', 'provider', 'day'].includes(g));
    const where = this.aiWhere(q);
    const sel = cols.length ? `${cols.join(', ')}, ` : '';
    const group = cols.length ? `GROUP BY ${cols.join(', ')} ORDER BY ${cols.join(', ')}` : '';
    const rows = this.db
      .prepare(
        `SELECT ${sel}COUNT(*) AS requests, SUM(input_tokens) AS inputTokens, SUM(output_tokens) AS outputTokens,
           SUM(cost) AS cost FROM ai_usage ${where.sql} ${group}`,
      )
      .all(...where.args) as AiUsageRow[];
    return rows
      .filter((r) => r.requests > 0)
      .map((r) => ({
        ...r,
        inputTokens: r.inputTokens ?? 0,
        outputTokens: r.outputTokens ?? 0,
        cost: r.cost ?? 0,
      }));
  }

  async listAiUsage(q: AiUsageQuery & { limit?: number }): Promise<AiUsageRecord[]> {
    const where = this.aiWhere(q);
    const rows = this.db
      .prepare(`SELECT * FROM ai_usage ${where.sql} ORDER BY id DESC LIMIT ?`)
      .all(...where.args, q.limit ?? 100) as Record<string, number | string | null>[];
    return rows.map((r) => ({
      ts: r.ts as number,
      requestId: r.request_id as string,
      consumer: r.consumer as string,
      route: r.route as string,
      model: r.model as string,
      provider: r.provider as string,
      providerModel: r.provider_model as string,
      inputTokens: r.input_tokens as number,
      outputTokens: r.output_tokens as number,
      cost: r.cost as number,
      latencyMs: r.latency_ms as number,
      ttftMs: r.ttft_ms as number | null,
      status: r.status as number,
      stream: r.stream === 1,
      cached: r.cached === 1,
      estimated: r.estimated === 1,
    }));
  }

  async insertRequestLog(records: readonly RequestLogRecord[]): Promise<void> {
    requestLog.insertRequestLog(this.db, records);
  }

  async queryRequestLog(q: RequestLogQuery): Promise<StoredRequestLog[]> {
    return requestLog.queryRequestLog(this.db, q);
  }

  async countRequestLog(q: RequestLogQuery): Promise<number> {
    return requestLog.countRequestLog(this.db, q);
  }

  async pruneRequestLog(opts: { before?: number; maxRows?: number }): Promise<number> {
    return requestLog.pruneRequestLog(this.db, opts);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

interface CredentialRow {
  id: string;
  consumer: string;
  kind: string;
  lookup: string;
  secret: string;
  label: string;
  metadata: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

function credential(r: CredentialRow): Credential {
  return {
    id: r.id,
    consumer: r.consumer,
    kind: r.kind,
    lookup: r.lookup,
    secret: r.secret,
    label: r.label,
    metadata: JSON.parse(r.metadata),
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
  };
}

function meta(r: RevisionRow): RevisionMeta {
  return {
    id: r.id,
    hash: r.hash,
    parent: r.parent,
    author: r.author,
    message: r.message,
    createdAt: r.created_at,
  };
}

function consumer(r: ConsumerRow): StoredConsumer {
  return {
    id: r.id,
    name: r.name,
    groups: JSON.parse(r.groups),
    metadata: JSON.parse(r.metadata),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

interface AdminRow {
  name: string;
  role: string;
  token_hash: string;
  created_at: string;
  created_by: string;
  status: string;
  confirmed_by: string | null;
  confirmed_at: string | null;
}

function admin(r: AdminRow): StoredAdmin {
  return {
    name: r.name,
    role: r.role === 'admin' ? 'admin' : 'viewer',
    tokenHash: r.token_hash,
    createdAt: r.created_at,
    createdBy: r.created_by,
    status: r.status === 'pending' ? 'pending' : 'active',
    confirmedBy: r.confirmed_by,
    confirmedAt: r.confirmed_at,
  };
}

interface ProposalRow {
  id: number;
  created_at: string;
  author: string;
  message: string;
  config: string;
  base_hash: string | null;
  hash: string;
  status: string;
  activate_at: string | null;
  decided_by: string | null;
  decided_at: string | null;
  reason: string | null;
  revision_id: number | null;
  canary: string | null;
}

function proposal(r: ProposalRow): Proposal {
  return {
    id: r.id,
    createdAt: r.created_at,
    author: r.author,
    message: r.message,
    config: JSON.parse(r.config),
    baseHash: r.base_hash,
    hash: r.hash,
    status: r.status as Proposal['status'],
    activateAt: r.activate_at,
    decidedBy: r.decided_by,
    decidedAt: r.decided_at,
    reason: r.reason,
    revisionId: r.revision_id,
    canary: r.canary ? JSON.parse(r.canary) : null,
  };
}
