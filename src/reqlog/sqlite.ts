import type Database from 'better-sqlite3';
import type { RequestLogQuery, RequestLogRecord, StoredRequestLog } from './types.js';

/** The request log in SQLite: the table is created by the `request_log` migration. */

interface Row {
  id: number;
  ts: number;
  request_id: string;
  method: string;
  host: string;
  path: string;
  query: string;
  route: string | null;
  service: string | null;
  headers: string;
  client_ip: string;
  consumer: string | null;
  identity: string | null;
  status: number;
  latency_ms: number;
  revision: number | null;
  decisions: string;
  body: string | null;
  body_bytes: number | null;
  body_truncated: number;
  error: string | null;
}

const inserts = new WeakMap<Database.Database, Database.Statement>();

export function insertRequestLog(db: Database.Database, records: readonly RequestLogRecord[]): void {
  let st = inserts.get(db);
  if (!st) {
    st = db.prepare(
      `INSERT INTO request_log (ts, request_id, method, host, path, query, route, service, headers, client_ip,
         consumer, identity, status, latency_ms, revision, decisions, would_deny, body, body_bytes, body_truncated, error)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    inserts.set(db, st);
  }
  const s = st;
  db.transaction(() => {
    for (const r of records)
      s.run(
        r.ts,
        r.requestId,
        r.method,
        r.host,
        r.path,
        r.query,
        r.route,
        r.service,
        JSON.stringify(r.headers),
        r.clientIp,
        r.consumer,
        r.identity ? JSON.stringify(r.identity) : null,
        r.status,
        r.latencyMs,
        r.revision,
        JSON.stringify(r.decisions),
        r.decisions.some((d) => d.outcome === 'would_deny') ? 1 : 0,
        r.body,
        r.bodyBytes,
        r.bodyTruncated ? 1 : 0,
        r.error,
      );
  })();
}

function where(q: RequestLogQuery): { sql: string; args: (string | number)[] } {
  const w: string[] = [];
  const args: (string | number)[] = [];
  if (q.from !== undefined) w.push('ts >= ?') && args.push(q.from);
  if (q.to !== undefined) w.push('ts < ?') && args.push(q.to);
  if (q.route) w.push('route = ?') && args.push(q.route);
  if (q.consumer) w.push('consumer = ?') && args.push(q.consumer);
  if (q.wouldDeny) w.push('would_deny = 1');
  if (q.afterId !== undefined) w.push(q.order === 'desc' ? 'id < ?' : 'id > ?') && args.push(q.afterId);
  return { sql: w.length ? `WHERE ${w.join(' AND ')}` : '', args };
}

export function queryRequestLog(db: Database.Database, q: RequestLogQuery): StoredRequestLog[] {
  const w = where(q);
  const order = q.order === 'desc' ? 'DESC' : 'ASC';
  const rows = db
    .prepare(`SELECT * FROM request_log ${w.sql} ORDER BY id ${order} LIMIT ?`)
    .all(...w.args, q.limit ?? 1000) as Row[];
  return rows.map(record);
}

export function countRequestLog(db: Database.Database, q: RequestLogQuery): number {
  const w = where({ ...q, afterId: undefined });
  return (db.prepare(`SELECT COUNT(*) AS n FROM request_log ${w.sql}`).get(...w.args) as { n: number }).n;
}

/** Deletes records received before `before` and all but the newest `maxRows`; returns how many. */
export function pruneRequestLog(db: Database.Database, opts: { before?: number; maxRows?: number }): number {
  let n = 0;
  if (opts.before !== undefined)
    n += db.prepare('DELETE FROM request_log WHERE ts < ?').run(opts.before).changes;
  if (opts.maxRows) {
    const edge = db
      .prepare('SELECT id FROM request_log ORDER BY id DESC LIMIT 1 OFFSET ?')
      .get(opts.maxRows) as { id: number } | undefined;
    if (edge) n += db.prepare('DELETE FROM request_log WHERE id <= ?').run(edge.id).changes;
  }
  return n;
}

function record(r: Row): StoredRequestLog {
  return {
    id: r.id,
    ts: r.ts,
    requestId: r.request_id,
    method: r.method,
    host: r.host,
    path: r.path,
    query: r.query,
    route: r.route,
    service: r.service,
    headers: JSON.parse(r.headers),
    clientIp: r.client_ip,
    consumer: r.consumer,
    identity: r.identity ? JSON.parse(r.identity) : null,
    status: r.status,
    latencyMs: r.latency_ms,
    revision: r.revision,
    decisions: JSON.parse(r.decisions),
    body: r.body,
    bodyBytes: r.body_bytes,
    bodyTruncated: r.body_truncated === 1,
    error: r.error,
  };
}
