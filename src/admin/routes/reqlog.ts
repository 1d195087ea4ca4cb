import { replayEnv } from '../../replay/env.js';
import { requestedRange } from './range.js';
import { AdminError, sendJson } from '../http.js';
import type { AdminModule } from '../server.js';
import { op } from './op-doc.js';

/**
 * `GET /request-log?since=1h&route=&consumer=&limit=100&before=ID`: the latest recorded
 * requests, newest first (page with `before`, the last id seen).
 */
export const requestLogModule: AdminModule = (route, deps) => {
  route(
    'GET',
    '/request-log',
    async (_req, res, _p, q) => {
      const range = requestedRange(deps.clock.now(), q, '1h');
      const limit = Math.min(1000, Math.max(1, Number(q.get('limit') ?? 100) || 100));
      const before = q.get('before');
      if (before !== null && !/^\d{1,15}$/.test(before))
        throw new AdminError('PCS_ERR_ADMIN_BAD_INPUT', 'before must be a record id');
      const recorder = replayEnv(deps.revisions)?.recorder;
      await recorder?.flush();
      const records = await deps.store.queryRequestLog({
        ...range,
        route: q.get('route') ?? undefined,
        consumer: q.get('consumer') ?? undefined,
        afterId: before === null ? undefined : Number(before),
        order: 'desc',
        limit,
      });
      sendJson(res, 200, {
        enabled: deps.revisions.current.config.gateway?.requestLog?.enabled === true,
        from: new Date(range.from).toISOString(),
        to: new Date(range.to).toISOString(),
        records,
      });
    },
    false,
    op('Recorded requests, newest first', {
      ok: { '200': '`{enabled, from, to, records}`' },
      errors: { '400': 'A malformed range or id' },
      query: {
        since: 'How far back (`90s`, `30m`, `1h`, `7d`; default 1h)',
        from: 'Start (ISO date or epoch ms), instead of since',
        to: 'End (default now)',
        route: 'Only this route',
        consumer: 'Only this consumer',
        limit: 'At most this many (1-1000, default 100)',
        before: 'Only records with an id below this (paging)',
      },
    }),
  );
};
