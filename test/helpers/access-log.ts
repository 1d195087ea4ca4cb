import type { MemorySink } from '../../src/observability/logger.js';

/**
 * The access-log line of one request, found by its request id: the line is written when the
 * response closes, which may be just after the client read it, and other requests may be
 * writing lines meanwhile. Waits (bounded) for that line; never reads "the last line".
 */
export async function accessLine(
  sink: MemorySink,
  requestId: string,
  timeoutMs = 5000,
): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = sink.lines.find((l) => l.request_id === requestId);
    if (line) return line as Record<string, any>;
    if (Date.now() > deadline) throw new Error(`no access-log line for request ${requestId}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
