import type { Logger } from 'pino';
import type { GatewayMetrics } from './metrics.js';

export interface SecurityEvent {
  /** e.g. `auth.failure`, `ban.added`, `waf.block`. */
  type: string;
  /** The client IP, consumer or key the event is about. */
  subject?: string;
  policy?: string;
  route?: string;
  requestId?: string;
  detail?: Record<string, unknown>;
}

/** Security events: a log line at warn level with `security_event: true`, and a counter by type. */
export class SecurityEvents {
  private readonly counter;

  constructor(
    private readonly logger: Logger,
    metrics: GatewayMetrics,
  ) {
    this.counter = metrics.counter('portcullis_security_events_total', 'Security events, by type.', ['type']);
  }

  emit(e: SecurityEvent): void {
    this.counter.labels(e.type).inc();
    this.logger.warn({ security_event: true, ...e }, e.type);
  }
}
