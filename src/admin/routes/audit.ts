import { type ChainOptions, type ChainReport, ChainWalker, parseHead } from '../../store/audit-chain.js';
import type { AuditStore } from '../../store/audit-store.js';
import { AdminError, sendJson } from '../http.js';
import type { AdminModule } from '../server.js';
import { op } from './op-doc.js';

export type { ChainReport };

/**
 * Walks the whole audit log in id order, a page at a time (ChainWalker says what is checked),
 * and the last event must be the head recorded beside the log (a deleted tail shows there).
 */
export async function verifyAudit(
  store: AuditStore,
  opts: ChainOptions & { pageSize?: number } = {},
): Promise<ChainReport> {
  const pageSize = opts.pageSize ?? 1000;
  const walker = new ChainWalker(opts);
  let after = 0;
  for (;;) {
    const page = await store.listAudit({ afterId: after, limit: pageSize });
    for (const e of page) if (!walker.push(e)) return walker.finish();
    if (page.length < pageSize) break;
    after = page[page.length - 1].id;
  }
  return walker.finish(await store.auditHead());
}

/** `expect_head` and `require_keyed` of `GET /audit/verify`; a malformed head is a 400. */
function verifyOptions(query: URLSearchParams): ChainOptions {
  const raw = query.get('expect_head');
  const expectHead = raw === null ? undefined : parseHead(raw);
  if (raw !== null && !expectHead)
    throw new AdminError(
      'PCS_ERR_ADMIN_BAD_INPUT',
      'expect_head must be ID:HASH (an event id and its 64-hex hash)',
    );
  return { expectHead, requireKeyed: query.get('require_keyed') === 'true' };
}

/** The line that ends every export: the head recorded beside the log when the export began. */
export function headLine(head: { id: number; hash: string } | undefined): string {
  return `${JSON.stringify({ auditHead: head ? `${head.id}:${head.hash}` : null })}\n`;
}

/** Audit verification and export. The event list itself is `GET /audit` (server.ts). */
export const auditRoutes: AdminModule = (route, deps) => {
  route(
    'GET',
    '/audit/verify',
    async (_q, res, _p, query) => {
      const r = await verifyAudit(deps.store, { ...verifyOptions(query), keys: deps.auditKeys });
      sendJson(res, r.ok ? 200 : 409, r);
    },
    false,
    op('Walk the hash chain of the audit log, with the keys the gateway holds', {
      ok: {
        '200': 'Intact: `{ok: true, events, head, keyed, unkeyed}`',
        '409': 'Broken: `{ok: false, events, id, reason}`',
      },
      query: {
        expect_head: 'ID:HASH recorded earlier: fail unless event ID still has this hash.',
        require_keyed: '`true`: fail on any event hashed without a key.',
      },
    }),
  );

  route(
    'GET',
    '/audit/export',
    async (_q, res, _p, query) => {
      // Events up to the head as it is now, then the head itself: a later append does not race in.
      const head = await deps.store.auditHead();
      const last = head?.id ?? Number.MAX_SAFE_INTEGER;
      res.writeHead(200, {
        'content-type': 'application/x-ndjson',
        'cache-control': 'no-store',
        'x-portcullis-audit-head': head ? `${head.id}:${head.hash}` : '',
      });
      let after = Number(query.get('after') ?? 0) || 0;
      while (after < last) {
        const page = (await deps.store.listAudit({ afterId: after, limit: 1000 })).filter(
          (e) => e.id <= last,
        );
        if (page.length === 0) break;
        const ok = res.write(page.map((e) => `${JSON.stringify(e)}\n`).join(''));
        after = page[page.length - 1].id;
        if (!ok) await new Promise((r) => res.once('drain', r));
      }
      res.end(headLine(head));
    },
    false,
    op('Every audit event as JSON lines, oldest first, then the head', {
      ok: { '200': 'One event per line; the last line is `{"auditHead": "ID:HASH"}`' },
      query: { after: 'Only events after this id.' },
      type: 'application/x-ndjson',
    }),
  );
};
