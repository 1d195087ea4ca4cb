import type { CompiledRevision } from '../runtime/compile.js';
import type { DecisionSink } from '../core/pipeline.js';
import { authChanges, compileForReplay, disposeReplay, type ReplayCompileDeps } from './compile.js';
import { ConsumerCache, evaluate } from './evaluate.js';
import { type ReplayReport, ReportBuilder } from './report.js';

export interface ReplayOptions {
  /** The candidate config (parsed YAML or JSON). */
  candidate: unknown;
  /** Epoch ms range of recorded requests: [from, to). */
  from: number;
  to: number;
  route?: string;
  consumer?: string;
  /** At most this many records, oldest first (default 1,000,000). */
  limit?: number;
  /** Example requests kept per kind of change (default 5). */
  examples?: number;
  /** Keep per-request outcomes, up to this many (default 0). */
  requests?: number;
  /** Crossed when more than this percentage of replayed requests is newly denied. */
  failOnNewlyDeniedPercent?: number;
}

export interface ReplayDeps extends ReplayCompileDeps {
  /** The live revision: its config is recompiled with replay-only services. */
  current: CompiledRevision;
  currentId: number | null;
  monotonic(): number;
}

const PAGE = 500;

/**
 * Replays recorded requests through the current revision and a candidate, side by side, and
 * reports what changes. Throws ConfigError when the candidate does not compile. Yields to the
 * event loop between pages: it runs inside the gateway, beside live traffic.
 */
export async function runReplay(
  deps: ReplayDeps,
  opts: ReplayOptions,
  onProgress?: (done: number, total: number) => void,
): Promise<ReplayReport> {
  const t0 = deps.monotonic();
  const cand = compileForReplay(opts.candidate, deps);
  let curr: ReturnType<typeof compileForReplay> | undefined;
  try {
    curr = compileForReplay(deps.current.config, deps);
    const compiled = deps.monotonic();
    const limit = opts.limit ?? 1_000_000;
    const q = { from: opts.from, to: opts.to, route: opts.route, consumer: opts.consumer };
    const total = Math.min(limit, await deps.services.store.countRequestLog(q));
    const builder = new ReportBuilder(opts.examples ?? 5, opts.requests ?? 0);
    const consumers = new ConsumerCache(deps.services.directory);
    const sink: DecisionSink = { countDecision: () => undefined, policyError: () => undefined };
    let afterId = 0;
    let done = 0;
    onProgress?.(0, total);
    while (done < total) {
      const page = await deps.services.store.queryRequestLog({
        ...q,
        afterId,
        limit: Math.min(PAGE, total - done),
      });
      if (page.length === 0) break;
      for (const rec of page) {
        const a = await evaluate(curr.rev, rec, curr.clock, consumers, sink);
        const b = await evaluate(cand.rev, rec, cand.clock, consumers, sink);
        builder.add(rec, a, b);
      }
      done += page.length;
      afterId = page[page.length - 1].id;
      onProgress?.(done, total);
      await new Promise((r) => setImmediate(r));
    }
    const end = deps.monotonic();
    const ms = end - t0;
    const loopMs = end - compiled;
    const c = builder.counts;
    const pct = builder.replayed ? (c.newly_denied / builder.replayed) * 100 : 0;
    const report: ReplayReport = {
      from: new Date(opts.from).toISOString(),
      to: new Date(opts.to).toISOString(),
      current: { revision: deps.currentId, hash: deps.current.hash },
      candidate: { hash: cand.rev.hash },
      records: total,
      replayed: builder.replayed,
      newlyDenied: c.newly_denied,
      newlyAllowed: c.newly_allowed,
      changedDenial: c.changed_denial,
      unchanged: c.unchanged,
      newlyDeniedPercent: Math.round(pct * 10_000) / 10_000,
      ...builder.breakdowns(),
      examples: builder.examples,
      notReplayable: authChanges(curr.rev, cand.rev),
      currentMismatch: builder.currentMismatch,
      durationMs: Math.round(ms),
      compileMs: Math.round(compiled - t0),
      requestsPerSecond: loopMs > 0 ? Math.round((builder.replayed / loopMs) * 1000) : 0,
    };
    if (opts.failOnNewlyDeniedPercent !== undefined)
      report.threshold = {
        newlyDeniedPercent: opts.failOnNewlyDeniedPercent,
        crossed: pct > opts.failOnNewlyDeniedPercent,
      };
    if (opts.requests) report.requests = builder.requests;
    return report;
  } finally {
    await disposeReplay(cand);
    if (curr) await disposeReplay(curr);
  }
}

/** `24h`, `30m`, `7d`, `90s` -> milliseconds; undefined when malformed. */
export function parseSince(text: string): number | undefined {
  const m = /^([1-9][0-9]{0,8})(s|m|h|d)$/.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's'];
}

/** `0.1%` or `0.1` -> 0.1 (a percentage); undefined when malformed. */
export function parsePercent(text: string): number | undefined {
  const m = /^([0-9]+(?:\.[0-9]+)?)%?$/.exec(text.trim());
  return m ? Number(m[1]) : undefined;
}
