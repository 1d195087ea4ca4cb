import { type Static, Type as T } from '@sinclair/typebox';

const Day = T.Union(
  ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => T.Literal(d)),
  { description: 'A day of the week: mon, tue, wed, thu, fri, sat, sun.' },
);
const Clock = (description: string) =>
  T.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$', description });

export const WindowSchema = T.Object(
  {
    days: T.Optional(
      T.Array(Day, {
        minItems: 1,
        maxItems: 7,
        description: 'Days the window opens on (default every day).',
      }),
    ),
    from: Clock('Opening time, `HH:MM` on the wall clock of `timeZone` (inclusive).'),
    to: Clock(
      'Closing time, `HH:MM` (exclusive; `24:00` is midnight). Earlier than `from`: the window runs past midnight into the next day.',
    ),
  },
  { additionalProperties: false },
);

export const ScheduleSchema = T.Object(
  {
    timeZone: T.Optional(
      T.String({ minLength: 1, description: 'IANA time zone of the windows (default `UTC`), DST-aware.' }),
    ),
    windows: T.Array(WindowSchema, {
      minItems: 1,
      maxItems: 64,
      description: 'When the route is open; outside every window it is refused.',
    }),
    status: T.Optional(
      T.Union([T.Literal(403), T.Literal(404), T.Literal(503)], {
        description: 'Status outside the windows: 403 (default), 404 or 503.',
      }),
    ),
  },
  { additionalProperties: false },
);

export type ScheduleConfig = Static<typeof ScheduleSchema>;
