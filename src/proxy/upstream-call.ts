import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';

/** Why the gateway itself ended an upstream call. */
export class CallAborted extends Error {
  constructor(readonly reason: 'client-gone' | 'read-timeout' | 'total-timeout' | 'dropped') {
    super(`upstream call aborted: ${reason}`);
  }
}

const EARLY_LIMIT = 64 * 1024;

export interface UpstreamHead {
  statusCode: number;
  headers: IncomingHttpHeaders;
}

/**
 * One upstream exchange over undici's dispatch API. `head` settles when the response headers
 * arrive (or the call fails before them); then `pipeTo(res)` writes body chunks straight into
 * the client's response, pausing the upstream socket while the client is slow. No intermediate
 * stream, AbortController or pipeline per request: this is the data plane's hottest code.
 */
export class UpstreamCall implements Dispatcher.DispatchHandler {
  readonly head: Promise<UpstreamHead>;
  /** Set once the call ended: undefined on success, the error otherwise. */
  onSettled: ((err: Error | undefined) => void) | undefined = undefined;
  bytes = 0;
  /** Sees every body chunk on its way to the client (response body observers). */
  tap: ((chunk: Buffer) => void) | undefined = undefined;
  private resolveHead!: (h: UpstreamHead) => void;
  private rejectHead!: (err: Error) => void;
  private controller: Dispatcher.DispatchController | undefined;
  private pendingAbort: Error | undefined;
  private headSeen = false;
  private settled = false;
  private sink: ServerResponse | undefined;
  private discarding = false;
  /** Chunks that arrived between the head and pipeTo(). */
  private early: Buffer[] | undefined;
  private earlyBytes = 0;
  private ended = false;
  /** The end of a body that finished before pipeTo(), waiting to be reported. */
  private pending: { err: Error | undefined } | undefined;
  private endError: Error | undefined;

  constructor() {
    this.head = new Promise<UpstreamHead>((resolve, reject) => {
      this.resolveHead = resolve;
      this.rejectHead = reject;
    });
    // A head that nobody awaits any more (the client left) must not become an unhandled rejection.
    this.head.catch(() => undefined);
  }

  /** Ends the call from the gateway's side (timeouts, a client that left, a response policy). */
  abort(err: Error): void {
    if (this.pending) {
      this.settle(this.pending.err);
      return;
    }
    if (this.settled) return;
    if (this.controller) this.controller.abort(err);
    else this.pendingAbort = err;
  }

  /** Streams the body into the client's response; ends it when the upstream ends. */
  pipeTo(res: ServerResponse): void {
    this.sink = res;
    if (this.early) {
      for (const c of this.early) {
        this.tap?.(c);
        res.write(c);
      }
      this.early = undefined;
      if (this.earlyBytes > EARLY_LIMIT) this.controller?.resume();
    }
    if (this.ended) {
      if (this.pending) this.settle(this.pending.err);
      if (this.endError) res.destroy();
      else res.end();
    }
  }

  /** Reads and drops the rest of the body (to reuse the connection before a retry). */
  discard(): Promise<void> {
    this.discarding = true;
    this.early = undefined;
    if (this.pending) this.settle(this.pending.err);
    if (this.ended) return Promise.resolve();
    return new Promise((resolve) => {
      const prev = this.onSettled;
      this.onSettled = (err) => {
        prev?.(err);
        resolve();
      };
    });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.pendingAbort) controller.abort(this.pendingAbort);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
  ): void {
    if (statusCode < 200) return; // 1xx informational
    this.controller = controller;
    this.headSeen = true;
    this.resolveHead({ statusCode, headers });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.discarding) return;
    this.tap?.(chunk);
    const res = this.sink;
    if (!res) {
      // Response policies are still deciding: hold a little, then stop reading the socket.
      if (!this.early) this.early = [];
      this.early.push(chunk);
      this.earlyBytes += chunk.length;
      if (this.earlyBytes > EARLY_LIMIT) controller.pause();
      return;
    }
    if (!res.write(chunk)) {
      controller.pause();
      res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    this.ended = true;
    // A body that ended before pipeTo() (small answers, while response policies ran) settles
    // when it is piped, so that the settle handler and body tap set meanwhile see it.
    if (this.headSeen && !this.sink && !this.discarding) {
      this.pending = { err: undefined };
      return;
    }
    this.settle(undefined);
    this.sink?.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.ended = true;
    this.endError = err;
    if (!this.headSeen) this.rejectHead(err);
    else if (this.sink && !this.sink.writableEnded) this.sink.destroy();
    else if (!this.sink && !this.discarding && !(err instanceof CallAborted)) {
      this.pending = { err };
      return;
    }
    this.settle(err);
  }

  private settle(err: Error | undefined): void {
    this.pending = undefined;
    if (this.settled) return;
    this.settled = true;
    this.onSettled?.(err);
  }
}
