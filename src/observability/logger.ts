import pino, { type DestinationStream, type Logger } from 'pino';

export type LogSink = DestinationStream | undefined;

/** The operational log (warnings, revision changes, degraded modes). */
export function createLogger(opts: { level?: string; sink?: LogSink } = {}): Logger {
  const level = opts.level ?? process.env.PORTCULLIS_LOG_LEVEL ?? 'info';
  return pino(
    {
      level,
      base: { svc: 'portcullis' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: ['*.authorization', '*.token', '*.password'],
    },
    opts.sink ?? pino.destination({ dest: 2, sync: false }),
  );
}

/**
 * The access log: one JSON line per request, written straight to pino's destination
 * (sonic-boom, batched 4 KiB or every second). It is the hottest log in the gateway and its
 * records have a fixed, flat shape, so it skips pino's field-by-field serialisation and its
 * level machinery: one JSON.stringify per request. Lines keep pino's `level` and ISO `time`.
 */
export class AccessLog {
  constructor(private readonly dest: DestinationStream & { flushSync?(): void; flush?(): void }) {}

  info(record: Record<string, unknown>): void {
    // `time` first, as pino writes it; undefined fields are left out by JSON.stringify.
    const body = JSON.stringify(record);
    const time = new Date().toISOString();
    this.dest.write(
      body.length > 2 ? `{"level":30,"time":"${time}",${body.slice(1)}\n` : `{"level":30,"time":"${time}"}\n`,
    );
  }

  flush(): void {
    try {
      this.dest.flushSync?.();
    } catch {
      this.dest.flush?.();
    }
  }
}

export function createAccessLog(opts: { sink?: LogSink; path?: string } = {}): AccessLog {
  // Lines are batched (4 KiB, or every second) rather than written one syscall each; the
  // gateway flushes on stop, so only a crash can lose the last second of lines.
  const dest =
    opts.sink ??
    pino.destination({
      dest: opts.path ?? 1,
      sync: false,
      mkdir: true,
      minLength: 4096,
      periodicFlush: 1000,
    } as never);
  return new AccessLog(dest as DestinationStream);
}

/** A sink that keeps parsed lines in memory, for tests and the console's live tail. */
export class MemorySink implements DestinationStream {
  readonly lines: Record<string, unknown>[] = [];
  write(line: string): void {
    this.lines.push(JSON.parse(line));
  }
}
