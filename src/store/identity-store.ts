/** A consumer of the gateway's APIs: data in the store (audited, not revisioned). */
export interface Consumer {
  id: string;
  name: string;
  groups: string[];
  metadata: Record<string, unknown>;
}

export interface StoredConsumer extends Consumer {
  createdAt: string;
  updatedAt: string;
}

/**
 * A credential of a consumer: an API key, a basic-auth password, an HMAC secret, an mTLS
 * subject. `lookup` is what a request presents to find it (a key's public prefix, a username, a
 * key id, a certificate fingerprint); `secret` is what proves it, stored in the form the kind
 * needs (a hash for keys and passwords). Credentials are data: audited, not revisioned.
 */
export interface Credential {
  id: string;
  consumer: string;
  kind: string;
  lookup: string;
  secret: string;
  label: string;
  metadata: Record<string, unknown>;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

export type NewCredential = Pick<Credential, 'consumer' | 'kind' | 'lookup' | 'secret'> &
  Partial<Pick<Credential, 'id' | 'label' | 'metadata' | 'expiresAt'>>;

export interface CredentialQuery {
  consumer?: string;
  kind?: string;
  lookupPrefix?: string;
  includeRevoked?: boolean;
  limit?: number;
}

export interface StoredAdmin {
  name: string;
  role: 'admin' | 'viewer';
  /** SHA-256 (hex) of the admin's token; the token itself is shown once and not kept. */
  tokenHash: string;
  createdAt: string;
  createdBy: string;
  /** `pending`: waits for a second admin's confirmation; its token is refused until then. */
  status?: 'active' | 'pending';
  confirmedBy?: string | null;
  confirmedAt?: string | null;
}

/**
 * Who may call: consumers and their credentials (the data plane's identities) and the named
 * admins of the admin API (the control plane's). Deleting a consumer deletes its credentials.
 */
export interface IdentityStore {
  /** By name. */
  listConsumers(opts?: { limit?: number; offset?: number }): Promise<StoredConsumer[]>;
  getConsumer(name: string): Promise<StoredConsumer | undefined>;
  /** Inserts or replaces by name; returns the stored consumer and whether it was created. */
  upsertConsumer(
    c: Omit<Consumer, 'id'> & { id?: string },
  ): Promise<{ consumer: StoredConsumer; created: boolean }>;
  deleteConsumer(name: string): Promise<boolean>;

  insertCredential(c: NewCredential): Promise<Credential>;
  /** Active (not revoked) credentials of a kind with this lookup value; expiry is the caller's check. */
  findCredentials(kind: string, lookup: string): Promise<Credential[]>;
  /** Oldest first. */
  listCredentials(q?: CredentialQuery): Promise<Credential[]>;
  getCredential(id: string): Promise<Credential | undefined>;
  /** False when there is no such credential or it was already revoked. */
  revokeCredential(id: string): Promise<boolean>;

  /** Named admins of the admin API (the bootstrap `root` is not stored). */
  insertAdmin(a: StoredAdmin): Promise<void>;
  getAdminByTokenHash(tokenHash: string): Promise<StoredAdmin | undefined>;
  /** By name. */
  listAdmins(): Promise<StoredAdmin[]>;
  deleteAdmin(name: string): Promise<boolean>;
  /** Activates a pending admin; false when there is no such pending admin. */
  confirmAdmin(name: string, by: string, at: string): Promise<boolean>;
}
