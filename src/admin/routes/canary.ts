import { parseCanary } from '../../canary/spec.js';
import { CanaryConflictError } from '../../canary/canary.js';
import { ConfigError } from '../../core/errors.js';
import { NotFoundError } from '../../runtime/revisions.js';
import { AdminError, readJson, sendJson } from '../http.js';
import { type AdminModule, requireNoApproval } from '../server.js';
import { op } from './op-doc.js';

function asAdmin(err: unknown): never {
  if (err instanceof CanaryConflictError) throw new AdminError('PCS_ERR_CANARY_CONFLICT', err.message);
  if (err instanceof NotFoundError) throw new AdminError('PCS_ERR_ADMIN_NOT_FOUND', err.message);
  if (err instanceof ConfigError)
    throw new AdminError('PCS_ERR_CONFIG_INVALID', 'Configuration refused', { issues: err.issues });
  throw err;
}

/**
 * Canary: a candidate revision for a slice of traffic (a sticky percentage or a consumer group),
 * both cohorts measured side by side, promotion and abort in one call, and a guard that rolls the
 * canary back when a bound stays exceeded. See docs/canary.md.
 */
export const canaryRoutes: AdminModule = (route, deps) => {
  const { revisions, clock } = deps;
  const view = () => {
    const c = revisions.canary;
    return { canary: c ? c.view(clock.now()) : null, stable: revisions.active ?? null };
  };

  route(
    'GET',
    '/canary',
    async (_q, res) => sendJson(res, 200, view()),
    false,
    op('The running canary and both cohorts side by side', {
      ok: { '200': '`{canary (null when none runs), stable}`' },
    }),
  );

  route(
    'POST',
    '/canary',
    async (req, res, _p, _q, actor) => {
      const parsed = parseCanary(await readJson(req, deps.maxBodyBytes));
      if (!parsed.ok)
        throw new AdminError('PCS_ERR_ADMIN_BAD_INPUT', 'invalid canary', { issues: parsed.issues });
      try {
        await requireNoApproval(deps, parsed.value.config, actor);
        await revisions.startCanary(parsed.value.config, {
          author: actor,
          message: parsed.value.message,
          slice: parsed.slice,
          rollback: parsed.rollback,
        });
      } catch (err) {
        if (err instanceof AdminError) throw err;
        asAdmin(err);
      }
      sendJson(res, 201, view());
    },
    false,
    op('Start a canary', {
      body: '`{ config, percent | group, sticky?, rollback?, message? }`',
      ok: { '201': 'Started: `{canary, stable}`' },
      errors: {
        '400': 'Bad input or a configuration refused (with `issues`)',
        '409': 'A canary is running, or the change needs an approval',
      },
    }),
  );

  route(
    'POST',
    '/canary/promote',
    async (_q, res, _p, _query, actor) => {
      const rev = await revisions.promoteCanary(actor).catch(asAdmin);
      sendJson(res, 200, { status: 'promoted', revision: rev });
    },
    false,
    op('Make the canary the active revision for all traffic', {
      ok: { '200': '`{status: promoted, revision}`' },
      errors: { '404': 'No canary is running' },
    }),
  );

  route(
    'POST',
    '/canary/abort',
    async (req, res, _p, _query, actor) => {
      const body =
        req.headers['content-length'] && req.headers['content-length'] !== '0'
          ? ((await readJson(req, deps.maxBodyBytes)) as { reason?: unknown })
          : {};
      const reason = typeof body?.reason === 'string' ? body.reason.slice(0, 500) : 'aborted by an operator';
      const rev = await revisions.abortCanary(actor, reason).catch(asAdmin);
      sendJson(res, 200, { status: 'aborted', revision: rev, reason });
    },
    false,
    op('End the canary: all traffic back on the stable revision', {
      body: '`{reason?}`',
      ok: { '200': '`{status: aborted, revision, reason}`' },
      errors: { '404': 'No canary is running' },
    }),
  );

  route(
    'POST',
    '/canary/evaluate',
    async (_q, res) => {
      if (!revisions.canary) throw new AdminError('PCS_ERR_ADMIN_NOT_FOUND', 'no canary is running');
      const e = await revisions.evaluateCanary();
      sendJson(res, 200, { evaluation: e ?? null, canary: view().canary });
    },
    false,
    op('Run one rollback-guard evaluation now (it also runs every `rollback.interval`)', {
      ok: { '200': '`{evaluation, canary}`' },
      errors: { '404': 'No canary is running' },
    }),
  );
};
