/**
 * Shared counters for rate limits, quotas, bans and token budgets. The in-memory store is the
 * default; a Redis store implements the same interface for several gateway processes. Every
 * operation is atomic on its key.
 */
export interface CounterStore {
  /** Adds `amount` (may be negative) to a counter and returns the new value. The counter expires `ttlMs` after its first increment. */
  incrBy(key: string, amount: number, ttlMs: number): Promise<number>;
  /** The current value (0 when absent or expired). */
  get(key: string): Promise<number>;
  /**
   * GCRA (generic cell rate algorithm, a token bucket without a refill timer): admits `cost`
   * units when the bucket of `burst` units refilled at one unit per `emissionMs` allows it.
   */
  gcra(key: string, cost: number, emissionMs: number, burst: number, now: number): Promise<GcraResult>;
  /** Sets a key with a value until an absolute time (bans). */
  setUntil(key: string, value: string, untilMs: number): Promise<void>;
  /** Reads a key set with setUntil; undefined when absent or expired. */
  getUntil(key: string): Promise<{ value: string; untilMs: number } | undefined>;
  delete(key: string): Promise<void>;
  /** Lists keys set with setUntil under a prefix (bans listing). */
  scanUntil(prefix: string): Promise<{ key: string; value: string; untilMs: number }[]>;
  close(): Promise<void>;
}

export interface GcraResult {
  allowed: boolean;
  /** Units still available right after this decision. */
  remaining: number;
  /** When the bucket is full again, in ms from now. */
  resetMs: number;
  /** When `cost` units would be admitted, in ms from now (0 when allowed). */
  retryAfterMs: number;
}
