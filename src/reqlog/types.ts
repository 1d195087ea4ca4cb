import type { Decision } from '../core/policy.js';

/** What was established about the caller, without secrets: enough to restore it on replay. */
export interface RecordedIdentity {
  /** The auth policy that authenticated the request (`key-auth`, `jwt`, ...). */
  method: string;
  /** The credential's id or token hash: never the secret itself. */
  credential?: string;
  scopes?: readonly string[];
  anonymous?: boolean;
}

/** One recorded request, as the recorder hands it to the store. */
export interface RequestLogRecord {
  /** Epoch milliseconds at which the gateway received the request. */
  ts: number;
  requestId: string;
  method: string;
  host: string;
  path: string;
  /** The query string without its `?`. */
  query: string;
  route: string | null;
  service: string | null;
  /** The selected request headers, sensitive ones masked. */
  headers: Record<string, string>;
  clientIp: string;
  consumer: string | null;
  identity: RecordedIdentity | null;
  status: number;
  latencyMs: number;
  revision: number | null;
  decisions: readonly Decision[];
  /** The masked, capped request body (UTF-8), when body capture is on and a policy read it. */
  body: string | null;
  /** The body's size before capping (bytes). */
  bodyBytes: number | null;
  bodyTruncated: boolean;
  /** The gateway error code of the answer (`PCS_ERR_*`), when the gateway answered. */
  error: string | null;
}

/** A stored record: the row id orders records for paging. */
export interface StoredRequestLog extends RequestLogRecord {
  id: number;
}

export interface RequestLogQuery {
  /** Inclusive lower bound, epoch ms. */
  from?: number;
  /** Exclusive upper bound, epoch ms. */
  to?: number;
  route?: string;
  consumer?: string;
  /** Only records with at least one `would_deny` decision (shadow summaries). */
  wouldDeny?: boolean;
  /** Records with an id above this (paging, oldest first). */
  afterId?: number;
  limit?: number;
  /** `asc` (default, for replay) or `desc` (latest first, for listings). */
  order?: 'asc' | 'desc';
}
