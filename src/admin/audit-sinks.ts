import { closeSync, openSync, writeSync } from 'node:fs';
import type { Logger } from 'pino';
import { request } from 'undici';
import type { GatewayMetrics } from '../observability/metrics.js';

/**
 * Where audit events are copied as they are appended, outside the store: an append-only file or
 * an HTTP(S) collector. One JSON line per event, hash included, the same line as an export. A
 * sink's failure is counted and logged, and never fails or delays the change being audited.
 */
export interface AuditSink {
  /** For logs and the metric label: the file path, or the URL without credentials or query. */
  readonly name: string;
  write(line: string): void;
  /** Flushes what it can (an HTTP sink waits up to `ms` for its queue), then releases the sink. */
  close(ms?: number): Promise<void>;
}

export interface SinkDeps {
  logger: Logger;
  metrics: GatewayMetrics;
  /** HTTP sink: events held while the collector is down; the oldest are dropped past it. */
  queueLimit?: number;
  /** HTTP sink: first retry delay, doubled per failure up to 30 s. */
  retryMs?: number;
}

/** `file:/path/audit.jsonl` or `http(s)://collector/path`; anything else is refused. */
export function openAuditSink(spec: string, deps: SinkDeps): AuditSink {
  if (spec.startsWith('file:')) {
    const path = spec.slice('file:'.length);
    if (!path) throw new Error(`audit sink ${spec}: give a path, as in file:/var/log/portcullis-audit.jsonl`);
    return new FileSink(path, sinkMetrics(deps, path), deps.logger);
  }
  if (/^https?:\/\//.test(spec)) {
    let url: URL;
    try {
      url = new URL(spec);
    } catch {
      throw new Error(`audit sink ${spec}: not a valid URL`);
    }
    const name = `${url.protocol}//${url.host}${url.pathname}`;
    return new HttpSink(url, name, sinkMetrics(deps, name), deps);
  }
  throw new Error(`audit sink ${spec}: must be file:PATH or an http(s):// URL`);
}

interface SinkMetrics {
  failed(err: unknown): void;
  dropped(): void;
}

function sinkMetrics(deps: SinkDeps, name: string): SinkMetrics {
  const failures = deps.metrics.counter(
    'portcullis_audit_sink_failures_total',
    'Audit events a sink failed to write (HTTP: each failed attempt)',
    ['sink'],
  );
  const dropped = deps.metrics.counter(
    'portcullis_audit_sink_dropped_total',
    'Audit events an HTTP sink dropped because its queue was full',
    ['sink'],
  );
  return {
    failed(err) {
      failures.labels(name).inc();
      deps.logger.error(
        { sink: name, err: (err as Error)?.message ?? String(err) },
        'AUDIT SINK WRITE FAILED',
      );
    },
    dropped() {
      dropped.labels(name).inc();
      deps.logger.error({ sink: name }, 'AUDIT SINK QUEUE FULL: oldest event dropped');
    },
  };
}

/** Opened with O_APPEND (mode 0600): each event is one write(2) at the end of the file. */
class FileSink implements AuditSink {
  private fd: number | undefined;

  constructor(
    readonly name: string,
    private readonly m: SinkMetrics,
    logger: Logger,
  ) {
    try {
      this.fd = openSync(name, 'a', 0o600);
    } catch (err) {
      throw new Error(`audit sink file:${name}: ${(err as Error).message}`);
    }
    logger.info({ sink: name }, 'audit sink: appending events to a file');
  }

  write(line: string): void {
    if (this.fd === undefined) return;
    try {
      writeSync(this.fd, line);
    } catch (err) {
      this.m.failed(err);
    }
  }

  async close(): Promise<void> {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** POSTs each event in order, one at a time; retries with backoff; a bounded queue in between. */
class HttpSink implements AuditSink {
  private readonly queue: string[] = [];
  private sending = false;
  private closed = false;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private idle: (() => void) | undefined;

  constructor(
    private readonly url: URL,
    readonly name: string,
    private readonly m: SinkMetrics,
    private readonly deps: SinkDeps,
  ) {
    deps.logger.info({ sink: name }, 'audit sink: posting events to a collector');
  }

  write(line: string): void {
    if (this.closed) return;
    if (this.queue.length >= (this.deps.queueLimit ?? 10_000)) {
      this.queue.shift();
      this.m.dropped();
    }
    this.queue.push(line);
    if (!this.sending && !this.timer) void this.drain();
  }

  private async drain(): Promise<void> {
    this.sending = true;
    while (this.queue.length > 0) {
      try {
        await this.post(this.queue[0]);
        this.queue.shift();
        this.failures = 0;
      } catch (err) {
        this.m.failed(err);
        this.failures++;
        // Closing: no more retries; close() reports what is left.
        if (this.closed || this.idle) break;
        const delay = Math.min(30_000, (this.deps.retryMs ?? 250) * 2 ** (this.failures - 1));
        this.sending = false;
        this.timer = setTimeout(() => {
          this.timer = undefined;
          void this.drain();
        }, delay);
        this.timer.unref();
        return;
      }
    }
    this.sending = false;
    this.idle?.();
  }

  private async post(line: string): Promise<void> {
    const res = await request(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: line,
      headersTimeout: 5000,
      bodyTimeout: 5000,
    });
    await res.body.dump();
    if (res.statusCode < 200 || res.statusCode > 299) throw new Error(`collector answered ${res.statusCode}`);
  }

  async close(ms = 2000): Promise<void> {
    if (this.queue.length > 0 && !this.timer)
      await new Promise<void>((resolve) => {
        this.idle = resolve;
        setTimeout(resolve, ms).unref();
      });
    this.closed = true;
    clearTimeout(this.timer);
    if (this.queue.length > 0)
      this.deps.logger.error(
        { sink: this.name, pending: this.queue.length },
        'AUDIT SINK CLOSED WITH EVENTS UNSENT',
      );
  }
}
