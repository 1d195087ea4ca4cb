import { parseSince } from './run.js';

/**
 * A time range from `since` (`1h`, `24h`, `7d`: back from now) or `from`/`to` (ISO dates or
 * epoch ms). Returns a message instead when the input is malformed.
 */
export function timeRange(
  now: number,
  q: { since?: string | null; from?: string | null; to?: string | null },
  dflt = '1h',
): { from: number; to: number } | string {
  const to = q.to ? instant(q.to) : now + 1;
  if (to === undefined) return `to: '${q.to}' is not an ISO date or epoch milliseconds`;
  if (q.from) {
    const from = instant(q.from);
    if (from === undefined) return `from: '${q.from}' is not an ISO date or epoch milliseconds`;
    return { from, to };
  }
  const since = q.since ?? dflt;
  const ms = parseSince(since);
  if (ms === undefined) return `since: '${since}' is not a duration like 90s, 30m, 24h or 7d`;
  return { from: now - ms, to };
}

function instant(v: string): number | undefined {
  if (/^\d{1,15}$/.test(v)) return Number(v);
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}
