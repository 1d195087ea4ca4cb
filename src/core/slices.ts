import { performance } from 'node:perf_hooks';

/**
 * A long piece of work written as a generator that `yield`s between small units (one route, one
 * policy, one tree insert). A driver runs it: `runSync` in one go (the CLI, replay, tests), or
 * `runSliced`, which gives the event loop a turn whenever a slice has run for its budget, so that a
 * 20,000-route compile does not stall the requests the running revision is serving.
 */
export type Steps<T> = Generator<void, T, void>;

/** Runs steps to the end without yielding to the event loop. */
export function runSync<T>(steps: Steps<T>): T {
  let r = steps.next();
  while (!r.done) r = steps.next();
  return r.value;
}

export interface SliceOptions {
  /** Longest run between two turns of the event loop, in ms (default 5). */
  budgetMs?: number;
  /** Called each time the event loop is given a turn (tests count them). */
  onYield?: () => void;
}

/** The default time slice: short against a request's latency, long against a loop turn. */
export const SLICE_BUDGET_MS = 5;

/**
 * Runs steps in slices of about `budgetMs`, with a macrotask (`setImmediate`) between slices:
 * timers and I/O (requests) run there. An exception thrown by the steps rejects the promise.
 */
export async function runSliced<T>(steps: Steps<T>, opts: SliceOptions = {}): Promise<T> {
  const budget = opts.budgetMs ?? SLICE_BUDGET_MS;
  let start = performance.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() - start >= budget) {
      opts.onYield?.();
      await new Promise<void>((resolve) => setImmediate(resolve));
      start = performance.now();
    }
  }
}

/** `array.map(fn)` with a step between elements. */
export function* mapSteps<T, U>(items: readonly T[], fn: (item: T, index: number) => U): Steps<U[]> {
  const out: U[] = new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    out[i] = fn(items[i], i);
    yield;
  }
  return out;
}

/** `array.forEach(fn)` with a step between elements. */
export function* eachStep<T>(items: readonly T[], fn: (item: T, index: number) => void): Steps<void> {
  for (let i = 0; i < items.length; i++) {
    fn(items[i], i);
    yield;
  }
}
