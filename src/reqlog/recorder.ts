import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { Clock } from '../core/clock.js';
import type { PolicyContext } from '../core/context.js';
import { normalizeIp } from '../net/ip.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { Exchange } from '../proxy/exchange.js';
import type { RequestLogStore } from '../store/request-log-store.js';
import { type BodySettings, MASK, maskBody, maskQuery, type RecorderSettings } from './settings.js';
import type { RequestLogRecord } from './types.js';

export interface RecorderDeps {
  store: RequestLogStore;
  metrics: GatewayMetrics;
  clock: Clock;
  logger: Logger;
  /** The request-log settings of the revision being served, compiled with it. */
  settings(): RecorderSettings;
  random?: () => number;
  /** Records per store write (default 500). */
  batchSize?: number;
  /** Longest a record waits for a batch to fill (default 200 ms). */
  flushMs?: number;
  /** Time between retention runs (default 60 s). */
  retentionEveryMs?: number;
}

/** Request bodies the queue may hold at once (32 MiB); records past it are kept without their body. */
const MAX_QUEUED_BODY_BYTES = 32 * 1024 * 1024;

/** A record waiting in the queue: the body is still the buffered bytes, masked at write time. */
interface Pending extends RequestLogRecord {
  raw: Buffer | undefined;
  mask: BodySettings | undefined;
}

/**
 * The request log writer. `record` runs in the request's `finish`: it copies what it needs into
 * a plain object and queues it, nothing more. Batches are written to the store off the request
 * path, one write at a time; when the queue is full the record is dropped and counted, never the
 * request. Retention (age and row count) runs in the background.
 */
export class RequestRecorder {
  private queue: Pending[] = [];
  /** Bytes of request bodies held by queued records. */
  private queuedBodyBytes = 0;
  private writing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private retention: NodeJS.Timeout | undefined;
  private readonly random: () => number;
  private readonly batchSize: number;
  private readonly dropped: Counter<'reason'>;
  private readonly droppedFull: Counter.Internal;
  private readonly written: Counter<never>;
  private lastWarn = 0;

  constructor(private readonly deps: RecorderDeps) {
    this.random = deps.random ?? Math.random;
    this.batchSize = deps.batchSize ?? 500;
    this.dropped = deps.metrics.counter(
      'portcullis_request_log_dropped_total',
      'Request-log records not written: queue_full (the writer fell behind), write_error, or error (a record could not be made).',
      ['reason'],
    );
    this.droppedFull = this.dropped.labels('queue_full');
    this.written = deps.metrics.counter(
      'portcullis_request_log_written_total',
      'Request-log records written.',
      [],
    );
  }

  /** Called once per finished request; never throws, never waits. */
  record(
    x: Exchange,
    req: IncomingMessage,
    ctx: PolicyContext | undefined,
    status: number,
    ms: number,
  ): void {
    const s = this.deps.settings();
    if (!s.enabled) return;
    if (s.sampleRate < 1 && this.random() >= s.sampleRate) return;
    if (this.queue.length >= s.queueSize) {
      this.droppedFull.inc();
      return;
    }
    let p: Pending;
    try {
      p = capture(s, x, req, ctx, status, ms);
    } catch (err) {
      // The answer and the access log must never suffer from the request log.
      this.dropped.labels('error').inc();
      this.warn(err, 1);
      return;
    }
    if (p.raw) {
      // Bodies held in the queue are bounded too: past the budget a record keeps its size only.
      if (this.queuedBodyBytes + p.raw.length > MAX_QUEUED_BODY_BYTES) {
        p.raw = undefined;
        p.bodyTruncated = true;
      } else this.queuedBodyBytes += p.raw.length;
    }
    this.queue.push(p);
    this.schedule();
  }

  /** Logs dropped records at most every 10 s. */
  private warn(err: unknown, rows: number): void {
    const now = this.deps.clock.monotonic();
    if (this.lastWarn !== 0 && now - this.lastWarn < 10_000) return;
    this.lastWarn = now;
    this.deps.logger.warn({ err: String(err), rows }, 'request log: records dropped');
  }

