import { createHmac } from 'node:crypto';
import { canonicalJson, sha256 } from '../lib/canonical.js';
import type { AuditKeyRing } from './audit-keys.js';
import type { AuditEvent } from './store.js';

export const GENESIS_HASH = '0'.repeat(64);

/**
 * The hash of an audit event: covers every field and the previous event's hash. An unkeyed event
 * (`keyId` null, as every event was before keys) is a plain SHA-256, which anyone who can write
 * the store can recompute; a keyed one is an HMAC-SHA256 with the key named by `keyId`, which
 * needs the secret.
 */
export function auditHash(e: Omit<AuditEvent, 'hash'>, secret?: Buffer): string {
  const fields = {
    id: e.id,
    ts: e.ts,
    actor: e.actor,
    action: e.action,
    target: e.target,
    beforeHash: e.beforeHash,
    afterHash: e.afterHash,
    detail: e.detail,
    prevHash: e.prevHash,
  };
  if (e.keyId == null) return sha256(canonicalJson(fields));
  if (!secret) throw new Error(`audit event ${e.id} is keyed (${e.keyId}): its hash needs the key`);
  return createHmac('sha256', secret)
    .update(canonicalJson({ ...fields, keyId: e.keyId }))
    .digest('hex');
}

export interface ChainOptions {
  /** Keys to check keyed events with; without them a keyed event cannot be verified (fails). */
  keys?: AuditKeyRing;
  /** A head recorded earlier, outside the store: the chain must hold event `id` with this `hash`. */
  expectHead?: { id: number; hash: string };
  /** Fail on any unkeyed event (for a chain keyed from its first event). */
  requireKeyed?: boolean;
}

export type ChainReport =
  | {
      ok: true;
      events: number;
      head: { id: number; hash: string } | null;
      /** The keyed range (events keyed are always a tail of the chain), or null if none is. */
      keyed: { from: number; to: number; keyIds: string[] } | null;
      /** Events hashed without a key: tamper-evident only against edits that skip recomputing. */
      unkeyed: number;
    }
  | { ok: false; events: number; id: number; reason: string };

/** Parses `ID:HASH` (a full 64-hex hash), or returns undefined. */
export function parseHead(text: string): { id: number; hash: string } | undefined {
  const m = /^([1-9][0-9]{0,15}):([0-9a-f]{64})$/.exec(text.trim());
  return m ? { id: Number(m[1]), hash: m[2] } : undefined;
}

/**
 * Walks events in id order, one at a time (so a caller can page through a large log): every
 * event must follow the previous one (consecutive ids, `prevHash` = the previous `hash`) and
 * match its own hash; once one event is keyed, every later one must be keyed too (no downgrade).
 */
export class ChainWalker {
  private prev = GENESIS_HASH;
  private lastId = 0;
  private count = 0;
  private keyedFrom: number | undefined;
  private readonly keyIds = new Set<string>();
  private pinnedHash: string | undefined;
  private broken: { id: number; reason: string } | undefined;
  private readonly secrets: Map<string, Buffer>;

  constructor(private readonly opts: ChainOptions = {}) {
    this.secrets = new Map((opts.keys ?? []).map((k) => [k.id, k.secret]));
  }

  /** Checks the next event; false once the chain is broken (later events are not looked at). */
  push(e: AuditEvent): boolean {
    if (this.broken) return false;
    const reason = this.check(e);
    if (reason) {
      this.broken = { id: e.id, reason };
      return false;
    }
    if (e.keyId != null) {
      this.keyedFrom ??= e.id;
      this.keyIds.add(e.keyId);
    }
    if (e.id === this.opts.expectHead?.id) this.pinnedHash = e.hash;
    this.prev = e.hash;
    this.lastId = e.id;
    this.count++;
    return true;
  }

  /** The verdict; `recorded` is the head stored beside the log (a deleted tail shows there). */
  finish(recorded?: { id: number; hash: string }): ChainReport {
    const { lastId, count } = this;
    const fail = (id: number, reason: string) => ({ ok: false as const, events: count, id, reason });
    if (this.broken) return { ok: false, events: count, ...this.broken };
    if (recorded && (recorded.id !== lastId || (count > 0 && recorded.hash !== this.prev)))
      return fail(
        recorded.id,
        recorded.id === lastId + 1
          ? `event ${recorded.id} is missing (the log ends before its recorded head)`
          : recorded.id > lastId
            ? `events ${lastId + 1} to ${recorded.id} are missing (the log ends before its recorded head)`
            : 'the last event is not the recorded head',
      );
    const pin = this.opts.expectHead;
    if (pin && pin.id > lastId)
      return fail(
        pin.id,
        `the chain ends at event ${lastId}, before the expected head ${pin.id}: events were removed`,
      );
    if (pin && this.pinnedHash !== pin.hash)
      return fail(pin.id, `event ${pin.id} does not have the expected head hash: the chain was rewritten`);
    return {
      ok: true,
      events: count,
      head: count ? { id: lastId, hash: this.prev } : null,
      keyed:
        this.keyedFrom === undefined ? null : { from: this.keyedFrom, to: lastId, keyIds: [...this.keyIds] },
      unkeyed: this.keyedFrom === undefined ? count : this.keyedFrom - 1,
    };
  }

  private check(e: AuditEvent): string | undefined {
    if (e.id !== this.lastId + 1) return `gap: event ${this.lastId + 1} is missing`;
    if (e.prevHash !== this.prev) return 'prevHash does not match the previous event';
    if (e.keyId == null) {
      if (this.keyedFrom !== undefined)
        return `event is unkeyed after keyed events (from ${this.keyedFrom}): a key was stripped`;
      if (this.opts.requireKeyed) return 'event is unkeyed, and every event must be keyed';
      return auditHash(e) === e.hash ? undefined : 'event content does not match its hash';
    }
    const secret = this.secrets.get(e.keyId);
    if (!secret)
      return this.secrets.size === 0
        ? `event is keyed (key ${e.keyId}) and no audit key was given to verify it`
        : `event is keyed with key ${e.keyId}, not a given key (${[...this.secrets.keys()].join(', ')}): the wrong key, or a chain recomputed with another key`;
    return auditHash(e, secret) === e.hash
      ? undefined
      : 'event content does not match its keyed hash (edited, or recomputed without the key)';
  }
}

/** Walks a whole list of events (see ChainWalker); returns the first event that breaks the chain. */
export function verifyChain(
  events: readonly AuditEvent[],
  opts: ChainOptions = {},
): { ok: true } | { ok: false; id: number; reason: string } {
  const w = new ChainWalker(opts);
  for (const e of events) if (!w.push(e)) break;
  const r = w.finish();
  return r.ok ? { ok: true } : { ok: false, id: r.id, reason: r.reason };
}
