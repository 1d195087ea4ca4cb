import type { Config } from '../config/schema.js';

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

/**
 * The config lifecycle: immutable revisions, the pointer to the active one, the named lifecycle
 * state beside them (the running canary) and the proposals waiting for a second admin. Revisions
 * are append-only; ids grow with every insert.
 */
export interface RevisionStore {
  insertRevision(r: Omit<RevisionRecord, 'id'>): Promise<number>;
  getRevision(id: number): Promise<RevisionRecord | undefined>;
  /** Newest first. */
  listRevisions(opts?: { limit?: number; beforeId?: number }): Promise<RevisionMeta[]>;
  getActiveRevisionId(): Promise<number | undefined>;
  setActiveRevisionId(id: number): Promise<void>;

  /** A small named value beside the data (`canary`: the running canary, to close it after a restart). */
  getState(key: string): Promise<string | undefined>;
  /** Sets a named value; `null` deletes it. */
  setState(key: string, value: string | null): Promise<void>;

  insertProposal(p: Omit<Proposal, 'id'>): Promise<Proposal>;
  getProposal(id: number): Promise<Proposal | undefined>;
  /** Newest first. */
  listProposals(opts?: { status?: string; limit?: number }): Promise<Proposal[]>;
  /** Updates the decision fields; `from` guards against a concurrent decision. */
  updateProposal(id: number, from: readonly string[], change: Partial<Proposal>): Promise<boolean>;
}
