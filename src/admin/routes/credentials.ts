import { Type as T } from '@sinclair/typebox';
import { formatAjvErrors, validator } from '../../config/ajv.js';
import {
  CREDENTIAL_KINDS,
  type IssueRequest,
  IssueError,
  issueCredential,
  publicCredential,
} from '../../auth/issue.js';
import { AdminError, readJson, sendJson } from '../http.js';
import type { AdminModule } from '../server.js';

const IssueBody = T.Object(
  {
    kind: T.Union(CREDENTIAL_KINDS.map((k) => T.Literal(k))),
    label: T.Optional(T.String({ maxLength: 200 })),
    expiresAt: T.Optional(T.String({ format: 'date-time' })),
    username: T.Optional(T.String()),
    password: T.Optional(T.String({ maxLength: 1024 })),
    keyId: T.Optional(T.String()),
    match: T.Optional(T.Union([T.Literal('fingerprint'), T.Literal('subject'), T.Literal('san')])),
    value: T.Optional(T.String({ minLength: 1, maxLength: 1024 })),
    metadata: T.Optional(T.Record(T.String(), T.Unknown())),
  },
  { additionalProperties: false },
);

const RotateBody = T.Object(
  {
    revokeOld: T.Optional(T.Boolean()),
    expiresAt: T.Optional(T.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);

function check<V>(schema: Parameters<typeof validator>[0], body: unknown, what: string): V {
  const v = validator(schema);
  if (!v(body))
    throw new AdminError('PCS_ERR_ADMIN_BAD_INPUT', `invalid ${what}`, { issues: formatAjvErrors(v.errors) });
  return body as V;
}

function asAdmin(err: unknown): never {
  if (err instanceof IssueError)
    throw new AdminError(err.conflict ? 'PCS_ERR_ADMIN_CONFLICT' : 'PCS_ERR_ADMIN_BAD_INPUT', err.message);
  throw err;
}

/**
 * Credentials of consumers: issue (the key, password or secret is in the answer once and never
 * again), list by consumer, kind or lookup prefix, rotate and revoke. Each write is audited
 * without the secret. Changes take effect at once here and within a second on other workers.
 */
export const credentialRoutes: AdminModule = (route, deps) => {
  const { store } = deps;

  route('POST', '/consumers/:name/credentials', async (req, res, p, _q, actor) => {
    const name = p.name ?? '';
    if (!(await store.getConsumer(name)))
      throw new AdminError('PCS_ERR_ADMIN_NOT_FOUND', `consumer ${name} not found`);
    const body = check<IssueRequest>(IssueBody, await readJson(req, deps.maxBodyBytes), 'credential');
    const out = await issueCredential(store, name, body, deps.clock.now()).catch(asAdmin);
    await store.appendAudit({
      actor,
      action: 'credential.issue',
      target: `consumer/${name}/credential/${out.credential.id}`,
      detail: {
        kind: body.kind,
        lookup: out.credential.lookup,
        label: out.credential.label,
        expiresAt: out.credential.expiresAt,
      },
    });
    sendJson(res, 201, { credential: out.credential, ...out.shownOnce });
  });

  route('GET', '/consumers/:name/credentials', async (_req, res, p, q) => {
    const list = await store.listCredentials({
      consumer: p.name,
      kind: q.get('kind') ?? undefined,
      includeRevoked: q.get('include_revoked') === 'true',
    });
    sendJson(res, 200, { credentials: list.map(publicCredential) });
  });

  route('GET', '/credentials', async (_req, res, _p, q) => {
    const limit = Number(q.get('limit') ?? 1000);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
      throw new AdminError('PCS_ERR_ADMIN_BAD_INPUT', 'limit must be an integer from 1 to 10000');
    const list = await store.listCredentials({
      consumer: q.get('consumer') ?? undefined,
      kind: q.get('kind') ?? undefined,
      lookupPrefix: q.get('prefix') ?? undefined,
      includeRevoked: q.get('include_revoked') === 'true',
      limit,
    });
    sendJson(res, 200, { credentials: list.map(publicCredential) });
  });

  route('GET', '/credentials/:id', async (_req, res, p) => {
    const c = await store.getCredential(p.id ?? '');
    if (!c) throw new AdminError('PCS_ERR_ADMIN_NOT_FOUND', `credential ${p.id} not found`);
    sendJson(res, 200, publicCredential(c));
  });

  route('POST', '/credentials/:id/rotate', async (req, res, p, _q, actor) => {
    const old = await store.getCredential(p.id ?? '');
    if (!old || old.revokedAt)
      throw new AdminError('PCS_ERR_ADMIN_NOT_FOUND', `active credential ${p.id} not found`);
    if (old.kind !== 'key-auth' && old.kind !== 'hmac-auth')
      throw new AdminError(
        'PCS_ERR_ADMIN_BAD_INPUT',
        `${old.kind} credentials are rotated by issuing a new one`,
      );
    const text = await readJson(req, deps.maxBodyBytes).catch(() => ({}));
    const body = check<{ revokeOld?: boolean; expiresAt?: string }>(RotateBody, text ?? {}, 'rotation');
    const out = await issueCredential(
      store,
      old.consumer,
      {
        kind: old.kind,
        label: old.label,
        expiresAt: body.expiresAt,
        metadata: { ...old.metadata, rotatedFrom: old.id },
      },
      deps.clock.now(),
    ).catch(asAdmin);
    if (body.revokeOld) await store.revokeCredential(old.id);
    await store.appendAudit({
      actor,
      action: 'credential.rotate',
      target: `consumer/${old.consumer}/credential/${old.id}`,
      detail: {
        kind: old.kind,
        newId: out.credential.id,
        lookup: out.credential.lookup,
        revokedOld: body.revokeOld === true,
      },
    });
    sendJson(res, 201, {
      credential: out.credential,
      previous: { id: old.id, revoked: body.revokeOld === true },
      ...out.shownOnce,
    });
  });

  const revoke = async (id: string, actor: string) => {
    const c = await store.getCredential(id);
    if (!c) throw new AdminError('PCS_ERR_ADMIN_NOT_FOUND', `credential ${id} not found`);
    const changed = await store.revokeCredential(id);
    if (changed)
      await store.appendAudit({
        actor,
        action: 'credential.revoke',
        target: `consumer/${c.consumer}/credential/${id}`,
        detail: { kind: c.kind, lookup: c.lookup },
      });
    return publicCredential((await store.getCredential(id))!);
  };
  route('POST', '/credentials/:id/revoke', async (_req, res, p, _q, actor) =>
    sendJson(res, 200, await revoke(p.id ?? '', actor)),
  );
  route('DELETE', '/credentials/:id', async (_req, res, p, _q, actor) =>
    sendJson(res, 200, await revoke(p.id ?? '', actor)),
  );
};