  /** Starts background retention. */
  start(): void {
    const every = this.deps.retentionEveryMs ?? 60_000;
    this.retention = setInterval(() => void this.prune().catch(() => undefined), every);
    this.retention.unref();
  }

  /** Deletes what retention no longer keeps; returns the rows deleted. */
  async prune(): Promise<number> {
    const s = this.deps.settings();
    if (!s.enabled) return 0;
    const n = await this.deps.store.pruneRequestLog({
      before: s.maxAgeMs > 0 ? this.deps.clock.now() - s.maxAgeMs : undefined,
      maxRows: s.maxRows || undefined,
    });
    if (n) this.deps.logger.debug({ rows: n }, 'request log: retention deleted rows');
    return n;
  }

  /** Resolves when everything queued so far is written. */
  async flush(): Promise<void> {
    while (this.queue.length || this.writing) {
      await (this.writing ?? this.startDrain());
    }
  }

  /** Stops retention and writes what is queued. */
  async stop(): Promise<void> {
    clearInterval(this.retention);
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /** Records waiting to be written. */
  get queued(): number {
    return this.queue.length;
  }

  private schedule(): void {
    if (this.writing) return;
    if (this.queue.length >= this.batchSize) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.startDrain();
      return;
    }
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (!this.writing) this.startDrain();
      }, this.deps.flushMs ?? 200);
      this.timer.unref();
    }
  }

  /** One writer at a time; `writing` is cleared only after the drain that set it ends. */
  private startDrain(): Promise<void> {
    const p: Promise<void> = this.drain().finally(() => {
      if (this.writing === p) this.writing = undefined;
    });
    this.writing = p;
    return p;
  }

  private async drain(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue.splice(0, this.batchSize);
      for (const p of batch) if (p.raw) this.queuedBodyBytes -= p.raw.length;
      try {
        const rows = batch.map(finalize);
        await this.deps.store.insertRequestLog(rows);
        this.written.inc(rows.length);
      } catch (err) {
        this.dropped.labels('write_error').inc(batch.length);
        this.warn(err, batch.length);
      }
    }
  }
}

/** The synchronous copy made on the request path: scalars, a few headers, references to done values. */
function capture(
  s: RecorderSettings,
  x: Exchange,
  req: IncomingMessage,
  ctx: PolicyContext | undefined,
  status: number,
  ms: number,
): Pending {
  const h = req.headers;
  const headers: Record<string, string> = {};
  for (const name of s.headers) {
    const v = h[name];
    if (v === undefined) continue;
    headers[name] = s.masked.has(name) ? MASK : Array.isArray(v) ? v.join(', ') : v;
  }
  const view = ctx?.request;
  let path = view?.path;
  let query = view?.rawQuery;
  if (path === undefined) {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    path = q < 0 ? url : url.slice(0, q);
    query = q < 0 ? '' : url.slice(q + 1);
  }
  const id = ctx?.identity;
  return {
    ts: x.time,
    requestId: ctx?.requestId ?? x.id,
    method: req.method ?? 'GET',
    host: h.host ?? '',
    path,
    query: query ?? '',
    route: x.route || null,
    service: x.service || null,
    headers,
    clientIp: view?.clientIp ?? normalizeIp(req.socket.remoteAddress ?? ''),
    consumer: ctx?.consumer?.name ?? null,
    identity: id
      ? { method: id.method, credential: id.credential, scopes: id.scopes, anonymous: id.anonymous }
      : null,
    status,
    latencyMs: Math.round(ms * 1000) / 1000,
    revision: x.revision ?? null,
    decisions: ctx?.decisions ?? [],
    raw: s.body ? ctx?.bufferedBody : undefined,
    mask: s.body,
    body: null,
    bodyBytes: s.body && ctx?.bufferedBody ? ctx.bufferedBody.length : null,
    bodyTruncated: false,
    error: x.code ?? null,
  };
}

/** Off the request path: masks and caps the body. */
function finalize(p: Pending): RequestLogRecord {
  const { raw, mask, ...rec } = p;
  if (rec.query) rec.query = maskQuery(rec.query);
  if (raw && mask) {
    const m = maskBody(raw, mask);
    rec.body = m.text;
    rec.bodyTruncated = m.truncated;
  }
  return rec;
}
