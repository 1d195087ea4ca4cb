import type { Config } from '../config/schema.js';
import type { Consumer } from '../core/context.js';
import type { RequestLogQuery, RequestLogRecord, StoredRequestLog } from '../reqlog/types.js';
import type { AuditKeyRing } from './audit-keys.js';

export interface RevisionMeta {
  id: number;
  hash: string;
  parent: number | null;
  author: string;
  message: string;
  createdAt: string;
}

export interface RevisionRecord extends RevisionMeta {
  config: Config;
}

export interface AuditEvent {
  id: number;
  ts: string;
  actor: string;
  action: string;
  target: string;
  beforeHash: string | null;
  afterHash: string | null;
  detail: Record<string, unknown>;
  prevHash: string;
  /** The audit key that HMACs `hash` (see audit-keys.ts), or null: a plain SHA-256 chain link. */
  keyId: string | null;
  hash: string;
}

export type NewAuditEvent = Pick<AuditEvent, 'actor' | 'action' | 'target'> &
  Partial<Pick<AuditEvent, 'beforeHash' | 'afterHash' | 'detail'>>;

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

/**
 * Where revisions, consumers and the audit log live. SQLite is the embedded default; the
 * interface is asynchronous so that a networked store can implement it too.
 */
export interface Store {
  insertRevision(r: Omit<RevisionRecord, 'id'>): Promise<number>;
  getRevision(id: number): Promise<RevisionRecord | undefined>;
  listRevisions(opts?: { limit?: number; beforeId?: number }): Promise<RevisionMeta[]>;
  getActiveRevisionId(): Promise<number | undefined>;
  setActiveRevisionId(id: number): Promise<void>;

  listConsumers(opts?: { limit?: number; offset?: number }): Promise<StoredConsumer[]>;
  getConsumer(name: string): Promise<StoredConsumer | undefined>;
  /** Inserts or replaces by name; returns the stored consumer and whether it was created. */
  upsertConsumer(
    c: Omit<Consumer, 'id'> & { id?: string },
  ): Promise<{ consumer: StoredConsumer; created: boolean }>;
  deleteConsumer(name: string): Promise<boolean>;

  /** Appends to the hash-chained audit log (HMACed with the first key set, if any). */
  appendAudit(e: NewAuditEvent): Promise<AuditEvent>;
  /** Keys the chain from the next event on. The secrets stay in memory: only key ids are stored. */
  setAuditKeys(keys: AuditKeyRing): void;
  /** Called after each event is appended (the audit log line, external sinks); must not throw. */
  onAudit(listener: (e: AuditEvent) => void): void;
  listAudit(opts?: { limit?: number; afterId?: number }): Promise<AuditEvent[]>;
  /** A small named value beside the data (`canary`: the running canary, to close it after a restart). */
  getState(key: string): Promise<string | undefined>;
  /** Sets a named value; `null` deletes it. */
  setState(key: string, value: string | null): Promise<void>;

  /** The last event appended, as recorded beside the log (detects a deleted tail). */
  auditHead(): Promise<{ id: number; hash: string } | undefined>;

  /** Named admins of the admin API (the bootstrap `root` is not stored). */
  insertAdmin(a: StoredAdmin): Promise<void>;
  getAdminByTokenHash(tokenHash: string): Promise<StoredAdmin | undefined>;
  listAdmins(): Promise<StoredAdmin[]>;
  deleteAdmin(name: string): Promise<boolean>;
  /** Activates a pending admin; false when there is no such pending admin. */
  confirmAdmin(name: string, by: string, at: string): Promise<boolean>;

  insertProposal(p: Omit<Proposal, 'id'>): Promise<Proposal>;
  getProposal(id: number): Promise<Proposal | undefined>;
  listProposals(opts?: { status?: string; limit?: number }): Promise<Proposal[]>;
  /** Updates the decision fields; `from` guards against a concurrent decision. */
  updateProposal(id: number, from: readonly string[], change: Partial<Proposal>): Promise<boolean>;

  insertCredential(c: NewCredential): Promise<Credential>;
  /** Active (not revoked) credentials of a kind with this lookup value; expiry is the caller's check. */
  findCredentials(kind: string, lookup: string): Promise<Credential[]>;
  listCredentials(q?: CredentialQuery): Promise<Credential[]>;
  getCredential(id: string): Promise<Credential | undefined>;
  revokeCredential(id: string): Promise<boolean>;

  /** Appends AI usage records (one transaction per batch). */
  insertAiUsage(records: readonly AiUsageRecord[]): Promise<void>;
  /** Sums of AI usage grouped by consumer, model, provider and/or day. */
  aiUsageSummary(q: AiUsageQuery): Promise<AiUsageRow[]>;
  /** The latest AI usage records, newest first. */
  listAiUsage(q: AiUsageQuery & { limit?: number }): Promise<AiUsageRecord[]>;

  /** Appends request-log records (one transaction per batch). */
  insertRequestLog(records: readonly RequestLogRecord[]): Promise<void>;
  /** Request-log records matching a query (a time range, a route, a consumer), by id. */
  queryRequestLog(q: RequestLogQuery): Promise<StoredRequestLog[]>;
  countRequestLog(q: RequestLogQuery): Promise<number>;
  /** Deletes records older than `before` (epoch ms) and beyond the newest `maxRows`. */
  pruneRequestLog(opts: { before?: number; maxRows?: number }): Promise<number>;

  close(): Promise<void>;
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

/** `approved`: for the moment of its activation (one approval wins a race of two). */
export type ProposalStatus = 'pending' | 'approved' | 'scheduled' | 'applied' | 'rejected' | 'failed';

/** A proposed revision waiting for an approval (four-eyes), possibly scheduled. */
export interface Proposal {
  id: number;
  createdAt: string;
  author: string;
  message: string;
  config: unknown;
  /** The live revision's hash when proposed: applying over another base is refused. */
  baseHash: string | null;
  /** The candidate revision's hash. */
  hash: string;
  status: ProposalStatus;
  /** ISO time at which an approved proposal activates; null: at approval. */
  activateAt: string | null;
  decidedBy: string | null;
  decidedAt: string | null;
  /** Why it was rejected, or why the activation failed. */
  reason: string | null;
  revisionId: number | null;
  /** Activate as a canary (the `POST /canary` fields without `config`) instead of an apply. */
  canary: Record<string, unknown> | null;
}

/** One AI call: who, which model, how many tokens, what it cost, how fast. */
export interface AiUsageRecord {
  ts: number;
  requestId: string;
  consumer: string;
  route: string;
  /** The alias the caller asked for. */
  model: string;
  provider: string;
  providerModel: string;
  inputTokens: number;
  outputTokens: number;
  cost: number;
  latencyMs: number;
  /** Time to first streamed byte of the answer; null for non-streamed calls. */
  ttftMs: number | null;
  status: number;
  stream: boolean;
  cached: boolean;
  /** True when the provider reported no usage and tokens were counted by the gateway. */
  estimated: boolean;
}

export type AiUsageGroup = 'consumer' | 'model' | 'provider' | 'day';

export interface AiUsageQuery {
  groupBy?: readonly AiUsageGroup[];
  /** Inclusive UTC days, `YYYY-MM-DD`. */
  from?: string;
  to?: string;
  consumer?: string;
  model?: string;
}

export interface AiUsageRow {
  consumer?: string;
  model?: string;
  provider?: string;
  day?: string;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cost: number;
}
