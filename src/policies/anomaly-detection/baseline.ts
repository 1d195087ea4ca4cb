import type { Signal } from './schema.js';

/** An exponentially weighted mean and variance (West's incremental form). */
export class Ewma {
  mean = 0;
  variance = 0;
  constructor(private readonly alpha: number) {}
  add(x: number, first: boolean): void {
    if (first) {
      this.mean = x;
      this.variance = 0;
      return;
    }
    const d = x - this.mean;
    const incr = this.alpha * d;
    this.mean += incr;
    this.variance = (1 - this.alpha) * (this.variance + d * incr);
  }
  /** The value above which an observation is anomalous. */
  limit(sensitivity: number, factor: number, floor: number): number {
    return Math.max(this.mean + sensitivity * Math.sqrt(this.variance), this.mean * factor, floor);
  }
}

const MAX_ENDPOINTS = 128;

/** One consumer: the current window and the baselines learned from past windows. */
export class Track {
  windowStart: number;
  count = 0;
  errors = 0;
  bytes = 0;
  readonly endpoints = new Set<number>();
  windows = 0;
  readonly rate: Ewma;
  readonly errorRatio: Ewma;
  readonly distinct: Ewma;
  readonly payload: Ewma;
  /** Signals already reported in the current window. */
  reported = new Set<Signal>();
  flaggedUntil = 0;
  flaggedFor: Signal | undefined;

  constructor(now: number, alpha: number) {
    this.windowStart = now;
    this.rate = new Ewma(alpha);
    this.errorRatio = new Ewma(alpha);
    this.distinct = new Ewma(alpha);
    this.payload = new Ewma(alpha);
  }

  /**
   * Closes the window when it is over: a window with traffic joins the baselines (idle gaps are
   * not learned, so a consumer that pauses is not judged against zero). A window in which the
   * consumer was flagged is not learned either, so an attack does not become the new normal.
   */
  roll(now: number, windowMs: number): void {
    if (now < this.windowStart + windowMs) return;
    if (this.count > 0 && this.reported.size === 0) {
      const first = this.windows === 0;
      this.rate.add(this.count, first);
      this.errorRatio.add(this.errors / this.count, first);
      this.distinct.add(this.endpoints.size, first);
      this.payload.add(this.bytes / this.count, first);
      this.windows++;
    }
    this.windowStart = now - ((now - this.windowStart) % windowMs);
    this.count = 0;
    this.errors = 0;
    this.bytes = 0;
    this.endpoints.clear();
    this.reported.clear();
  }

  addEndpoint(hash: number): void {
    if (this.endpoints.size < MAX_ENDPOINTS) this.endpoints.add(hash);
  }
}

/** A map that forgets the least recently used entry beyond `max` (Map keeps insertion order). */
export class Lru<V> {
  private readonly m = new Map<string, V>();
  constructor(public max: number) {}
  get size(): number {
    return this.m.size;
  }
  get(key: string): V | undefined {
    const v = this.m.get(key);
    if (v !== undefined) {
      this.m.delete(key);
      this.m.set(key, v);
    }
    return v;
  }
  set(key: string, v: V): void {
    this.m.delete(key);
    this.m.set(key, v);
    while (this.m.size > this.max) this.m.delete(this.m.keys().next().value as string);
  }
  has(key: string): boolean {
    return this.m.has(key);
  }
}

/** FNV-1a, for endpoint sets that hold numbers rather than strings. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
