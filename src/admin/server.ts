import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Type as T } from '@sinclair/typebox';
import FindMyWay from 'find-my-way';
import type { Logger } from 'pino';
import { formatAjvErrors, validator } from '../config/ajv.js';
import { parseConfigSteps } from '../config/load.js';
import { ConsumerDecl } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import type { PolicyServices } from '../core/policy.js';
import { runSliced } from '../core/slices.js';
import { NotFoundError, type Revisions } from '../runtime/revisions.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { Store } from '../store/store.js';
import type { AdminToken } from './auth.js';
import { type AdminIdentity, type AdminUsers, ROOT_ADMIN } from './users.js';
import type { Approvals } from '../approvals/approvals.js';
import { CanaryConflictError } from '../canary/canary.js';
import { AdminError, readBody, readJson, sendAdminError, sendJson } from './http.js';
import { openApiDocument } from './openapi.js';
import type { AuditKeyRing } from '../store/audit-keys.js';

export interface AdminDeps {
  revisions: Revisions;
  store: Store;
  /** Policy services (directory to invalidate, counters for bans, events). */
  services: PolicyServices;
  /** Endpoint modules added by features (credentials, bans, AI usage...). */
  modules?: readonly AdminModule[];
  metrics: GatewayMetrics;
  token: AdminToken;
  /** Named admins and their roles; the start-up token is the admin `root` (the only one without). */
  admins?: AdminUsers;
  /** Proposals and the approval rule that guards `POST /config` (src/approvals). */
  approvals?: Approvals;
  logger: Logger;
  clock: Clock;
  startedAt: number;
  /** The audit keys the gateway holds, so `GET /audit/verify` checks keyed events (never stored). */
  auditKeys?: AuditKeyRing;
  maxBodyBytes?: number;
  /** False while the gateway starts: every endpoint but the open ones answers 503 PCS_ERR_NOT_READY. */
  ready?: () => boolean;
}

export type Params = Record<string, string | undefined>;
export type Handler = (
  req: IncomingMessage,
  res: ServerResponse,
  params: Params,
  query: URLSearchParams,
  actor: string,
) => Promise<void>;

const ConsumerBody = T.Object(
  {
    name: ConsumerDecl.properties.name,
    groups: T.Optional(T.Array(T.String())),
    metadata: T.Optional(T.Record(T.String(), T.Unknown())),
  },
  { additionalProperties: false },
);

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/**
 * Registers an endpoint. `open` endpoints need no token. `doc` is its OpenAPI operation object,
 * merged into `GET /openapi.json` (core endpoints are described in openapi.ts).
 */
export type RouteFn = (method: Method, path: string, h: Handler, open?: boolean, doc?: object) => void;

/** One registered endpoint, as find-my-way knows it (`/revisions/:id`). */
export interface AdminRoute {
  method: Method;
  path: string;
  open: boolean;
}

/** The admin listener, with the endpoints it routes (for the API document and its tests). */
export type AdminServer = Server & { readonly routes: readonly AdminRoute[] };

/**
 * A group of admin endpoints living in its own file (`src/admin/routes/*.ts`): it registers its
 * routes with `route`. Handlers throw AdminError for clean 4xx answers.
 */
export type AdminModule = (route: RouteFn, deps: AdminDeps & { maxBodyBytes: number }) => void;

