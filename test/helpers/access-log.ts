import type { MemorySink } from '../../src/observability/logger.js';

type Line = Record<string, any>;

/** Waits (bounded) until `pick` finds something in the sink's lines; the error names `what`. */
async function waitIn<T>(
  sink: MemorySink,
  pick: () => T | undefined,
  what: string,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = pick();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`${what}; got ${JSON.stringify(sink.lines.slice(-5))}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * The access-log line of one request, found by its request id: the line is written when the
 * response closes, which may be just after the client read it, and other requests may be
 * writing lines meanwhile. Waits (bounded) for that line; never reads "the last line".
 */
export async function accessLine(sink: MemorySink, requestId: string, timeoutMs = 5000): Promise<Line> {
  return waitIn(
    sink,
    () => sink.lines.find((l) => l.request_id === requestId) as Line | undefined,
    `no access-log line for request ${requestId}`,
    timeoutMs,
  );
}

/** The access-log line of the request that got `reply`, by the `x-request-id` the gateway echoed. */
export async function accessLineOf(
  sink: MemorySink,
  reply: { headers: Record<string, string | string[] | undefined> },
  timeoutMs = 5000,
): Promise<Line> {
  const id = reply.headers['x-request-id'];
  if (typeof id !== 'string')
    throw new Error('the reply carries no x-request-id to find its access-log line by');
  return accessLine(sink, id, timeoutMs);
}

/**
 * For lines that carry no request id the test knows (a request the gateway refused before it
 * read the headers, a raw socket): waits (bounded) for `count` lines from index `from` on that
 * satisfy `pred`, and returns them.
 */
export async function accessLines(
  sink: MemorySink,
  pred: (l: Line) => boolean,
  opts: { from?: number; count?: number; timeoutMs?: number } = {},
): Promise<Line[]> {
  const { from = 0, count = 1, timeoutMs = 5000 } = opts;
  return waitIn(
    sink,
    () => {
      const found = (sink.lines.slice(from) as Line[]).filter(pred);
      return found.length >= count ? found : undefined;
    },
    `fewer than ${count} matching access-log line(s)`,
    timeoutMs,
  );
}
