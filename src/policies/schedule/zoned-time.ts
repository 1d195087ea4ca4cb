/** Wall-clock time in an IANA time zone, with Intl only (no time-zone library). */
export interface WallTime {
  year: number;
  /** 1-12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 = Sunday ... 6 = Saturday */
  weekday: number;
}

const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

/** Throws a readable error for a zone Intl does not know. */
export function checkTimeZone(tz: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    throw new Error(`'${tz}' is not an IANA time zone (e.g. UTC, Europe/Paris, America/New_York)`);
  }
}

export class ZonedTime {
  private readonly fmt: Intl.DateTimeFormat;

  constructor(readonly timeZone: string) {
    checkTimeZone(timeZone);
    this.fmt = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  /** The wall-clock time at instant `t` (epoch ms). */
  wall(t: number): WallTime {
    const w: WallTime = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0, weekday: 0 };
    for (const p of this.fmt.formatToParts(t)) {
      if (p.type === 'weekday') w.weekday = WEEKDAYS[p.value] ?? 0;
      else if (p.type in w) (w as unknown as Record<string, number>)[p.type] = Number(p.value);
    }
    return w;
  }

  /** The instant at which the wall clock shows this date and time (the earlier one in a DST overlap). */
  instant(year: number, month: number, day: number, hour = 0, minute = 0): number {
    const asUtc = Date.UTC(year, month - 1, day, hour, minute);
    const first = asUtc - this.offset(asUtc);
    const second = asUtc - this.offset(first);
    return Math.min(first, second);
  }

  /** Start (inclusive) and end (exclusive) of the calendar day or month containing `t`. */
  period(t: number, unit: 'day' | 'month'): { start: number; end: number } {
    const w = this.wall(t);
    if (unit === 'day')
      return { start: this.instant(w.year, w.month, w.day), end: this.instant(w.year, w.month, w.day + 1) };
    return { start: this.instant(w.year, w.month, 1), end: this.instant(w.year, w.month + 1, 1) };
  }

  /** Wall clock minus UTC at instant `t`, in ms. */
  private offset(t: number): number {
    const w = this.wall(t);
    return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(t / 1000) * 1000;
  }
}
