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
  /** Appends to the hash-chained audit log: ids are consecutive from 1, each links the previous. */
  appendAudit(e: NewAuditEvent): Promise<AuditEvent>;
  /** Oldest first. */
  listAudit(opts?: { limit?: number; afterId?: number }): Promise<AuditEvent[]>;
  /** The last event appended, as recorded beside the log (detects a deleted tail). */
  auditHead(): Promise<{ id: number; hash: string } | undefined>;
}
