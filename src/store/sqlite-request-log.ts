import type Database from 'better-sqlite3';
import * as requestLog from '../reqlog/sqlite.js';
import type { RequestLogQuery, RequestLogRecord, StoredRequestLog } from '../reqlog/types.js';
import type { AiUsageQuery, AiUsageRecord, AiUsageRow, RequestLogStore } from './request-log-store.js';
import { openSqlite } from './sqlite-db.js';

/**
 * The request log and AI usage on a connection of their own (the same file as the config
 * database, a second better-sqlite3 handle): their batched inserts never run inside, or wait
 * behind, a transaction of the config and audit connection in this process; SQLite's WAL
 * serialises the writers with `busy_timeout`.
 */
export class SqliteRequestLogStore implements RequestLogStore {
  readonly db: Database.Database;

  constructor(file: string) {
    this.db = openSqlite(file);
  }

  async insertAiUsage(records: readonly AiUsageRecord[]): Promise<void> {
    const st = this.db.prepare(
      `INSERT INTO ai_usage (ts, day, request_id, consumer, route, model, provider, provider_model, input_tokens,
         output_tokens, cost, latency_ms, ttft_ms, status, stream, cached, estimated)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.db.transaction(() => {
      for (const r of records)
        st.run(
          r.ts,
          new Date(r.ts).toISOString().slice(0, 10),
          r.requestId,
          r.consumer,
          r.route,
          r.model,
          r.provider,
          r.providerModel,
          r.inputTokens,
          r.outputTokens,
          r.cost,
          r.latencyMs,
          r.ttftMs,
          r.status,
          r.stream ? 1 : 0,
          r.cached ? 1 : 0,
          r.estimated ? 1 : 0,
        );
    })();
  }

  private aiWhere(q: AiUsageQuery): { sql: string; args: string[] } {
    const w: string[] = [];
    const args: string[] = [];
    if (q.from) w.push('day >= ?') && args.push(q.from);
    if (q.to) w.push('day <= ?') && args.push(q.to);
    if (q.consumer) w.push('consumer = ?') && args.push(q.consumer);
    if (q.model) w.push('model = ?') && args.push(q.model);
    return { sql: w.length ? `WHERE ${w.join(' AND ')}` : '', args };
  }

  async aiUsageSummary(q: AiUsageQuery): Promise<AiUsageRow[]> {
    const cols = (q.groupBy ?? []).filter((g) => ['consumer', 'model', 'provider', 'day'].includes(g));
    const where = this.aiWhere(q);
    const sel = cols.length ? `${cols.join(', ')}, ` : '';
    const group = cols.length ? `GROUP BY ${cols.join(', ')} ORDER BY ${cols.join(', ')}` : '';
    const rows = this.db
      .prepare(
        `SELECT ${sel}COUNT(*) AS requests, SUM(input_tokens) AS inputTokens, SUM(output_tokens) AS outputTokens,
           SUM(cost) AS cost FROM ai_usage ${where.sql} ${group}`,
      )
      .all(...where.args) as AiUsageRow[];
    return rows
      .filter((r) => r.requests > 0)
      .map((r) => ({
        ...r,
        inputTokens: r.inputTokens ?? 0,
        outputTokens: r.outputTokens ?? 0,
        cost: r.cost ?? 0,
      }));
  }

  async listAiUsage(q: AiUsageQuery & { limit?: number }): Promise<AiUsageRecord[]> {
    const where = this.aiWhere(q);
    const rows = this.db
      .prepare(`SELECT * FROM ai_usage ${where.sql} ORDER BY id DESC LIMIT ?`)
      .all(...where.args, q.limit ?? 100) as Record<string, number | string | null>[];
    return rows.map((r) => ({
      ts: r.ts as number,
      requestId: r.request_id as string,
      consumer: r.consumer as string,
      route: r.route as string,
      model: r.model as string,
      provider: r.provider as string,
      providerModel: r.provider_model as string,
      inputTokens: r.input_tokens as number,
      outputTokens: r.output_tokens as number,
      cost: r.cost as number,
      latencyMs: r.latency_ms as number,
      ttftMs: r.ttft_ms as number | null,
      status: r.status as number,
      stream: r.stream === 1,
      cached: r.cached === 1,
      estimated: r.estimated === 1,
    }));
  }

  async insertRequestLog(records: readonly RequestLogRecord[]): Promise<void> {
    requestLog.insertRequestLog(this.db, records);
  }

  async queryRequestLog(q: RequestLogQuery): Promise<StoredRequestLog[]> {
    return requestLog.queryRequestLog(this.db, q);
  }

  async countRequestLog(q: RequestLogQuery): Promise<number> {
    return requestLog.countRequestLog(this.db, q);
  }

  async pruneRequestLog(opts: { before?: number; maxRows?: number }): Promise<number> {
    return requestLog.pruneRequestLog(this.db, opts);
  }

  close(): void {
    this.db.close();
  }
}
