import { type Static, Type as T } from '@sinclair/typebox';
import { formatAjvErrors, validator } from '../config/ajv.js';
import type { ConfigIssue } from '../core/errors.js';
import type { RollbackBounds, SliceSpec } from './canary.js';

const Duration = T.String({ pattern: '^[0-9]{1,9}(ms|s|m|h)$', description: '`500ms`, `30s`, `5m`, `1h`.' });

export const CanaryBody = T.Object(
  {
    config: T.Unknown({ description: 'The candidate config (the same document `POST /config` takes).' }),
    message: T.Optional(T.String({ maxLength: 1000 })),
    percent: T.Optional(T.Number({ minimum: 0.01, maximum: 100, description: 'Share of callers, sticky.' })),
    group: T.Optional(
      T.String({ minLength: 1, maxLength: 200, description: 'A consumer group served by the canary.' }),
    ),
    sticky: T.Optional(
      T.Union([T.Literal('consumer'), T.Literal('ip')], {
        description: 'Percent mode: hash the credential presented (`consumer`, default) or the client IP.',
      }),
    ),
    rollback: T.Optional(
      T.Object(
        {
          maxDenyRate: T.Optional(T.Number({ minimum: 0, maximum: 1 })),
          max5xxRate: T.Optional(T.Number({ minimum: 0, maximum: 1 })),
          maxP99Ms: T.Optional(T.Number({ exclusiveMinimum: 0 })),
          for: T.Optional(Duration),
          interval: T.Optional(Duration),
          minRequests: T.Optional(T.Integer({ minimum: 1, maximum: 1_000_000 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type CanaryBody = Static<typeof CanaryBody>;

const check = validator(CanaryBody);

export function durationMs(s: string): number {
  const m = /^(\d+)(ms|s|m|h)$/.exec(s);
  if (!m) throw new Error(`bad duration ${s}`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms'];
}

/** Checks a canary request; returns the slice and bounds, or the issues by path. */
export function parseCanary(
  body: unknown,
):
  | { ok: true; value: CanaryBody; slice: SliceSpec; rollback?: RollbackBounds }
  | { ok: false; issues: ConfigIssue[] } {
  if (!check(body)) return { ok: false, issues: formatAjvErrors(check.errors) };
  const b = body as CanaryBody;
  if ((b.percent === undefined) === (b.group === undefined))
    return { ok: false, issues: [{ path: '/', message: 'give exactly one of percent or group' }] };
  const slice: SliceSpec = { sticky: b.sticky ?? 'consumer' };
  if (b.percent !== undefined) slice.percent = b.percent;
  if (b.group !== undefined) slice.group = b.group;
  const r = b.rollback;
  const rollback: RollbackBounds | undefined = r
    ? {
        maxDenyRate: r.maxDenyRate,
        max5xxRate: r.max5xxRate,
        maxP99Ms: r.maxP99Ms,
        forMs: durationMs(r.for ?? '1m'),
        intervalMs: Math.max(100, durationMs(r.interval ?? '10s')),
        minRequests: r.minRequests ?? 20,
      }
    : undefined;
  return { ok: true, value: b, slice, rollback };
}
