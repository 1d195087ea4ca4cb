import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Consumer } from '../core/context.js';
import { auditHash, GENESIS_HASH } from './audit-chain.js';
import type {
  AuditEvent,
  NewAuditEvent,
  RevisionMeta,
  RevisionRecord,
  Store,
  StoredConsumer,
} from './store.js';

/** Schema migrations, applied in order; PRAGMA user_version records how many ran. */
const MIGRATIONS = [
  `CREATE TABLE revisions (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     hash TEXT NOT NULL,
     parent INTEGER,
     author TEXT NOT NULL,
     message TEXT NOT NULL,
     created_at TEXT NOT NULL,
     config TEXT NOT NULL
   );
   CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE consumers (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     groups TEXT NOT NULL,
     metadata TEXT NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE TABLE audit (
     id INTEGER PRIMARY KEY,
     ts TEXT NOT NULL,
     actor TEXT NOT NULL,
     action TEXT NOT NULL,
     target TEXT NOT NULL,
     before_hash TEXT,
     after_hash TEXT,
     detail TEXT NOT NULL,
     prev_hash TEXT NOT NULL,
     hash TEXT NOT NULL
   );`,
];

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
  hash: string;
}

export class SqliteStore implements Store {
  readonly db: Database.Database;

  constructor(
    file: string,
    private readonly now: () => number = Date.now,
  ) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
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

  async appendAudit(e: NewAuditEvent): Promise<AuditEvent> {
    return this.db
      .transaction(() => {
        const last = this.db.prepare('SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1').get() as
          | { id: number; hash: string }
          | undefined;
        const event: Omit<AuditEvent, 'hash'> = {
          id: (last?.id ?? 0) + 1,
          ts: this.iso(),
          actor: e.actor,
          action: e.action,
          target: e.target,
          beforeHash: e.beforeHash ?? null,
          afterHash: e.afterHash ?? null,
          detail: e.detail ?? {},
          prevHash: last?.hash ?? GENESIS_HASH,
        };
        const hash = auditHash(event);
        this.db
          .prepare(
            'INSERT INTO audit (id, ts, actor, action, target, before_hash, after_hash, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
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
            hash,
          );
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
      hash: r.hash,
    }));
  }

  async close(): Promise<void> {
    this.db.close();
  }
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
