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
   * Reserves several amounts at once, atomically: every item is checked against its `limit`
   * on the current values, and all are added only when all fit (none when one does not). An
   * item fits when `current + amount <= limit`; an item of amount 0 (a cost budget, charged
   * later) fits while `current < limit`. Items without a limit always fit. A counter expires
   * `ttlMs` after its first increment, as with `incrBy`.
   */
  reserve(items: readonly Reservation[]): Promise<ReserveResult>;
  /**
   * GCRA (generic cell rate algorithm, a token bucket without a refill timer): admits `cost`
   * units when the bucket of `burst` units refilled at one unit per `emissionMs` allows it.
   */
  gcra(key: string, cost: number, emissionMs: number, burst: number, now: number): Promise<GcraResult>;
  /**
   * One rate-limit decision over several limits, atomically and in one round trip: every check
   * is evaluated against the current state, and the state is changed only when all admit
   * (a request denied by its hourly limit does not spend its per-second budget).
   */
  limit(checks: readonly LimitCheck[], now: number): Promise<LimitDecision>;
  /** Sets a key with a value until an absolute time (bans). */
  setUntil(key: string, value: string, untilMs: number): Promise<void>;
  /** Reads a key set with setUntil; undefined when absent or expired. */
  getUntil(key: string): Promise<{ value: string; untilMs: number } | undefined>;
  delete(key: string): Promise<void>;
  /** Lists keys set with setUntil under a prefix (bans listing). */
  scanUntil(prefix: string): Promise<{ key: string; value: string; untilMs: number }[]>;
  close(): Promise<void>;
  /** Waits for a remote store to connect (false on timeout: the gateway starts degraded). */
  ready?(timeoutMs?: number): Promise<boolean>;
}

/** One amount of a `reserve`. */
export interface Reservation {
  key: string;
  /** A non-negative integer. */
  amount: number;
  limit?: number;
  ttlMs: number;
}

/** Every item reserved, or the first that did not fit and its current value (nothing changed). */
export type ReserveResult = { ok: true } | { ok: false; index: number; current: number };

/** Whether `amount` more fits under `limit` at `current` (see `CounterStore.reserve`). */
export function fits(current: number, amount: number, limit: number | undefined): boolean {
  if (limit === undefined) return true;
  return amount === 0 ? current < limit : current + amount <= limit;
}

/** The outcome of one limit (GCRA, sliding or fixed window). */
export interface GcraResult {
  allowed: boolean;
  /** Units still available right after this decision. */
  remaining: number;
  /** When the bucket is full again (the window has no count left), in ms from now. */
  resetMs: number;
  /** When `cost` units would be admitted, in ms from now (0 when allowed). */
  retryAfterMs: number;
}

/** One limit of a decision (see `limit`). Keys of one decision should share a Redis hash tag. */
export type LimitCheck =
  /** GCRA: `burst` units, refilled one per `emissionMs`. State: the theoretical arrival time. */
  | { kind: 'gcra'; key: string; cost: number; emissionMs: number; burst: number }
  /** Sliding window (two fixed windows, the previous one weighted by its overlap). */
  | { kind: 'sliding'; key: string; cost: number; limit: number; windowMs: number }
  /** A fixed window with explicit bounds: calendar quotas (a day, a month in a time zone). */
  | { kind: 'fixed'; key: string; cost: number; limit: number; windowStart: number; windowEnd: number };

export interface LimitDecision {
  allowed: boolean;
  /** One result per check, in order. */
  results: GcraResult[];
}

/** The store could not be reached or answered with an error; the caller fails open or closed. */
export class CounterStoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CounterStoreUnavailableError';
  }
}
