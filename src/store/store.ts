import type { AuditStore } from './audit-store.js';
import type { IdentityStore } from './identity-store.js';
import type { RequestLogStore } from './request-log-store.js';
import type { RevisionStore } from './revision-store.js';

export type { AuditEvent, AuditStore, NewAuditEvent } from './audit-store.js';
export type {
  Consumer,
  Credential,
  CredentialQuery,
  IdentityStore,
  NewCredential,
  StoredAdmin,
  StoredConsumer,
} from './identity-store.js';
export type {
  AiUsageGroup,
  AiUsageQuery,
  AiUsageRecord,
  AiUsageRow,
  RequestLogStore,
} from './request-log-store.js';
export type {
  Proposal,
  ProposalStatus,
  RevisionMeta,
  RevisionRecord,
  RevisionStore,
} from './revision-store.js';

/**
 * Everything the gateway persists, as the wiring holds it: the stores by concern side by side
 * (docs/architecture.md, "Stores"). Code that needs one concern takes that interface, not this.
 * SQLite is the embedded default; the interfaces are asynchronous so that a networked store can
 * implement them too.
 */
export type Store = RevisionStore &
  IdentityStore &
  AuditStore &
  RequestLogStore & {
    close(): Promise<void>;
  };
