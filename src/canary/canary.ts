import type { IncomingMessage } from 'node:http';
import type { CompiledRevision } from '../runtime/compile.js';
import type { Consumer } from '../core/context.js';
import type { Decision } from '../core/policy.js';
import type { RevisionMeta } from '../store/store.js';
import { bucketer } from './hash.js';
import { type CohortSummary, CohortStats } from './stats.js';

export type Cohort = 'stable' | 'canary';

/** When the guard rolls a canary back. Absent bounds are not checked. */
export interface RollbackBounds {
  /** Largest share (0..1) of canary requests an enforced policy may deny. */
  maxDenyRate?: number;
  /** Largest share (0..1) of canary requests answered 5xx. */
  max5xxRate?: number;
  /** Largest p99 latency of canary requests, in ms. */
  maxP99Ms?: number;
  /** How long a bound must stay exceeded before the rollback (0: at the first breach). */
  forMs: number;
  /** How often the guard evaluates the canary. */
  intervalMs: number;
  /** An interval with fewer canary requests is inconclusive: it neither starts nor clears a breach. */
  minRequests: number;
}

/** Which requests the canary serves. */
export interface SliceSpec {
  /** Percent of callers (0.01 to 100), sticky by `sticky`. */
  percent?: number;
  /** A named consumer group: its members are served by the canary, everyone else by stable. */
  group?: string;
  /** The stable key of a caller in percent mode: the credential presented, or the client IP. */
  sticky: 'consumer' | 'ip';
}

export interface Evaluation {
  at: string;
  /** `inconclusive`: too few canary requests in the interval. */
  verdict: 'ok' | 'inconclusive' | 'breach' | 'rollback';
  violations: string[];
  /** The canary's measurements over the evaluated interval. */
  canary: CohortSummary;
  stable: CohortSummary;
  breachSince: string | null;
}

/** Headers that carry a credential, in order: the key of a `sticky: consumer` slice. */
const CREDENTIAL_HEADERS = ['authorization', 'x-api-key', 'apikey', 'proxy-authorization'] as const;

/**
 * A candidate revision live for a slice of traffic, beside the stable one. It picks the cohort
 * of each request, keeps per-cohort measurements (cumulative for the side-by-side view, and per
 * guard interval for automatic rollback) and evaluates the rollback bounds.
 */
export class Canary {
  readonly total = { stable: new CohortStats(), canary: new CohortStats() };
  private window = { stable: new CohortStats(), canary: new CohortStats() };
  private breachStart: number | undefined;
  lastEvaluation: Evaluation | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** The stable bucket of a caller's key, salted by the candidate's hash. */
  private readonly bucket: (key: string) => number;

  constructor(
    readonly revision: CompiledRevision,
    readonly meta: RevisionMeta,
    readonly slice: SliceSpec,
    readonly bounds: RollbackBounds | undefined,
    readonly startedAt: number,
    readonly author: string,
    /** The stable revision's hash when the canary started. */
    readonly baseHash: string | null,
  ) {
    this.bucket = bucketer(revision.hash);
  }

  get group(): string | undefined {
    return this.slice.group;
  }

  /** Percent mode: whether this request's caller is in the canary slice. */
  pick(req: IncomingMessage, clientIp: string): boolean {
    const percent = this.slice.percent ?? 0;
    if (percent >= 100) return true;
    let key = `ip:${clientIp}`;
    if (this.slice.sticky === 'consumer') {
      for (const h of CREDENTIAL_HEADERS) {
        const v = req.headers[h];
        if (typeof v === 'string' && v.length > 0) {
          key = jwtSubject(v) ?? `cred:${v}`;
          break;
        }
      }
    }
    return this.bucket(key) < Math.round(percent * 100);
  }

  /** Group mode: whether the authenticated consumer belongs to the canary group. */
  inGroup(consumer: Consumer | undefined): boolean {
    return !!consumer && !!this.slice.group && consumer.groups.includes(this.slice.group);
  }

