import type Database from 'better-sqlite3';
import type { RequestLogQuery, RequestLogRecord, StoredRequestLog } from '../reqlog/types.js';
import { auditHash, GENESIS_HASH } from './audit-chain.js';
import type { AuditKeyRing } from './audit-keys.js';
import { isoAt, openSqlite } from './sqlite-db.js';
import { SqliteIdentityStore } from './sqlite-identities.js';
import { SqliteRequestLogStore } from './sqlite-request-log.js';
import { SqliteRevisionStore } from './sqlite-revisions.js';
import type {
  AiUsageQuery,
  AiUsageRecord,
  AiUsageRow,
  AuditEvent,
  AuditStore,
  Consumer,
  Credential,
  CredentialQuery,
  NewAuditEvent,
  NewCredential,
  Proposal,
  RevisionRecord,
  Store,
  StoredAdmin,
} from './store.js';

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

/**
 * The audit log in the config database. It shares that connection with the revision store on
 * purpose: an event records the active revision's hash, read in the same transaction.
 */
export class SqliteAuditStore implements AuditStore {
  private auditKeys: AuditKeyRing = [];
  private readonly auditListeners: ((e: AuditEvent) => void)[] = [];

  constructor(
    private readonly db: Database.Database,
    private readonly now: () => number,
  ) {}

  private iso(): string {
    return isoAt(this.now);
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
}

/**
 * The embedded store: one SQLite file (`portcullis.db`) holding every concern, each behind its
 * own class. Revisions, identities and audit share the config connection; the request log and AI
 * usage get a second connection to the same file, so their batched inserts never share a
 * transaction path with config writes (docs/architecture.md, "Stores").
 */
export class SqliteStore implements Store {
  /** The config connection (revisions, identities, audit). */
  readonly db: Database.Database;
  readonly revisions: SqliteRevisionStore;
  readonly identities: SqliteIdentityStore;
  readonly audit: SqliteAuditStore;
  readonly requestLog: SqliteRequestLogStore;

  constructor(file: string, now: () => number = Date.now) {
    this.db = openSqlite(file);
    this.revisions = new SqliteRevisionStore(this.db);
    this.identities = new SqliteIdentityStore(this.db, now);
    this.audit = new SqliteAuditStore(this.db, now);
    this.requestLog = new SqliteRequestLogStore(file);
  }

  insertRevision(r: Omit<RevisionRecord, 'id'>) {
    return this.revisions.insertRevision(r);
  }
  getRevision(id: number) {
    return this.revisions.getRevision(id);
  }
  listRevisions(opts?: { limit?: number; beforeId?: number }) {
    return this.revisions.listRevisions(opts);
  }
  getActiveRevisionId() {
    return this.revisions.getActiveRevisionId();
  }
  setActiveRevisionId(id: number) {
    return this.revisions.setActiveRevisionId(id);
  }
  getState(key: string) {
    return this.revisions.getState(key);
  }
  setState(key: string, value: string | null) {
    return this.revisions.setState(key, value);
  }
  insertProposal(p: Omit<Proposal, 'id'>) {
    return this.revisions.insertProposal(p);
  }
  getProposal(id: number) {
    return this.revisions.getProposal(id);
  }
  listProposals(opts?: { status?: string; limit?: number }) {
    return this.revisions.listProposals(opts);
  }
  updateProposal(id: number, from: readonly string[], change: Partial<Proposal>) {
    return this.revisions.updateProposal(id, from, change);
  }

  listConsumers(opts?: { limit?: number; offset?: number }) {
    return this.identities.listConsumers(opts);
  }
  getConsumer(name: string) {
    return this.identities.getConsumer(name);
  }
  upsertConsumer(c: Omit<Consumer, 'id'> & { id?: string }) {
    return this.identities.upsertConsumer(c);
  }
  deleteConsumer(name: string) {
    return this.identities.deleteConsumer(name);
  }
  insertCredential(c: NewCredential): Promise<Credential> {
    return this.identities.insertCredential(c);
  }
  findCredentials(kind: string, lookup: string) {
    return this.identities.findCredentials(kind, lookup);
  }
  listCredentials(q?: CredentialQuery) {
    return this.identities.listCredentials(q);
  }
  getCredential(id: string) {
    return this.identities.getCredential(id);
  }
  revokeCredential(id: string) {
    return this.identities.revokeCredential(id);
  }
  insertAdmin(a: StoredAdmin) {
    return this.identities.insertAdmin(a);
  }
  getAdminByTokenHash(tokenHash: string) {
    return this.identities.getAdminByTokenHash(tokenHash);
  }
  listAdmins() {
    return this.identities.listAdmins();
  }
  deleteAdmin(name: string) {
    return this.identities.deleteAdmin(name);
  }
  confirmAdmin(name: string, by: string, at: string) {
    return this.identities.confirmAdmin(name, by, at);
  }

  appendAudit(e: NewAuditEvent) {
    return this.audit.appendAudit(e);
  }
  setAuditKeys(keys: AuditKeyRing) {
    this.audit.setAuditKeys(keys);
  }
  onAudit(listener: (e: AuditEvent) => void) {
    this.audit.onAudit(listener);
  }
  listAudit(opts?: { limit?: number; afterId?: number }) {
    return this.audit.listAudit(opts);
  }
  auditHead() {
    return this.audit.auditHead();
  }

  insertRequestLog(records: readonly RequestLogRecord[]): Promise<void> {
    return this.requestLog.insertRequestLog(records);
  }
  queryRequestLog(q: RequestLogQuery): Promise<StoredRequestLog[]> {
    return this.requestLog.queryRequestLog(q);
  }
  countRequestLog(q: RequestLogQuery) {
    return this.requestLog.countRequestLog(q);
  }
  pruneRequestLog(opts: { before?: number; maxRows?: number }) {
    return this.requestLog.pruneRequestLog(opts);
  }
  insertAiUsage(records: readonly AiUsageRecord[]) {
    return this.requestLog.insertAiUsage(records);
  }
  aiUsageSummary(q: AiUsageQuery): Promise<AiUsageRow[]> {
    return this.requestLog.aiUsageSummary(q);
  }
  listAiUsage(q: AiUsageQuery & { limit?: number }) {
    return this.requestLog.listAiUsage(q);
  }

  async close(): Promise<void> {
    this.requestLog.close();
    this.db.close();
  }
}
