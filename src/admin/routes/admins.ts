import { type Static, Type as T } from '@sinclair/typebox';
import { formatAjvErrors, validator } from '../../config/ajv.js';
import { AdminError, readJson, sendJson } from '../http.js';
import type { AdminModule } from '../server.js';
import { ROOT_ADMIN } from '../users.js';
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
      const { admin, token } = await users.get().create(b.name, b.role, actor);
      await deps.store.appendAudit({
        actor,
        action: 'admin.create',
        target: `admin/${b.name}`,
        detail: { role: b.role },
      });
      sendJson(res, 201, { ...admin, token });
    },
    false,
    op('Create an admin; the answer holds its token, shown once', {
      body: '`{name, role: admin | viewer}`',
      ok: { '201': '`{name, role, createdAt, createdBy, token}`' },
      errors: {
        '400': 'Bad input',
        '403': 'The caller is a viewer',
        '409': 'The name exists or is reserved',
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
      if (!(await users.get().delete(name)))
        throw new AdminError('PCS_ERR_ADMIN_NOT_FOUND', `admin ${name} not found`);
      await deps.store.appendAudit({ actor, action: 'admin.delete', target: `admin/${name}` });
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