/** The admin REST API: its own listener, loopback by default, behind the admin token. */
export function createAdminServer(deps: AdminDeps): AdminServer {
  const max = deps.maxBodyBytes ?? 10 * 1024 * 1024;
  const router = FindMyWay({ ignoreTrailingSlash: true });
  const routes: AdminRoute[] = [];
  const docs: { method: Method; path: string; open: boolean; doc: object }[] = [];
  /** `open` endpoints (health, metrics, the API document) need no token. */
  const route: RouteFn = (method, path, h, open = false, doc) => {
    router.on(method, path, () => undefined, { h, open });
    routes.push({ method, path, open });
    if (doc) docs.push({ method, path, open, doc });
  };
  for (const m of deps.modules ?? []) m(route, { ...deps, maxBodyBytes: max });
  let document: object | undefined;

  route('GET', '/health', async (_q, res) => sendJson(res, 200, { status: 'ok' }), true);
  route(
    'GET',
    '/metrics',
    async (_q, res) => {
      const text = await deps.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': deps.metrics.registry.contentType });
      res.end(text);
    },
    true,
  );
  route(
    'GET',
    '/openapi.json',
    async (_q, res) => {
      document ??= withModuleDocs(openApiDocument, docs);
      sendJson(res, 200, document);
    },
    true,
  );

  route('GET', '/status', async (_q, res) => {
    const rev = deps.revisions.current;
    const active = deps.revisions.active;
    sendJson(res, 200, {
      revision: active
        ? { id: active.id, hash: active.hash, createdAt: active.createdAt, author: active.author }
        : null,
      uptimeSeconds: Math.round((deps.clock.now() - deps.startedAt) / 1000),
      routes: rev.routes.length,
      canary: deps.revisions.canary
        ? {
            id: deps.revisions.canary.meta.id,
            hash: deps.revisions.canary.meta.hash,
            slice: deps.revisions.canary.slice,
          }
        : null,
      upstreams: Object.fromEntries([...rev.services].map(([name, s]) => [name, s.health()])),
    });
  });

  route('GET', '/config', async (_q, res) => sendJson(res, 200, deps.revisions.current.config));
  route('POST', '/config', async (req, res, _p, query, actor) => {
    const text = await readBody(req, max);
    let config: unknown;
    try {
      // In time slices: a large body must not stall the data plane (docs/revisions.md).
      config = await runSliced(parseConfigSteps(text, 'body'));
    } catch (err) {
      throw configRefused(err);
    }
    try {
      if (query.get('dry_run') !== 'true') await requireNoApproval(deps, config, actor);
      const result = await deps.revisions.apply(config, {
        author: actor,
        message: query.get('message') ?? headerText(req, 'x-portcullis-message') ?? '',
        dryRun: query.get('dry_run') === 'true',
      });
      sendJson(res, result.status === 'applied' ? 201 : 200, result);
    } catch (err) {
      throw configRefused(err);
    }
  });

  route('GET', '/revisions', async (_q, res, _p, query) => {
    const limit = intParam(query, 'limit', 100);
    const before = query.get('before') ? intParam(query, 'before', 0) : undefined;
    const list = await deps.store.listRevisions({ limit, beforeId: before });
    sendJson(res, 200, { active: deps.revisions.active?.id ?? null, revisions: list });
  });
  route('GET', '/revisions/:id', async (_q, res, p) => {
    const rec = await deps.store.getRevision(idParam(p.id));
    if (!rec) throw new AdminError('PCS_ERR_ADMIN_NOT_FOUND', `revision ${p.id} not found`);
    sendJson(res, 200, rec);
  });
  route('GET', '/revisions/:id/diff/:other', async (_q, res, p) => {
    sendJson(res, 200, await notFoundAsAdmin(() => deps.revisions.diff(idParam(p.id), idParam(p.other))));
  });
  route('POST', '/revisions/:id/rollback', async (_q, res, p, _query, actor) => {
    const id = idParam(p.id);
    // A rollback is an apply of the old config: the same four-eyes check.
    const target = await deps.store.getRevision(id);
    if (target) await notFoundAsAdmin(() => requireNoApproval(deps, target.config, actor));
    const rec = await notFoundAsAdmin(() => deps.revisions.rollback(id, actor));
    sendJson(res, 200, { status: 'rolled-back', revision: rec });
  });

  route('GET', '/consumers', async (_q, res, _p, query) => {
    sendJson(res, 200, {
      consumers: await deps.store.listConsumers({
        limit: intParam(query, 'limit', 1000),
        offset: intParam(query, 'offset', 0),
      }),
    });
  });
  route('POST', '/consumers', async (req, res, _p, _query, actor) => {
    const body = checkConsumer(await readJson(req, max));
    if (await deps.store.getConsumer(body.name))
      throw new AdminError('PCS_ERR_ADMIN_CONFLICT', `consumer ${body.name} already exists`);
    const after = { groups: body.groups ?? [], metadata: body.metadata ?? {} };
    requireNoGroupApproval(deps, body.name, [], after.groups);
    const { consumer } = await deps.store.upsertConsumer({ name: body.name, ...after });
    await deps.store.appendAudit({
      actor,
      action: 'consumer.create',
      target: `consumer/${body.name}`,
      detail: { before: null, after },
    });
    sendJson(res, 201, consumer);
  });
  route('GET', '/consumers/:name', async (_q, res, p) => {
    const c = await deps.store.getConsumer(p.name ?? '');
    if (!c) throw new AdminError('PCS_ERR_ADMIN_NOT_FOUND', `consumer ${p.name} not found`);
    sendJson(res, 200, c);
  });
  route('PUT', '/consumers/:name', async (req, res, p, _query, actor) => {
    const body = checkConsumer({ name: p.name, ...((await readJson(req, max)) as object) });
    if (body.name !== p.name)
      throw new AdminError('PCS_ERR_ADMIN_BAD_INPUT', 'the name in the body differs from the path');
    const prior = await deps.store.getConsumer(body.name);
    const after = { groups: body.groups ?? [], metadata: body.metadata ?? {} };
    requireNoGroupApproval(deps, body.name, prior?.groups ?? [], after.groups);
    const { consumer, created } = await deps.store.upsertConsumer({ name: body.name, ...after });
    await deps.store.appendAudit({
      actor,
      action: created ? 'consumer.create' : 'consumer.update',
      target: `consumer/${body.name}`,
      detail: { before: prior ? { groups: prior.groups, metadata: prior.metadata } : null, after },
    });
    sendJson(res, created ? 201 : 200, consumer);
  });
  route('DELETE', '/consumers/:name', async (_q, res, p, _query, actor) => {
    const prior = await deps.store.getConsumer(p.name ?? '');
    if (!prior || !(await deps.store.deleteConsumer(p.name ?? '')))
      throw new AdminError('PCS_ERR_ADMIN_NOT_FOUND', `consumer ${p.name} not found`);
    await deps.store.appendAudit({
      actor,
      action: 'consumer.delete',
      target: `consumer/${p.name}`,
      detail: { before: { groups: prior.groups, metadata: prior.metadata }, after: null },
    });
    res.writeHead(204).end();
  });

  route('GET', '/audit', async (_q, res, _p, query) => {
    sendJson(res, 200, {
      events: await deps.store.listAudit({
        afterId: intParam(query, 'after', 0),
        limit: intParam(query, 'limit', 1000),
      }),
    });
  });

  const server = createServer(async (req, res) => {
    const requestId = randomUUID();
    try {
      const url = new URL(req.url ?? '/', 'http://admin');
      const found = router.find(req.method as 'GET', url.pathname);
      const open = (found?.store as { open?: boolean } | undefined)?.open === true;
      // Without the token, unknown endpoints are 401 too: the endpoint map is not public.
      const who = open ? undefined : await authenticate(deps, req.headers.authorization);
      if (!open && !who) throw new AdminError('PCS_ERR_ADMIN_UNAUTHORIZED');
      if (!open && deps.ready && !deps.ready()) throw new AdminError('PCS_ERR_NOT_READY');
      if (who?.pending)
        throw new AdminError(
          'PCS_ERR_ADMIN_PENDING',
          `admin ${who.name} waits for a second admin's confirmation (POST /admins/${who.name}/confirm)`,
        );
      if (!found)
        throw new AdminError('PCS_ERR_ADMIN_NOT_FOUND', `no admin endpoint ${req.method} ${url.pathname}`);
      if (who?.role === 'viewer' && req.method !== 'GET' && req.method !== 'HEAD')
        throw new AdminError('PCS_ERR_ADMIN_FORBIDDEN', `admin ${who.name} has the viewer role: read only`);
      const { h } = found.store as { h: Handler };
      // The actor of every change is the authenticated admin, never a name the caller claims.
      const actor = who?.name ?? 'anonymous';
      await h(req, res, found.params, url.searchParams, actor);
      // A change to consumers or credentials takes effect at once on this process.
      if (req.method !== 'GET') deps.services.directory.invalidate();
    } catch (err) {
      if (err instanceof AdminError) {
        // The rest of an oversized body is not read: close instead of draining it.
        if (err.code === 'PCS_ERR_ADMIN_PAYLOAD_TOO_LARGE') res.setHeader('connection', 'close');
        return sendAdminError(res, err, requestId);
      }
      deps.logger.error({ err: (err as Error)?.stack, url: req.url }, 'admin request failed');
      if (!res.headersSent)
        sendJson(res, 500, {
          error: { code: 'PCS_ERR_POLICY_FAILURE', message: 'Internal error', request_id: requestId },
        });
    }
  });
  return Object.assign(server, { routes });
}

