import pino from 'pino';
import type { SecretEnv } from '../config/secrets.js';
import type { PolicyRegistry } from '../config/validate.js';
import { canonicalJson } from '../lib/canonical.js';
import { PHASE_INDEX } from '../core/phases.js';
import { ManualClock } from '../core/clock.js';
import { type CompiledRevision, compile } from '../runtime/compile.js';
import type { PolicyServices } from '../core/policy.js';
import { MemoryCounterStore } from '../counters/memory.js';
import { SecurityEvents } from '../observability/events.js';
import { GatewayMetrics } from '../observability/metrics.js';

export interface ReplayCompileDeps {
  registry: PolicyRegistry;
  secretEnv?: SecretEnv;
  /** The live services: their store and directory (consumers and credentials as they are now). */
  services: PolicyServices;
}

/** A revision compiled for replay: its own counters, metrics and events, on a clock replay sets. */
export interface ReplayRevision {
  rev: CompiledRevision;
  clock: ManualClock;
}

/**
 * Compiles a config with replay-only services: fresh in-memory counters (rate limits start
 * empty and count only replayed traffic), metrics and security events that go nowhere, and a
 * manual clock set to each recorded request's time. Nothing it creates touches the live gateway.
 */
export function compileForReplay(config: unknown, deps: ReplayCompileDeps): ReplayRevision {
  const clock = new ManualClock(0);
  const logger = pino({ level: 'silent' });
  const metrics = new GatewayMetrics();
  const services: PolicyServices = {
    ...deps.services,
    counters: new MemoryCounterStore(clock),
    metrics,
    events: new SecurityEvents(logger, metrics),
  };
  const rev = compile(config, 0, {
    registry: deps.registry,
    services,
    clock,
    logger,
    secretEnv: deps.secretEnv,
  });
  return { rev, clock };
}

/** Closes the upstream services compiling created (replay never starts or calls them). */
export async function disposeReplay(r: ReplayRevision): Promise<void> {
  // Policy cleanup (timers, feeds), on cores that register it.
  (r.rev as Partial<{ dispose(): void }>).dispose?.();
  await Promise.allSettled([...r.rev.services.values()].map((s) => s.close()));
}

export interface NotReplayable {
  policy: string;
  change: 'added' | 'removed' | 'changed';
  reason: string;
}

const AUTH_REASON =
  'auth policies are not re-run on replay: records carry no credentials, so the recorded consumer and identity are restored instead';

/**
 * Auth-phase policies that differ between the two revisions. Their effect cannot be replayed:
 * a record keeps who the caller was, not the credential it presented.
 */
export function authChanges(current: CompiledRevision, candidate: CompiledRevision): NotReplayable[] {
  const a = authInstances(current);
  const b = authInstances(candidate);
  const out: NotReplayable[] = [];
  for (const [label, key] of a) {
    const other = b.get(label);
    if (other === undefined) out.push({ policy: label, change: 'removed', reason: AUTH_REASON });
    else if (other !== key) out.push({ policy: label, change: 'changed', reason: AUTH_REASON });
  }
  for (const label of b.keys())
    if (!a.has(label)) out.push({ policy: label, change: 'added', reason: AUTH_REASON });
  return out;
}

/** `label (scope)` -> canonical config of every instance that runs in `auth` on some route. */
function authInstances(rev: CompiledRevision): Map<string, string> {
  const m = new Map<string, string>();
  for (const r of rev.routes)
    for (const e of r.chain[PHASE_INDEX.auth]) {
      const p = rev.config.policies[e.instance.order];
      m.set(
        `${e.instance.label} (${e.instance.scopeText})`,
        canonicalJson({ scope: p?.scope ?? 'global', mode: p?.mode, config: p?.config ?? {} }),
      );
    }
  return m;
}
