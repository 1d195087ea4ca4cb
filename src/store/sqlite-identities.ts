import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import type {
  Consumer,
  Credential,
  CredentialQuery,
  IdentityStore,
  NewCredential,
  StoredAdmin,
  StoredConsumer,
} from './identity-store.js';
import { isoAt } from './sqlite-db.js';

interface ConsumerRow {
  id: string;
  name: string;
  groups: string;
  metadata: string;
  created_at: string;
  updated_at: string;
}

/** Consumers, credentials and admins in the config database. */
export class SqliteIdentityStore implements IdentityStore {
  constructor(
    private readonly db: Database.Database,
    private readonly now: () => number,
  ) {}

  private iso(): string {
    return isoAt(this.now);
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
