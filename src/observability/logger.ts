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

/** The access log: one JSON line per request. */
export function createAccessLog(opts: { sink?: LogSink; path?: string } = {}): Logger {
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
  return pino({ base: undefined, timestamp: pino.stdTimeFunctions.isoTime, messageKey: 'msg' }, dest);
}

/** A sink that keeps parsed lines in memory, for tests and the console's live tail. */
export class MemorySink implements DestinationStream {
  readonly lines: Record<string, unknown>[] = [];
  write(line: string): void {
    this.lines.push(JSON.parse(line));
  }
}
