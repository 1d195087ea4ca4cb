import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { IdentityStore, StoredAdmin } from '../store/identity-store.js';
import { type AdminToken, bearerToken } from './auth.js';

export type AdminRole = 'admin' | 'viewer';

/** Who made an admin request: the authenticated admin, never a header the caller chose. */
export interface AdminIdentity {
  name: string;
  role: AdminRole;
  /** Created under four-eyes and not yet confirmed by a second admin: every request is refused. */
  pending?: boolean;
}

/** The name of the admin that holds the start-up token. */
export const ROOT_ADMIN = 'root';

export const ADMIN_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/** Tokens of named admins: `pcs_adm_` and 32 random bytes. */
export function newAdminToken(): string {
  return `pcs_adm_${randomBytes(32).toString('base64url')}`;
}

export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * The admins of the admin API. The start-up token is the bootstrap admin `root` (role `admin`);
 * named admins each have their own token, kept only as its SHA-256 and shown once at creation.
 * `viewer` may read (GET) and nothing else; `admin` may do everything.
 */
export class AdminUsers {
  constructor(
    private readonly store: IdentityStore,
    private readonly root: AdminToken,
    private readonly clock: Clock,
  ) {}

  async authenticate(header: string | undefined): Promise<AdminIdentity | undefined> {
    const token = bearerToken(header);
    if (token === undefined) return undefined;
    if (this.root.check(header)) return { name: ROOT_ADMIN, role: 'admin' };
    if (!token.startsWith('pcs_adm_')) return undefined;
    // A lookup by the token's hash: the hash is what is stored, so no comparison leaks timing.
    const a = await this.store.getAdminByTokenHash(tokenHash(token));
    if (!a) return undefined;
    return a.status === 'pending'
      ? { name: a.name, role: a.role, pending: true }
      : { name: a.name, role: a.role };
  }

  /** Creates an admin (`pending`: until a second admin confirms it); returns its token, which is not kept. */
  async create(
    name: string,
    role: AdminRole,
    by: string,
    pending = false,
  ): Promise<{ admin: PublicAdmin; token: string }> {
    const token = newAdminToken();
    const rec: StoredAdmin = {
      name,
      role,
      tokenHash: tokenHash(token),
      createdAt: new Date(this.clock.now()).toISOString(),
      createdBy: by,
      status: pending ? 'pending' : 'active',
    };
    await this.store.insertAdmin(rec);
    return { admin: publicAdmin(rec), token };
  }

  async list(): Promise<PublicAdmin[]> {
    const stored = (await this.store.listAdmins()).map(publicAdmin);
    const root: PublicAdmin = {
      name: ROOT_ADMIN,
      role: 'admin',
      createdAt: null,
      createdBy: 'start-up token',
      status: 'active',
      confirmedBy: null,
    };
    return [root, ...stored];
  }

  /** Activates a pending admin; false when there is none of that name. */
  confirm(name: string, by: string): Promise<boolean> {
    return this.store.confirmAdmin(name, by, new Date(this.clock.now()).toISOString());
  }

  delete(name: string): Promise<boolean> {
    return this.store.deleteAdmin(name);
  }
}

export interface PublicAdmin {
  name: string;
  role: AdminRole;
  createdAt: string | null;
  createdBy: string;
  /** `pending`: created under four-eyes, waiting for a second admin (`POST /admins/:name/confirm`). */
  status: 'active' | 'pending';
  confirmedBy: string | null;
}

function publicAdmin(a: StoredAdmin): PublicAdmin {
  return {
    name: a.name,
    role: a.role,
    createdAt: a.createdAt,
    createdBy: a.createdBy,
    status: a.status ?? 'active',
    confirmedBy: a.confirmedBy ?? null,
  };
}
