import type { StoredRequestLog } from '../reqlog/types.js';
import type { NotReplayable } from './compile.js';
import type { ReplayOutcome } from './evaluate.js';

export type Change = 'newly_denied' | 'newly_allowed' | 'changed_denial' | 'unchanged';

export interface Breakdown {
  key: string;
  newlyDenied: number;
  newlyAllowed: number;
  changedDenial: number;
}

export interface Example {
  id: number;
  requestId: string;
  time: string;
  method: string;
  host: string;
  path: string;
  query: string;
  consumer: string | null;
  clientIp: string;
  recordedStatus: number;
  current: ReplayOutcome;
  candidate: ReplayOutcome;
}

export interface ShadowDelta {
  policy: string;
  rule: string | null;
  current: number;
  candidate: number;
}

export interface ReplayReport {
  from: string;
  to: string;
  current: { revision: number | null; hash: string };
  candidate: { hash: string };
  /** Records in range (capped by `limit`) and how many were replayed. */
  records: number;
  replayed: number;
  newlyDenied: number;
  newlyAllowed: number;
  /** Denied on both sides, by a different policy, rule or code. */
  changedDenial: number;
  unchanged: number;
  /** newlyDenied / replayed, as a percentage. */
  newlyDeniedPercent: number;
  byPolicy: Breakdown[];
  byRule: Breakdown[];
  byRoute: Breakdown[];
  byConsumer: Breakdown[];
  /** Would-deny counts of shadow policies on both sides, where they differ. */
  shadow: ShadowDelta[];
  examples: { newlyDenied: Example[]; newlyAllowed: Example[]; changedDenial: Example[] };
  notReplayable: NotReplayable[];
  /**
   * Records whose replay on the current revision disagrees with what happened (denied or not):
   * recorded under an older revision, or decided by state replay does not have (counters built
   * before the window, a live ban, a header not recorded). High values mean the replay is less
   * faithful.
   */
  currentMismatch: number;
  /** Whole replay, compiling both revisions included. */
  durationMs: number;
  /** Time spent compiling the two revisions. */
  compileMs: number;
  /** Recorded requests replayed per second, each through both revisions (compiling excluded). */
  requestsPerSecond: number;
  threshold?: { newlyDeniedPercent: number; crossed: boolean };
  /** Per-request outcomes, in order, when asked for. */
  requests?: {
    id: number;
    requestId: string;
    change: Change;
    current: ReplayOutcome;
    candidate: ReplayOutcome;
  }[];
}

const denied = (o: ReplayOutcome) => o.result === 'deny';

export function classify(a: ReplayOutcome, b: ReplayOutcome): Change {
  if (!denied(a) && denied(b)) return 'newly_denied';
  if (denied(a) && !denied(b)) return 'newly_allowed';
  if (denied(a) && denied(b) && (a.policy !== b.policy || a.rule !== b.rule || a.code !== b.code))
    return 'changed_denial';
  return 'unchanged';
}

/** Gathers the outcomes of a replay into counts, breakdowns and examples. */
export class ReportBuilder {
  counts = { newly_denied: 0, newly_allowed: 0, changed_denial: 0, unchanged: 0 };
  replayed = 0;
  currentMismatch = 0;
  private readonly policy = new Map<string, Breakdown>();
  private readonly rule = new Map<string, Breakdown>();
  private readonly route = new Map<string, Breakdown>();
  private readonly consumer = new Map<string, Breakdown>();
  private readonly shadow = new Map<string, ShadowDelta>();
  readonly examples: ReplayReport['examples'] = { newlyDenied: [], newlyAllowed: [], changedDenial: [] };
  readonly requests: NonNullable<ReplayReport['requests']> = [];
  private readonly exampleCount = new Map<string, number>();

  constructor(
    private readonly maxExamples: number,
    private readonly keepRequests: number,
  ) {}

  add(rec: StoredRequestLog, a: ReplayOutcome, b: ReplayOutcome): Change {
    this.replayed++;
    const change = classify(a, b);
    this.counts[change]++;
    const recordedDenied =
      rec.decisions.some((d) => d.outcome === 'deny') ||
      rec.error === 'PCS_ERR_ROUTE_NOT_FOUND' ||
      rec.error === 'PCS_ERR_ROUTE_SUNSET';
    if (recordedDenied !== denied(a)) this.currentMismatch++;
    for (const w of a.wouldDeny) this.shadowCount(w.policy, w.rule, 'current');
    for (const w of b.wouldDeny) this.shadowCount(w.policy, w.rule, 'candidate');
    if (this.requests.length < this.keepRequests)
      this.requests.push({ id: rec.id, requestId: rec.requestId, change, current: a, candidate: b });
    if (change === 'unchanged') return change;
    // The side that denies names the policy: the candidate for new denials, the current one for new allows.
    const decider = change === 'newly_allowed' ? a : b;
    const field =
      change === 'newly_denied'
        ? 'newlyDenied'
        : change === 'newly_allowed'
          ? 'newlyAllowed'
          : 'changedDenial';
    const policy = decider.policy ?? decider.code ?? '(gateway)';
    bump(this.policy, policy, field);
    bump(this.rule, `${policy} ${decider.rule ?? '-'}`, field);
    bump(this.route, b.route ?? a.route ?? '(no route)', field);
    bump(this.consumer, rec.consumer ?? '(anonymous)', field);
    // Examples spread over what decided: at most two per policy and rule.
    const list = this.examples[field];
    const seen = `${field}\0${policy}\0${decider.rule ?? ''}`;
    const n = this.exampleCount.get(seen) ?? 0;
    if (list.length < this.maxExamples && n < 2) {
      this.exampleCount.set(seen, n + 1);
      list.push({
        id: rec.id,
        requestId: rec.requestId,
        time: new Date(rec.ts).toISOString(),
        method: rec.method,
        host: rec.host,
        path: rec.path,
        query: rec.query,
        consumer: rec.consumer,
        clientIp: rec.clientIp,
        recordedStatus: rec.status,
        current: a,
        candidate: b,
      });
    }
    return change;
  }

  private shadowCount(policy: string, rule: string | undefined, side: 'current' | 'candidate'): void {
    const k = `${policy}\0${rule ?? ''}`;
    let s = this.shadow.get(k);
    if (!s) {
      s = { policy, rule: rule ?? null, current: 0, candidate: 0 };
      this.shadow.set(k, s);
    }
    s[side]++;
  }

  breakdowns() {
    return {
      byPolicy: sorted(this.policy),
      byRule: sorted(this.rule),
      byRoute: sorted(this.route),
      byConsumer: sorted(this.consumer),
      shadow: [...this.shadow.values()]
        .filter((s) => s.current !== s.candidate)
        .sort((x, y) => Math.abs(y.candidate - y.current) - Math.abs(x.candidate - x.current)),
    };
  }
}

function bump(
  m: Map<string, Breakdown>,
  key: string,
  field: 'newlyDenied' | 'newlyAllowed' | 'changedDenial',
): void {
  let b = m.get(key);
  if (!b) {
    b = { key, newlyDenied: 0, newlyAllowed: 0, changedDenial: 0 };
    m.set(key, b);
  }
  b[field]++;
}

function sorted(m: Map<string, Breakdown>): Breakdown[] {
  const total = (b: Breakdown) => b.newlyDenied + b.newlyAllowed + b.changedDenial;
  return [...m.values()].sort((a, b) => total(b) - total(a) || a.key.localeCompare(b.key));
}
