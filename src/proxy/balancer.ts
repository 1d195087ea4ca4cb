import type { Clock } from '../core/clock.js';

/** What a balancer needs of a target. */
export interface Balanced {
  readonly weight: number;
  inflight: number;
  /** Smooth weighted round-robin state. */
  currentWeight: number;
  available(now: number): boolean;
}

export type Strategy = 'round-robin' | 'weighted' | 'least-connections';

/**
 * Picks a target among the available ones. `exclude` holds targets that already failed this
 * request (retries go elsewhere when they can).
 */
export class Balancer<T extends Balanced> {
  private next = 0;

  constructor(
    private readonly targets: readonly T[],
    private readonly strategy: Strategy,
    private readonly clock: Clock,
  ) {}

  pick(exclude?: ReadonlySet<T>): T | undefined {
    const now = this.clock.now();
    const n = this.targets.length;
    if (n === 1) {
      const t = this.targets[0];
      return t.available(now) && t.weight > 0 ? t : undefined;
    }
    switch (this.strategy) {
      case 'round-robin':
        for (let i = 0; i < n; i++) {
          const t = this.targets[(this.next + i) % n];
          if (t.weight > 0 && t.available(now) && !exclude?.has(t)) {
            this.next = (this.next + i + 1) % n;
            return t;
          }
        }
        return this.fallback(now, exclude);
      case 'weighted':
        return this.smoothWeighted(now, exclude) ?? this.fallback(now, exclude);
      case 'least-connections': {
        let best: T | undefined;
        for (let i = 0; i < n; i++) {
          // Start from a rotating index so ties are spread.
          const t = this.targets[(this.next + i) % n];
          if (t.weight === 0 || !t.available(now) || exclude?.has(t)) continue;
          if (!best || t.inflight / t.weight < best.inflight / best.weight) best = t;
        }
        this.next = (this.next + 1) % n;
        return best ?? this.fallback(now, exclude);
      }
    }
  }

  /** nginx's smooth weighted round-robin: even spread, exact proportions. */
  private smoothWeighted(now: number, exclude?: ReadonlySet<T>): T | undefined {
    let total = 0;
    let best: T | undefined;
    for (const t of this.targets) {
      if (t.weight === 0 || !t.available(now) || exclude?.has(t)) continue;
      t.currentWeight += t.weight;
      total += t.weight;
      if (!best || t.currentWeight > best.currentWeight) best = t;
    }
    if (best) best.currentWeight -= total;
    return best;
  }

  /** With every other target excluded, a retry may go back to one that failed, if healthy. */
  private fallback(now: number, exclude?: ReadonlySet<T>): T | undefined {
    if (!exclude?.size) return undefined;
    return this.targets.find((t) => t.weight > 0 && t.available(now));
  }
}