async function authenticate(deps: AdminDeps, header: string | undefined): Promise<AdminIdentity | undefined> {
  if (deps.admins) return deps.admins.authenticate(header);
  return deps.token.check(header) ? { name: ROOT_ADMIN, role: 'admin' } : undefined;
}

/** The core document plus the operations that endpoint modules describe. */
function withModuleDocs(
  base: typeof openApiDocument,
  docs: readonly { method: Method; path: string; open: boolean; doc: object }[],
): object {
  const paths: Record<string, Record<string, object>> = structuredClone(base.paths) as never;
  for (const d of docs) {
    const p = openApiPath(d.path);
    paths[p] ??= {};
    paths[p][d.method.toLowerCase()] = d.open ? { security: [], ...d.doc } : d.doc;
  }
  return { ...base, paths };
}

/** `/revisions/:id/diff/:other` -> `/revisions/{id}/diff/{other}`. */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** Refuses a direct change that the live revision's `gateway.approvals` says needs an approval. */
export async function requireNoApproval(deps: AdminDeps, config: unknown, actor: string): Promise<void> {
  const touches = (await deps.approvals?.touches(config, actor)) ?? [];
  if (touches.length)
    throw new AdminError(
      'PCS_ERR_APPROVAL_REQUIRED',
      `this change touches ${touches.join(', ')}: propose it (POST /proposals) for another admin to approve`,
      { touches },
    );
}

