import { type Static, Type as T } from '@sinclair/typebox';
import { ApprovalError } from '../../approvals/approvals.js';
import { formatAjvErrors, validator } from '../../config/ajv.js';
import { ConfigError } from '../../core/errors.js';
import { AdminError, readJson, sendJson } from '../http.js';
import type { AdminModule } from '../server.js';
import { op } from './op-doc.js';

const ProposalBody = T.Object(
  {
    config: T.Unknown({ description: 'The proposed config (the document `POST /config` takes).' }),
    message: T.Optional(T.String({ maxLength: 1000 })),
    activateAt: T.Optional(
      T.String({ format: 'date-time', description: 'Activate at this time once approved.' }),
    ),
    canary: T.Optional(
      T.Record(T.String(), T.Unknown(), {
        description: 'Activate as a canary: the `POST /canary` fields without `config`.',
      }),
    ),
  },
  { additionalProperties: false },
);
const ApproveBody = T.Object(
  { activateAt: T.Optional(T.String({ format: 'date-time' })) },
  { additionalProperties: false },
);
const RejectBody = T.Object(
  { reason: T.String({ minLength: 1, maxLength: 2000 }) },
  { additionalProperties: false },
);

function check<V>(schema: Parameters<typeof validator>[0], body: unknown, what: string): V {
  const v = validator(schema);
  if (!v(body))
    throw new AdminError('PCS_ERR_ADMIN_BAD_INPUT', `invalid ${what}`, { issues: formatAjvErrors(v.errors) });
  return body as V;
}

async function optionalJson(req: Parameters<typeof readJson>[0], max: number): Promise<unknown> {
  const len = req.headers['content-length'];
  if ((len === undefined || len === '0') && !req.headers['transfer-encoding']) return {};
  return readJson(req, max);
}

function asAdmin(err: unknown): never {
  if (err instanceof ApprovalError) {
    const code = {
      'not-found': 'PCS_ERR_ADMIN_NOT_FOUND',
      conflict: 'PCS_ERR_ADMIN_CONFLICT',
      forbidden: 'PCS_ERR_ADMIN_FORBIDDEN',
      'bad-input': 'PCS_ERR_ADMIN_BAD_INPUT',
    } as const;
    throw new AdminError(code[err.kind], err.message);
  }
  if (err instanceof ConfigError)
    throw new AdminError('PCS_ERR_CONFIG_INVALID', 'Configuration refused', { issues: err.issues });
  throw err;
}

function idOf(v: string | undefined): number {
  if (!v || !/^\d{1,12}$/.test(v))
    throw new AdminError('PCS_ERR_ADMIN_BAD_INPUT', `'${v}' is not a proposal id`);
  return Number(v);
}

const STATUSES = new Set(['pending', 'approved', 'scheduled', 'applied', 'rejected', 'failed']);

/** Proposals: four-eyes approval of changes, optionally scheduled. See docs/approvals.md. */
export const proposalRoutes: AdminModule = (route, deps) => {
  const approvals = () => {
    if (!deps.approvals) throw new AdminError('PCS_ERR_ADMIN_NOT_FOUND', 'approvals are not enabled');
    return deps.approvals;
  };

  route(
    'POST',
    '/proposals',
    async (req, res, _p, _q, actor) => {
      const b = check<Static<typeof ProposalBody>>(
        ProposalBody,
        await readJson(req, deps.maxBodyBytes),
        'proposal',
      );
      const p = await approvals()
        .propose(b.config, { author: actor, message: b.message, activateAt: b.activateAt, canary: b.canary })
        .catch(asAdmin);
      sendJson(res, 201, p);
    },
    false,
    op('Propose a config; it waits for another admin', {
      body: '`{config, message?, activateAt?, canary?}`',
      ok: { '201': 'The proposal, with `touches`' },
      errors: {
        '400': 'Bad input or a configuration refused (with `issues`)',
        '403': 'The caller is a viewer',
      },
    }),
  );

  route(
    'GET',
    '/proposals',
    async (_q, res, _p, query) => {
      const status = query.get('status') ?? undefined;
      if (status !== undefined && !STATUSES.has(status))
        throw new AdminError('PCS_ERR_ADMIN_BAD_INPUT', `status must be one of ${[...STATUSES].join(', ')}`);
      const list = await deps.store.listProposals({ status, limit: 200 });
      sendJson(res, 200, { proposals: list.map(({ config: _c, ...rest }) => rest) });
    },
    false,
    op('Proposals, newest first', {
      ok: { '200': '`{proposals}` (without their configs)' },
      query: { status: 'pending, scheduled, applied, rejected or failed' },
      errors: { '400': 'Bad status' },
    }),
  );

  route(
    'GET',
    '/proposals/:id',
    async (_q, res, p) => {
      sendJson(res, 200, await approvals().get(idOf(p.id)).catch(asAdmin));
    },
    false,
    op('One proposal with its config', {
      params: ['id'],
      intParams: ['id'],
      ok: { '200': 'The proposal' },
      errors: { '400': 'Bad id', '404': 'No such proposal' },
    }),
  );

  route(
    'POST',
    '/proposals/:id/approve',
    async (req, res, p, _q, actor) => {
      const b = check<Static<typeof ApproveBody>>(
        ApproveBody,
        await optionalJson(req, deps.maxBodyBytes),
        'approval',
      );
      sendJson(res, 200, await approvals().approve(idOf(p.id), actor, b.activateAt).catch(asAdmin));
    },
    false,
    op('Approve (not by its author): activates now or at `activateAt`', {
      params: ['id'],
      intParams: ['id'],
      body: '`{activateAt?}`',
      ok: { '200': 'The proposal: `applied`, `scheduled` or `failed` (with `reason`)' },
      errors: {
        '400': 'Bad input',
        '403': 'The caller is its author, or a viewer',
        '404': 'No such proposal',
        '409': 'Not pending',
      },
    }),
  );

  route(
    'POST',
    '/proposals/:id/reject',
    async (req, res, p, _q, actor) => {
      const b = check<Static<typeof RejectBody>>(
        RejectBody,
        await optionalJson(req, deps.maxBodyBytes),
        'rejection',
      );
      sendJson(res, 200, await approvals().reject(idOf(p.id), actor, b.reason).catch(asAdmin));
    },
    false,
    op('Reject with a reason (kept with the proposal)', {
      params: ['id'],
      intParams: ['id'],
      body: '`{reason}`',
      ok: { '200': 'The proposal, `rejected`' },
      errors: {
        '400': 'No reason',
        '403': 'The caller is a viewer',
        '404': 'No such proposal',
        '409': 'Already decided',
      },
    }),
  );
};
