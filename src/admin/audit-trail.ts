import type { Logger } from 'pino';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { AuditKeyRing } from '../store/audit-keys.js';
import type { AuditEvent, Store } from '../store/store.js';
import { type AuditSink, openAuditSink, type SinkDeps } from './audit-sinks.js';

/**
 * What the gateway does with each audit event beyond storing it: one log line carrying the new
 * head (`audit_head: "ID:HASH"`, so the operational log pins the chain outside the store), and a
 * copy to each external sink. Says loudly at start when the chain is unkeyed.
 */
export class AuditTrail {
  private readonly sinks: AuditSink[] = [];

  constructor(
    private readonly deps: {
      store: Store;
      keys: AuditKeyRing;
      logger: Logger;
      metrics: GatewayMetrics;
      sinks?: readonly string[];
    } & Pick<SinkDeps, 'queueLimit' | 'retryMs'>,
  ) {}

  /** Opens the sinks (a bad one throws: the gateway does not start) and starts listening. */
  open(): void {
    const { store, keys, logger, metrics } = this.deps;
    for (const spec of this.deps.sinks ?? []) this.sinks.push(openAuditSink(spec, this.deps));
    metrics
      .gauge(
        'portcullis_audit_chain_keyed',
        'Whether new audit events are HMACed with a key (1) or not (0)',
        [],
      )
      .set(keys.length ? 1 : 0);
    if (keys.length)
      logger.info(
        { audit_key: keys[0].id, verify_keys: keys.map((k) => k.id) },
        'audit chain keyed (HMAC-SHA256)',
      );
    else
      logger.warn(
        { audit_keyed: false },
        'AUDIT CHAIN IS UNKEYED: whoever can write the store can rewrite events and recompute the chain; start with --audit-key-file (docs/audit.md)',
      );
    store.onAudit((e) => this.record(e));
  }

  private record(e: AuditEvent): void {
    this.deps.logger.info(
      {
        audit_id: e.id,
        actor: e.actor,
        action: e.action,
        target: e.target,
        audit_key: e.keyId,
        audit_head: `${e.id}:${e.hash}`,
      },
      'audit event',
    );
    if (this.sinks.length === 0) return;
    const line = `${JSON.stringify(e)}\n`;
    for (const s of this.sinks) s.write(line);
  }

  async close(): Promise<void> {
    await Promise.all(this.sinks.map((s) => s.close()));
    this.sinks.length = 0;
  }
}