/** Refuses a change of a consumer's groups that takes a guarded policy away from it. */
function requireNoGroupApproval(
  deps: AdminDeps,
  name: string,
  before: readonly string[],
  after: readonly string[],
): void {
  const touches = deps.approvals?.consumerTouches(name, before, after) ?? [];
  if (touches.length)
    throw new AdminError(
      'PCS_ERR_APPROVAL_REQUIRED',
      `this change of ${name}'s groups takes guarded policies away: propose it (POST /proposals with the consumer under \`consumers\`) for another admin to approve`,
      { touches },
    );
}

function configRefused(err: unknown): AdminError {
  if (err instanceof CanaryConflictError) return new AdminError('PCS_ERR_CANARY_CONFLICT', err.message);
  if (err instanceof ConfigError)
    return new AdminError('PCS_ERR_CONFIG_INVALID', 'Configuration refused', { issues: err.issues });
  return err as AdminError;
}

async function notFoundAsAdmin<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof NotFoundError) throw new AdminError('PCS_ERR_ADMIN_NOT_FOUND', err.message);
    if (err instanceof ConfigError) throw configRefused(err);
    throw err;
  }
}

function checkConsumer(body: unknown): {
  name: string;
  groups?: string[];
  metadata?: Record<string, unknown>;
} {
  const v = validator(ConsumerBody);
  if (!v(body))
    throw new AdminError('PCS_ERR_ADMIN_BAD_INPUT', 'invalid consumer', {
      issues: formatAjvErrors(v.errors),
    });
  return body as never;
}

function idParam(v: string | undefined): number {
  if (!v || !/^\d{1,12}$/.test(v))
    throw new AdminError('PCS_ERR_ADMIN_BAD_INPUT', `'${v}' is not a revision id`);
  return Number(v);
}

function intParam(q: URLSearchParams, name: string, dflt: number): number {
  const v = q.get(name);
  if (v === null) return dflt;
  if (!/^\d{1,9}$/.test(v))
    throw new AdminError('PCS_ERR_ADMIN_BAD_INPUT', `query parameter ${name} must be a non-negative integer`);
  return Number(v);
}

function headerText(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' && v.length > 0 && v.length <= 200 ? v : undefined;
}