  record(cohort: Cohort, status: number, ms: number, decisions: readonly Decision[] | undefined): void {
    this.total[cohort].record(status, ms, decisions);
    this.window[cohort].record(status, ms, decisions);
  }

  /** One guard evaluation over the requests since the previous one. */
  evaluate(now: number): Evaluation {
    const w = this.window;
    this.window = { stable: new CohortStats(), canary: new CohortStats() };
    const canary = w.canary.summary();
    const b = this.bounds;
    const violations: string[] = [];
    let verdict: Evaluation['verdict'] = 'ok';
    if (!b || canary.requests < b.minRequests) verdict = 'inconclusive';
    else {
      if (b.maxDenyRate !== undefined && canary.denyRate > b.maxDenyRate)
        violations.push(`denyRate ${canary.denyRate} > ${b.maxDenyRate}`);
      if (b.max5xxRate !== undefined && canary.rate5xx > b.max5xxRate)
        violations.push(`rate5xx ${canary.rate5xx} > ${b.max5xxRate}`);
      if (b.maxP99Ms !== undefined && canary.p99Ms !== null && canary.p99Ms > b.maxP99Ms)
        violations.push(`p99Ms ${canary.p99Ms} > ${b.maxP99Ms}`);
      if (violations.length === 0) this.breachStart = undefined;
      else {
        this.breachStart ??= now;
        verdict = now - this.breachStart >= b.forMs ? 'rollback' : 'breach';
      }
    }
    this.lastEvaluation = {
      at: new Date(now).toISOString(),
      verdict,
      violations,
      canary,
      stable: w.stable.summary(),
      breachSince: this.breachStart === undefined ? null : new Date(this.breachStart).toISOString(),
    };
    return this.lastEvaluation;
  }

  /** Runs `tick` every `bounds.intervalMs` until stopped (the timer does not keep the process up). */
  startTimer(tick: () => void): void {
    if (!this.bounds) return;
    this.timer = setInterval(tick, this.bounds.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** What audit events record of the canary when it ends: its slice, how long, both cohorts. */
  outcome(now: number): Record<string, unknown> {
    return {
      slice: this.slice,
      startedAt: new Date(this.startedAt).toISOString(),
      runningSeconds: Math.round((now - this.startedAt) / 1000),
      cohorts: { stable: this.total.stable.summary(), canary: this.total.canary.summary() },
    };
  }

  /** The side-by-side view of `GET /canary`. */
  view(now: number): object {
    return {
      revision: {
        id: this.meta.id,
        hash: this.meta.hash,
        author: this.meta.author,
        message: this.meta.message,
      },
      stableHash: this.baseHash,
      slice: this.slice,
      rollback: this.bounds ?? null,
      startedAt: new Date(this.startedAt).toISOString(),
      startedBy: this.author,
      runningSeconds: Math.round((now - this.startedAt) / 1000),
      cohorts: { stable: this.total.stable.summary(), canary: this.total.canary.summary() },
      lastEvaluation: this.lastEvaluation ?? null,
    };
  }
}

/**
 * The issuer and subject of a bearer JWT, read without verifying it: a client's tokens are
 * short-lived, its subject is not, so the caller keeps its cohort across token refreshes. Only the
 * cohort depends on it; both revisions verify the token as they are configured to.
 */
export function jwtSubject(header: string): string | undefined {
  if (!/^bearer /i.test(header)) return undefined;
  const parts = header.slice(7).trim().split('.');
  if (parts.length !== 3 || parts[1].length > 8192) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as {
      iss?: unknown;
      sub?: unknown;
    };
    return typeof claims.sub === 'string' && claims.sub
      ? `jwt:${String(claims.iss ?? '')}|${claims.sub}`
      : undefined;
  } catch {
    return undefined;
  }
}

/** A change refused because a canary is running (apply, another canary). */
export class CanaryConflictError extends Error {}
