import { timeRange } from '../../replay/range.js';
import { AdminError } from '../http.js';

/** A time range from `since` or `from`/`to` (query parameters or body fields); 400 when malformed. */
export function requestedRange(
  now: number,
  q: URLSearchParams | { since?: string | null; from?: string | null; to?: string | null },
  dflt: string,
): { from: number; to: number } {
  const fields =
    q instanceof URLSearchParams ? { since: q.get('since'), from: q.get('from'), to: q.get('to') } : q;
  const range = timeRange(now, fields, dflt);
  if (typeof range === 'string') throw new AdminError('PCS_ERR_ADMIN_BAD_INPUT', range);
  return range;
}
