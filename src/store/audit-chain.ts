import { canonicalJson, sha256 } from '../core/canonical.js';
import type { AuditEvent } from './store.js';

export const GENESIS_HASH = '0'.repeat(64);

/** The hash of an audit event: covers every field and the previous event's hash. */
export function auditHash(e: Omit<AuditEvent, 'hash'>): string {
  return sha256(
    canonicalJson({
      id: e.id,
      ts: e.ts,
      actor: e.actor,
      action: e.action,
      target: e.target,
      beforeHash: e.beforeHash,
      afterHash: e.afterHash,
      detail: e.detail,
      prevHash: e.prevHash,
    }),
  );
}

/** Walks events in id order; returns the first event that breaks the chain, if any. */
export function verifyChain(
  events: readonly AuditEvent[],
): { ok: true } | { ok: false; id: number; reason: string } {
  let prev = GENESIS_HASH;
  let lastId = 0;
  for (const e of events) {
    if (e.id !== lastId + 1) return { ok: false, id: e.id, reason: `gap: event ${lastId + 1} is missing` };
    if (e.prevHash !== prev)
      return { ok: false, id: e.id, reason: 'prevHash does not match the previous event' };
    if (auditHash(e) !== e.hash)
      return { ok: false, id: e.id, reason: 'event content does not match its hash' };
    prev = e.hash;
    lastId = e.id;
  }
  return { ok: true };
}
