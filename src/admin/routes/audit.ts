import { auditHash, GENESIS_HASH } from '../../store/audit-chain.js';
import type { AuditEvent, AuditStore } from '../../store/audit-store.js';
import { sendJson } from '../http.js';
import type { AdminModule } from '../server.js';
import { op } from './op-doc.js';

export type ChainReport =
  | { ok: true; events: number; head: { id: number; hash: string } | null }
  | { ok: false; events: number; id: number; reason: string };

/**
 * Walks the whole audit log in id order, a page at a time: every event must follow the previous
 * one (consecutive ids, `prevHash` = the previous `hash`) and match its own hash, and the last one
 * must be the head recorded beside the log (a deleted tail shows there).
 */
export async function verifyAudit(store: AuditStore, pageSize = 1000): Promise<ChainReport> {
  let prev = GENESIS_HASH;
  let lastId = 0;
  let count = 0;
  for (;;) {
    const page = await store.listAudit({ afterId: lastId, limit: pageSize });
    for (const e of page) {
      const broken = check(e, lastId, prev);
      if (broken) return { ok: false, events: count, id: e.id, reason: broken };
      prev = e.hash;
      lastId = e.id;
      count++;
    }
    if (page.length < pageSize) break;
  }
  const head = await store.auditHead();
  if (head && (head.id !== lastId || head.hash !== (count ? prev : head.hash)))
    return {
      ok: false,
      events: count,
      id: head.id,
      reason:
        head.id === lastId + 1
          ? `event ${head.id} is missing (the log ends before its recorded head)`
          : head.id > lastId
            ? `events ${lastId + 1} to ${head.id} are missing (the log ends before its recorded head)`
            : 'the last event is not the recorded head',
    };
  return { ok: true, events: count, head: count ? { id: lastId, hash: prev } : null };
}

function check(e: AuditEvent, lastId: number, prev: string): string | undefined {
  if (e.id !== lastId + 1) return `gap: event ${lastId + 1} is missing`;
  if (e.prevHash !== prev) return 'prevHash does not match the previous event';
  if (auditHash(e) !== e.hash) return 'event content does not match its hash';
  return undefined;
}

/** Audit verification and export. The event list itself is `GET /audit` (server.ts). */
export const auditRoutes: AdminModule = (route, deps) => {
  route(
    'GET',
    '/audit/verify',
    async (_q, res) => {
      const r = await verifyAudit(deps.store);
      sendJson(res, r.ok ? 200 : 409, r);
    },
    false,
    op('Walk the hash chain of the audit log', {
      ok: { '200': 'Intact: `{ok: true, events, head}`', '409': 'Broken: `{ok: false, events, id, reason}`' },
    }),
  );

  route(
    'GET',
    '/audit/export',
    async (_q, res, _p, query) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
      let after = Number(query.get('after') ?? 0) || 0;
      for (;;) {
        const page = await deps.store.listAudit({ afterId: after, limit: 1000 });
        if (page.length === 0) break;
        const ok = res.write(page.map((e) => `${JSON.stringify(e)}\n`).join(''));
        after = page[page.length - 1].id;
        if (!ok) await new Promise((r) => res.once('drain', r));
        if (page.length < 1000) break;
      }
      res.end();
    },
    false,
    op('Every audit event as JSON lines, oldest first', {
      ok: { '200': 'One event per line' },
      query: { after: 'Only events after this id.' },
      type: 'application/x-ndjson',
    }),
  );
};
