import type { RequestLogQuery, RequestLogRecord, StoredRequestLog } from '../reqlog/types.js';

/** One AI call: who, which model, how many tokens, what it cost, how fast. */
export interface AiUsageRecord {
  ts: number;
  requestId: string;
  consumer: string;
  route: string;
  /** The alias the caller asked for. */
  model: string;
  provider: string;
  providerModel: string;
  inputTokens: number;
  outputTokens: number;
  cost: number;
  latencyMs: number;
  /** Time to first streamed byte of the answer; null for non-streamed calls. */
  ttftMs: number | null;
  status: number;
  stream: boolean;
  cached: boolean;
  /** True when the provider reported no usage and tokens were counted by the gateway. */
  estimated: boolean;
}

export type AiUsageGroup = 'consumer' | 'model' | 'provider' | 'day';

export interface AiUsageQuery {
  groupBy?: readonly AiUsageGroup[];
  /** Inclusive UTC days, `YYYY-MM-DD`. */
  from?: string;
  to?: string;
  consumer?: string;
  model?: string;
}

export interface AiUsageRow {
  consumer?: string;
  model?: string;
  provider?: string;
  day?: string;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cost: number;
}

/**
 * What traffic leaves behind: the request log (for replay and shadow summaries) and AI usage.
 * Written in batches off the request path, so a backend keeps these writes on their own
 * connection, apart from config and audit writes.
 */
export interface RequestLogStore {
  /** Appends request-log records (one transaction per batch). */
  insertRequestLog(records: readonly RequestLogRecord[]): Promise<void>;
  /** Request-log records matching a query (a time range, a route, a consumer), by id. */
  queryRequestLog(q: RequestLogQuery): Promise<StoredRequestLog[]>;
  countRequestLog(q: RequestLogQuery): Promise<number>;
  /** Deletes records older than `before` (epoch ms) and beyond the newest `maxRows`. */
  pruneRequestLog(opts: { before?: number; maxRows?: number }): Promise<number>;

  /** Appends AI usage records (one transaction per batch). */
  insertAiUsage(records: readonly AiUsageRecord[]): Promise<void>;
  /** Sums of AI usage grouped by consumer, model, provider and/or day. */
  aiUsageSummary(q: AiUsageQuery): Promise<AiUsageRow[]>;
  /** The latest AI usage records, newest first. */
  listAiUsage(q: AiUsageQuery & { limit?: number }): Promise<AiUsageRecord[]>;
}
