import type { PolicyContext } from '../../core/context.js';
import { definePolicy } from '../../core/policy.js';
import { ScheduleSchema } from './schema.js';
import { ZonedTime } from './zoned-time.js';

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const WEEK = 7 * 1440;

const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));

/**
 * Opens a route only in given weekly windows, on the wall clock of a time zone (DST-aware, with
 * Intl). The windows become a bitmap of the week's minutes; the wall clock is computed once a minute.
 */
export const schedule = definePolicy({
  name: 'schedule',
  description: 'Allow requests only in given weekly time windows, in a time zone.',
  schema: ScheduleSchema,
  priority: 8,
  create(config) {
    const tz = config.timeZone ?? 'UTC';
    let zoned: ZonedTime;
    try {
      zoned = new ZonedTime(tz);
    } catch (err) {
      throw new Error(`timeZone: ${(err as Error).message}`);
    }
    const open = new Uint8Array(WEEK);
    config.windows.forEach((w, i) => {
      const from = minutes(w.from);
      const to = minutes(w.to);
      if (from === to) throw new Error(`windows/${i}: 'from' and 'to' are equal; the window would be empty`);
      const days = (w.days ?? DAYS).map((d) => DAYS.indexOf(d));
      for (const d of days) {
        const start = d * 1440 + from;
        const length = to > from ? to - from : 1440 - from + to; // past midnight into the next day
        for (let m = 0; m < length; m++) open[(start + m) % WEEK] = 1;
      }
    });
    const status = config.status;
    let cachedMinute = Number.NaN;
    let cachedOpen = false;
    let cachedWall = '';
    return {
      request: function schedule(ctx: PolicyContext) {
        const minute = Math.floor(ctx.now() / 60_000);
        if (minute !== cachedMinute) {
          const w = zoned.wall(minute * 60_000);
          cachedOpen = open[w.weekday * 1440 + w.hour * 60 + w.minute] === 1;
          cachedWall = `${DAYS[w.weekday]} ${String(w.hour).padStart(2, '0')}:${String(w.minute).padStart(2, '0')} ${tz}`;
          cachedMinute = minute;
        }
        if (cachedOpen) return undefined;
        return ctx.reject('PCS_ERR_OUTSIDE_SCHEDULE', {
          rule: `closed:${tz}`,
          detail: `closed at ${cachedWall}`,
          status,
        });
      },
    };
  },
});
