import type { Decision } from '../core/policy.js';

/** Bucket upper bounds in ms: 0.1 ms to ~100 s, 10 % apart. Fixed memory whatever the traffic. */
const BOUNDS: readonly number[] = (() => {
  const out: number[] = [];
  for (let b = 0.1; b < 120_000; b *= 1.1) out.push(Math.round(b * 1000) / 1000);
  return out;
})();

/** A latency histogram with fixed log-spaced buckets: quantiles within 10 %, in ~150 numbers. */
export class LatencyHistogram {
  private readonly counts = new Uint32Array(BOUNDS.length + 1);
  count = 0;

  record(ms: number): void {
    let lo = 0;
    let hi = BOUNDS.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (BOUNDS[mid] < ms) lo = mid + 1;
      else hi = mid;
    }
    this.counts[lo]++;
    this.count++;
  }

  /** The upper bound of the bucket holding quantile q (0..1); null with no samples. */
  quantile(q: number): number | null {
    if (this.count === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= rank) return BOUNDS[i] ?? Number.POSITIVE_INFINITY;
    }
    return null;
  }
}

/** Measurements of one cohort (stable or canary), for the side-by-side view and the guard. */
export class CohortStats {
  requests = 0;
  /** Requests an enforced policy denied. */
  denied = 0;
  status4xx = 0;
  status5xx = 0;
  /** Denials by policy instance label (`rate-limit@route:orders`). */
  readonly deniedBy = new Map<string, number>();
  readonly latency = new LatencyHistogram();

  record(status: number, ms: number, decisions: readonly Decision[] | undefined): void {
    this.requests++;
    if (status >= 500) this.status5xx++;
    else if (status >= 400) this.status4xx++;
    this.latency.record(ms);
    if (!decisions) return;
    for (const d of decisions) {
      if (d.outcome !== 'deny') continue;
      this.denied++;
      const key = `${d.id}@${d.scope}`;
      // Bounded: policy instances are a revision's, a few dozen at most.
      if (this.deniedBy.size < 500 || this.deniedBy.has(key))
        this.deniedBy.set(key, (this.deniedBy.get(key) ?? 0) + 1);
      break;
    }
  }

  summary(): CohortSummary {
    const n = this.requests;
    const rate = (x: number) => (n === 0 ? 0 : round(x / n));
    return {
      requests: n,
      denyRate: rate(this.denied),
      denyRateByPolicy: Object.fromEntries([...this.deniedBy].map(([k, v]) => [k, rate(v)])),
      rate4xx: rate(this.status4xx),
      rate5xx: rate(this.status5xx),
      p50Ms: this.latency.quantile(0.5),
      p99Ms: this.latency.quantile(0.99),
    };
  }
}

export interface CohortSummary {
  requests: number;
  denyRate: number;
  denyRateByPolicy: Record<string, number>;
  rate4xx: number;
  rate5xx: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
