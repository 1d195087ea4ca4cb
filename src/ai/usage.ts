import type { Logger } from 'pino';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { AiSectionConfig } from '../config/ai-schema.js';
import type { AiUsageRecord, RequestLogStore } from '../store/request-log-store.js';

/** Prices per provider model; `provider/model` entries win over bare model names. */
export class PriceTable {
  private readonly byKey = new Map<string, { in: number; out: number }>();
  constructor(prices: AiSectionConfig['prices']) {
    for (const p of prices) this.byKey.set(p.model, { in: p.inputPerMillion, out: p.outputPerMillion });
  }
  cost(provider: string, model: string, input: number, output: number): number {
    const p = this.byKey.get(`${provider}/${model}`) ?? this.byKey.get(model);
    if (!p) return 0;
    return (input * p.in + output * p.out) / 1_000_000;
  }
  has(provider: string, model: string): boolean {
    return this.byKey.has(`${provider}/${model}`) || this.byKey.has(model);
  }
}

/**
 * Usage records go to the store in batches, off the request path: one transaction per flush,
 * a bounded queue (records beyond it are dropped and counted, never kept in memory unbounded).
 */
export class UsageWriter {
  private queue: AiUsageRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  dropped = 0;

  constructor(
    private readonly store: RequestLogStore,
    private readonly logger: Logger,
    private readonly max = 50_000,
  ) {}

  add(r: AiUsageRecord): void {
    if (this.queue.length >= this.max) {
      this.dropped++;
      return;
    }
    this.queue.push(r);
    if (this.queue.length >= 500) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), 50);
      this.timer.unref();
    }
  }

  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flushing;
    if (!this.queue.length) return;
    const batch = this.queue;
    this.queue = [];
    this.flushing = this.store.insertAiUsage(batch).catch((err) => {
      this.logger.warn({ err: (err as Error).message, records: batch.length }, 'ai usage records lost');
    });
    await this.flushing;
  }
}

const WRITERS = new WeakMap<RequestLogStore, UsageWriter>();

/** One writer per store, shared by every revision (and flushed by the admin endpoints before reading). */
export function usageWriter(store: RequestLogStore, logger: Logger): UsageWriter {
  let w = WRITERS.get(store);
  if (!w) {
    w = new UsageWriter(store, logger);
    WRITERS.set(store, w);
  }
  return w;
}

export function flushUsage(store: RequestLogStore): Promise<void> {
  return WRITERS.get(store)?.flush() ?? Promise.resolve();
}

/** OpenTelemetry GenAI semantic convention metrics (names with `.` as `_`). */
export function genAiMetrics(m: GatewayMetrics) {
  const labels = [
    'gen_ai_operation_name',
    'gen_ai_provider_name',
    'gen_ai_request_model',
    'gen_ai_response_model',
  ] as const;
  return {
    tokens: m.histogram(
      'gen_ai_client_token_usage',
      'Tokens used per call (gen_ai.client.token.usage).',
      [...labels, 'gen_ai_token_type'],
      [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576],
    ),
    duration: m.histogram(
      'gen_ai_client_operation_duration_seconds',
      'Call duration (gen_ai.client.operation.duration).',
      [...labels, 'error_type'],
      [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
    ),
    ttft: m.histogram(
      'gen_ai_server_time_to_first_token_seconds',
      'Time to first streamed token (gen_ai.server.time_to_first_token).',
      labels,
      [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
    ),
  };
}
export type GenAiMetrics = ReturnType<typeof genAiMetrics>;
