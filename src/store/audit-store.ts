import type { AuditKeyRing } from './audit-keys.js';

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

/**
 * The tamper-evident audit log: an append-only hash chain (`store/audit-chain.ts`) with its head
 * recorded beside it, so `verifyAudit` can detect an edited, removed or truncated event. An event
 * that leaves `beforeHash`/`afterHash` out records the active revision's hash in both.
 */
export interface AuditStore {
  /**
   * Appends to the hash-chained audit log: ids are consecutive from 1, each links the previous
   * (HMACed with the first key set, if any).
   */
  appendAudit(e: NewAuditEvent): Promise<AuditEvent>;
  /** Keys the chain from the next event on. The secrets stay in memory: only key ids are stored. */
  setAuditKeys(keys: AuditKeyRing): void;
  /** Called after each event is appended (the audit log line, external sinks); must not throw. */
  onAudit(listener: (e: AuditEvent) => void): void;
  /** Oldest first. */
  listAudit(opts?: { limit?: number; afterId?: number }): Promise<AuditEvent[]>;
  /** The last event appended, as recorded beside the log (detects a deleted tail). */
  auditHead(): Promise<{ id: number; hash: string } | undefined>;
}
