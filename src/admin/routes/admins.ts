import { type Static, Type as T } from '@sinclair/typebox';
import { formatAjvErrors, validator } from '../../config/ajv.js';
import { AdminError, readJson, sendJson } from '../http.js';
import type { AdminModule } from '../server.js';
import { type AdminRole, ROOT_ADMIN } from '../users.js';
import { op } from './op-doc.js';

const AdminBody = T.Object(
  {
    name: T.String({
      pattern: '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$',
      description: 'Login name; the audit actor.',
    }),
    role: T.Union([T.Literal('admin'), T.Literal('viewer')], {
      description: '`admin`: everything; `viewer`: read only.',
    }),
  },
  { additionalProperties: false },
);
const checkAdmin = validator(AdminBody);

/** Names the gateway itself records as actors: no admin may take them. */
const RESERVED = new Set([
  ROOT_ADMIN,
  'startup',
  'file-watcher',
  'scheduler',
  'canary-guard',
  'anonymous',
  'admin',
]);

/** Named admins with their own tokens (shown once) and roles. See docs/approvals.md. */
export const adminRoutes: AdminModule = (route, deps) => {
  const users = {
    get: () => {
      if (!deps.admins) throw new AdminError('PCS_ERR_ADMIN_NOT_FOUND', 'named admins are not enabled');
      return deps.admins;
    },
  };

  /**
   * Four-eyes on admins: while the live revision requires approvals, an admin with the `admin`
   * role (one who could approve) waits for a second admin's confirmation, unless its creator is
   * the only admin who could give it (the first named admin, made by root alone).
   */
  const needsConfirmation = async (role: AdminRole, creator: string): Promise<boolean> => {
    if (role !== 'admin' || !deps.revisions.current.config.gateway?.approvals?.required) return false;
    const others = (await users.get().list()).filter(
      (a) => a.role === 'admin' && a.status === 'active' && a.name !== creator,
    );
    return others.length > 0;
  };

  route(
    'GET',
    '/admins',
    async (_q, res) => sendJson(res, 200, { admins: await users.get().list() }),
    false,
    op('Admins and their roles (never their tokens)', { ok: { '200': '`{admins}`' } }),
  );

  route(
    'POST',
    '/admins',
    async (req, res, _p, _q, actor) => {
      const raw = await readJson(req, deps.maxBodyBytes);
      if (!checkAdmin(raw))
        throw new AdminError('PCS_ERR_ADMIN_BAD_INPUT', 'invalid admin', {
          issues: formatAjvErrors(checkAdmin.errors),
        });
      const b = raw as Static<typeof AdminBody>;
      if (RESERVED.has(b.name))
        throw new AdminError('PCS_ERR_ADMIN_CONFLICT', `the name ${b.name} is reserved`);
      if ((await users.get().list()).some((a) => a.name === b.name))
        throw new AdminError('PCS_ERR_ADMIN_CONFLICT', `admin ${b.name} already exists`);
      const pending = await needsConfirmation(b.role, actor);
      const { admin, token } = await users.get().create(b.name, b.role, actor, pending);
      await deps.store.appendAudit({
        actor,
        action: 'admin.create',
        target: `admin/${b.name}`,
        detail: {
          role: b.role,
          status: admin.status,
          before: null,
          after: { role: b.role, status: admin.status },
        },
      });
      sendJson(res, 201, { ...admin, token });
    },
    false,
    op('Create an admin; the answer holds its token, shown once', {
      body: '`{name, role: admin | viewer}`',
      ok: {
        '201':
          '`{name, role, createdAt, createdBy, status, confirmedBy, token}`; `status: pending` while approvals are on (see `/admins/{name}/confirm`)',
      },
      errors: {
        '400': 'Bad input',
        '403': 'The caller is a viewer',
        '409': 'The name exists or is reserved',
      },
    }),
  );

  route(
    'POST',
    '/admins/:name/confirm',
    async (_q, res, p, _query, actor) => {
      const name = p.name ?? '';
      const a = (await users.get().list()).find((x) => x.name === name);
      if (!a) throw new AdminError('PCS_ERR_ADMIN_NOT_FOUND', `admin ${name} not found`);
      if (a.status !== 'pending')
        throw new AdminError('PCS_ERR_ADMIN_CONFLICT', `admin ${name} is not pending`);
      if (a.createdBy === actor)
        throw new AdminError(
          'PCS_ERR_ADMIN_FORBIDDEN',
          `admin ${name} was created by ${actor}: another admin must confirm it`,
        );
      if (!(await users.get().confirm(name, actor)))
        throw new AdminError('PCS_ERR_ADMIN_CONFLICT', `admin ${name} was changed concurrently`);
      await deps.store.appendAudit({
        actor,
        action: 'admin.confirm',
        target: `admin/${name}`,
        detail: {
          role: a.role,
          createdBy: a.createdBy,
          before: { role: a.role, status: 'pending' },
          after: { role: a.role, status: 'active' },
        },
      });
      const now = (await users.get().list()).find((x) => x.name === name);
      sendJson(res, 200, now);
    },
    false,
    op('Confirm an admin created under four-eyes: its token works from now on', {
      params: ['name'],
      ok: { '200': '`{name, role, createdAt, createdBy, status, confirmedBy}`' },
      errors: {
        '403': 'The caller created it, is a viewer, or is pending itself',
        '404': 'No such admin',
        '409': 'Not pending',
      },
    }),
  );

  route(
    'DELETE',
    '/admins/:name',
    async (_q, res, p, _query, actor) => {
      const name = p.name ?? '';
      if (name === ROOT_ADMIN)
        throw new AdminError('PCS_ERR_ADMIN_CONFLICT', 'root is the start-up token: change it at start');
      const prior = (await users.get().list()).find((x) => x.name === name);
      if (!(await users.get().delete(name)))
        throw new AdminError('PCS_ERR_ADMIN_NOT_FOUND', `admin ${name} not found`);
      await deps.store.appendAudit({
        actor,
        action: 'admin.delete',
        target: `admin/${name}`,
        detail: { before: prior ? { role: prior.role, status: prior.status } : null, after: null },
      });
      res.writeHead(204).end();
    },
    false,
    op('Remove an admin: its token stops working at once', {
      params: ['name'],
      ok: { '204': 'Removed' },
      errors: { '403': 'The caller is a viewer', '404': 'No such admin', '409': 'root cannot be removed' },
    }),
  );
};
