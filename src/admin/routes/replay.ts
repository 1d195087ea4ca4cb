import { type Static, Type as T } from '@sinclair/typebox';
import { formatAjvErrors, validator } from '../../config/ajv.js';
import { parseConfigText } from '../../config/load.js';
import { ConfigError } from '../../core/errors.js';
import { replayEnv } from '../../replay/env.js';
import { requestedRange } from './range.js';
import { parsePercent, runReplay } from '../../replay/run.js';
import { AdminError, readJson, sendJson } from '../http.js';
import type { AdminModule } from '../server.js';
import { op } from './op-doc.js';

const ReplayBody = T.Object(
  {
    candidate: T.Union([T.String(), T.Object({}, { additionalProperties: true })], {
      description: 'The candidate config: an object, or YAML/JSON text.',
    }),
    since: T.Optional(
      T.String({ description: 'Recorded requests of the last `since` (`24h`, `30m`, `7d`).' }),
    ),
    from: T.Optional(
      T.String({ description: 'Start of the range: ISO date or epoch ms (instead of since).' }),
    ),
    to: T.Optional(T.String({ description: 'End of the range (default now).' })),
    route: T.Optional(T.String({ description: 'Only requests recorded on this route.' })),
    consumer: T.Optional(T.String({ description: 'Only requests of this consumer.' })),
    limit: T.Optional(
      T.Integer({ minimum: 1, maximum: 10_000_000, description: 'At most this many records.' }),
    ),
    examples: T.Optional(
      T.Integer({ minimum: 0, maximum: 100, description: 'Examples per kind of change.' }),
    ),
    requests: T.Optional(
      T.Integer({
        minimum: 0,
        maximum: 100_000,
        description: 'Return per-request outcomes, up to this many.',
      }),
    ),
    failOnNewlyDenied: T.Optional(
      T.String({ description: 'Threshold such as `0.1%`: the report says whether it was crossed.' }),
    ),
  },
  { additionalProperties: false },
);
const check = validator(ReplayBody);

/**
 * `POST /replay`: recorded requests through the candidate and the current revision, the
 * changes reported. With `Accept: application/x-ndjson` the answer streams `{"progress":…}`
 * lines and ends with `{"report":…}`.
 */
export const replayModule: AdminModule = (route, deps) => {
  route(
    'POST',
    '/replay',
    async (req, res) => {
      const raw = await readJson(req, deps.maxBodyBytes);
      if (!check(raw))
        throw new AdminError('PCS_ERR_ADMIN_BAD_INPUT', 'invalid replay request', {
          issues: formatAjvErrors(check.errors),
        });
      const body = raw as Static<typeof ReplayBody>;
      const env = replayEnv(deps.revisions);
      if (!env) throw new AdminError('PCS_ERR_ADMIN_NOT_FOUND', 'replay is not available on this gateway');
      const range = requestedRange(deps.clock.now(), body, '24h');
      let threshold: number | undefined;
      if (body.failOnNewlyDenied !== undefined) {
        threshold = parsePercent(body.failOnNewlyDenied);
        if (threshold === undefined)
          throw new AdminError(
            'PCS_ERR_ADMIN_BAD_INPUT',
            `failOnNewlyDenied: '${body.failOnNewlyDenied}' is not a percentage`,
          );
      }
      let candidate: unknown;
      try {
        candidate =
          typeof body.candidate === 'string' ? parseConfigText(body.candidate, 'candidate') : body.candidate;
      } catch (err) {
        throw refused(err);
      }
      await env.recorder?.flush();
      const stream = /application\/x-ndjson/.test(String(req.headers.accept ?? ''));
      const progress = stream
        ? (done: number, total: number) => {
            if (!res.headersSent)
              res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
            res.write(`${JSON.stringify({ progress: { done, total } })}\n`);
          }
        : undefined;
      let report: Awaited<ReturnType<typeof runReplay>>;
      try {
        report = await runReplay(
          {
            registry: env.registry,
            secretEnv: env.secretEnv,
            services: deps.services,
            current: deps.revisions.current,
            currentId: deps.revisions.active?.id ?? null,
            monotonic: () => performance.now(),
          },
          {
            candidate,
            ...range,
            route: body.route,
            consumer: body.consumer,
            limit: body.limit,
            examples: body.examples,
            requests: body.requests,
            failOnNewlyDeniedPercent: threshold,
          },
          progress,
        );
      } catch (err) {
        if (!res.headersSent) throw refused(err);
        res.end(`${JSON.stringify({ error: { message: (err as Error).message } })}\n`);
        return;
      }
      if (stream) {
        if (!res.headersSent) res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        res.end(`${JSON.stringify({ report })}\n`);
      } else sendJson(res, 200, report);
    },
    false,
    op('Replay recorded requests through a candidate config and the running revision', {
      ok: {
        '200':
          'The report (`newlyDenied`, `newlyAllowed`, breakdowns, examples...); with `Accept: application/x-ndjson`, progress lines then `{report}`',
      },
      errors: { '400': 'Bad input, or a candidate refused (`PCS_ERR_CONFIG_INVALID` with `issues`)' },
      body: '`{candidate, since | from/to, route?, consumer?, limit?, examples?, requests?, failOnNewlyDenied?}`',
    }),
  );
};

function refused(err: unknown): unknown {
  if (err instanceof ConfigError)
    return new AdminError('PCS_ERR_CONFIG_INVALID', 'Candidate configuration refused', {
      issues: err.issues,
    });
  return err;
}
