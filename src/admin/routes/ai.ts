import { flushUsage } from '../../ai/usage.js';
import type { AiUsageGroup } from '../../store/store.js';
import type { AdminModule } from '../server.js';
import { AdminError, sendJson } from '../http.js';

const GROUPS = new Set<AiUsageGroup>(['consumer', 'model', 'provider', 'day']);
const DAY = /^\d{4}-\d{2}-\d{2}$/;

function query(q: URLSearchParams) {
  const groupBy = (q.get('groupBy') ?? '').split(',').filter(Boolean) as AiUsageGroup[];
  for (const g of groupBy)
    if (!GROUPS.has(g)) throw new AdminError('PCS_ERR_ADMIN_BAD_INPUT', `groupBy: unknown '${g}'`);
  const from = q.get('from') ?? undefined;
  const to = q.get('to') ?? undefined;
  for (const d of [from, to])
    if (d !== undefined && !DAY.test(d))
      throw new AdminError('PCS_ERR_ADMIN_BAD_INPUT', 'from/to must be YYYY-MM-DD');
  return { groupBy, from, to, consumer: q.get('consumer') ?? undefined, model: q.get('model') ?? undefined };
}

/**
 * AI usage and cost: `GET /ai/usage?groupBy=consumer,model,day&from=&to=&consumer=&model=` sums
 * requests, tokens and cost; `GET /ai/usage/records?limit=` lists the latest calls.
 */
export const aiAdmin: AdminModule = (route, deps) => {
  route('GET', '/ai/usage', async (_req, res, _p, q) => {
    const where = query(q);
    await flushUsage(deps.store);
    sendJson(res, 200, { groupBy: where.groupBy, rows: await deps.store.aiUsageSummary(where) });
  });
  route('GET', '/ai/usage/records', async (_req, res, _p, q) => {
    const where = query(q);
    const limit = Math.min(1000, Math.max(1, Number(q.get('limit') ?? 100) || 100));
    await flushUsage(deps.store);
    sendJson(res, 200, { records: await deps.store.listAiUsage({ ...where, limit }) });
  });
};
