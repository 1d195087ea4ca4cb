import type Database from 'better-sqlite3';
import type { Proposal, RevisionMeta, RevisionRecord, RevisionStore } from './revision-store.js';

interface RevisionRow {
  id: number;
  hash: string;
  parent: number | null;
  author: string;
  message: string;
  created_at: string;
  config?: string;
}

/** Revisions, the active pointer, lifecycle state and proposals in the config database. */
export class SqliteRevisionStore implements RevisionStore {
  constructor(private readonly db: Database.Database) {}

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
