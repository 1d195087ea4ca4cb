import type { Config } from '../config/schema.js';
import type { Consumer } from '../core/context.js';

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
  hash: string;
}

export type NewAuditEvent = Pick<AuditEvent, 'actor' | 'action' | 'target'> &
  Partial<Pick<AuditEvent, 'beforeHash' | 'afterHash' | 'detail'>>;

export interface StoredConsumer extends Consumer {
  createdAt: string;
  updatedAt: string;
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

  /** Appends to the hash-chained audit log. */
  appendAudit(e: NewAuditEvent): Promise<AuditEvent>;
  listAudit(opts?: { limit?: number; afterId?: number }): Promise<AuditEvent[]>;

  close(): Promise<void>;
}
