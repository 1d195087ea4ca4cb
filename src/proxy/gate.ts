/** How a wait in the gate's queue ended. */
export type Admission = 'admitted' | 'timeout' | 'cancelled';

/** A request waiting for a slot: `admitted` settles once; `cancel` gives up (the client left). */
export class Waiter {
  readonly admitted: Promise<Admission>;
  settled = false;
  private resolve!: (a: Admission) => void;
  private readonly timer: NodeJS.Timeout;

  constructor(
    timeoutMs: number,
    private readonly onDone: () => void,
  ) {
    this.admitted = new Promise((r) => {
      this.resolve = r;
    });
    this.timer = setTimeout(() => this.settle('timeout'), timeoutMs);
  }

  settle(a: Admission): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.onDone();
    this.resolve(a);
  }

  cancel(): void {
    this.settle('cancelled');
  }
}

/**
 * A service's cap on upstream calls in flight (each holds one upstream connection), with a
 * bounded FIFO queue in front: at most `max` holders, at most `queueSize` waiters, each for at
 * most `timeoutMs`. Taking a free slot is synchronous and allocates nothing; a leaving holder
 * hands its slot to the oldest waiter still waiting.
 */
export class ConnectionGate {
  active = 0;
  /** Waiters still waiting (the queue may also hold settled ones, skipped when reached). */
  waiting = 0;
  private readonly queue: Waiter[] = [];
  private readonly done = () => {
    this.waiting--;
  };

  constructor(
    readonly max: number,
    readonly queueSize: number,
    readonly timeoutMs: number,
  ) {}

  /** `true`: a slot is taken; `false`: the queue is full; a Waiter: wait on `admitted`. */
  enter(): boolean | Waiter {
    if (this.active < this.max) {
      this.active++;
      return true;
    }
    if (this.waiting >= this.queueSize) return false;
    while (this.queue.length && this.queue[0].settled) this.queue.shift();
    this.waiting++;
    const w = new Waiter(this.timeoutMs, this.done);
    this.queue.push(w);
    return w;
  }

  /**
   * Gives a slot back: to the oldest live waiter (the slot stays taken), or frees it. Called when
   * an upstream call settles, which is before undici counts its connection free again; the waiter
   * is woken on the next turn of the event loop, so that it reuses that connection.
   */
  leave(): void {
    if (this.waiting === 0) {
      if (this.active > 0) this.active--;
      return;
    }
    setImmediate(this.handOver);
  }

  private readonly handOver = () => {
    for (let w = this.queue.shift(); w !== undefined; w = this.queue.shift()) {
      if (w.settled) continue;
      w.settle('admitted');
      return;
    }
    if (this.active > 0) this.active--;
  };
}
