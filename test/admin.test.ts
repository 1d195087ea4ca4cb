import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { AdminToken } from '../src/admin/auth.js';
import { ADMIN_MODULES } from '../src/admin/routes/index.js';
import { createAdminServer, openApiPath } from '../src/admin/server.js';
import {
  ADMIN_TOKEN,
  adminCall,
  call,
  minimalConfig,
  startGateway,
  type TestGateway,
} from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

let up: Upstream;
let t: TestGateway;

before(async () => {
  up = await startUpstream();
  t = await startGateway(minimalConfig(up.url));
});
after(async () => {
  await t.stop();
  await up.close();
});

const unauthorized = (requestId: unknown) => ({
  error: {
    code: 'PCS_ERR_ADMIN_UNAUTHORIZED',
    message: 'Missing or invalid admin token',
    request_id: requestId,
  },
});

describe('admin: authentication', () => {
  for (const [what, headers] of [
    ['no token', {}],
    ['a wrong token', { authorization: 'Bearer wrong-token-0123456789' }],
    ['the right token without Bearer', { authorization: ADMIN_TOKEN }],
    ['the right token as Basic', { authorization: `Basic ${ADMIN_TOKEN}` }],
    ['an empty bearer', { authorization: 'Bearer ' }],
  ] as const) {
    it(`answers 401 PCS_ERR_ADMIN_UNAUTHORIZED with ${what}`, async () => {
      for (const [method, path] of [
        ['GET', '/status'],
        ['GET', '/config'],
        ['POST', '/config'],
        ['GET', '/revisions'],
        ['GET', '/consumers'],
        ['DELETE', '/consumers/alice'],
        ['GET', '/audit'],
      ]) {
        const r = await call(`${t.admin}${path}`, { method, headers: { ...headers } });
        assert.equal(r.status, 401, `${method} ${path}`);
        const id: string = r.json.error.request_id;
        assert.match(id, /^[0-9a-f-]{36}$/);
        assert.deepEqual(r.json, unauthorized(id));
      }
    });
  }

  it('does not reveal unknown endpoints without the token', async () => {
    assert.equal((await call(`${t.admin}/nope`)).status, 401);
    const r = await adminCall(t, 'GET', '/nope');
    assert.equal(r.status, 404);
    assert.equal(r.json.error.code, 'PCS_ERR_ADMIN_NOT_FOUND');
    assert.equal(r.json.error.message, 'no admin endpoint GET /nope');
  });

  it('keeps /health, /metrics and /openapi.json open', async () => {
    const health = await call(`${t.admin}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(health.json, { status: 'ok' });
    const metrics = await call(`${t.admin}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(String(metrics.headers['content-type']), /^text\/plain/);
    assert.match(metrics.text, /^# HELP portcullis_requests_total /m);
    assert.match(metrics.text, /^portcullis_active_revision\{id="1",hash="[0-9a-f]{64}"\} 1$/m);
    const doc = await call(`${t.admin}/openapi.json`);
    assert.equal(doc.status, 200);
    assert.equal(doc.json.openapi, '3.1.0');
  });

  it('reports status with the token', async () => {
    const r = await adminCall(t, 'GET', '/status');
    assert.equal(r.status, 200);
    assert.equal(r.json.revision.id, 1);
    assert.equal(r.json.revision.hash, t.gw.revisions.active?.hash);
    assert.equal(r.json.routes, 1);
    assert.deepEqual(Object.keys(r.json.upstreams), ['echo']);
  });
});

describe('admin: consumers', () => {
  const author = { 'x-portcullis-author': 'ops@example.com' };

  it('creates (201), refuses a duplicate (409), reads (200)', async () => {
    const created = await adminCall(
      t,
      'POST',
      '/consumers',
      { name: 'alice', groups: ['gold'], metadata: { tier: 2 } },
      author,
    );
    assert.equal(created.status, 201);
    assert.equal(created.json.name, 'alice');
    assert.deepEqual(created.json.groups, ['gold']);
    assert.deepEqual(created.json.metadata, { tier: 2 });
    assert.match(created.json.id, /^[0-9a-f-]{36}$/);
    assert.equal(typeof created.json.createdAt, 'string');

    const dup = await adminCall(t, 'POST', '/consumers', { name: 'alice' });
    assert.equal(dup.status, 409);
    assert.equal(dup.json.error.code, 'PCS_ERR_ADMIN_CONFLICT');
    assert.equal(dup.json.error.message, 'consumer alice already exists');

    const got = await adminCall(t, 'GET', '/consumers/alice');
    assert.equal(got.status, 200);
    assert.deepEqual(got.json, created.json);

    const list = await adminCall(t, 'GET', '/consumers');
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.json.consumers.map((c: { name: string }) => c.name),
      ['alice'],
    );
  });

  it('replaces with PUT (200), creates with PUT (201), keeps the id', async () => {
    const before = (await adminCall(t, 'GET', '/consumers/alice')).json;
    const put = await adminCall(t, 'PUT', '/consumers/alice', { groups: [] }, author);
    assert.equal(put.status, 200);
    assert.equal(put.json.id, before.id);
    assert.deepEqual(put.json.groups, []);
    assert.deepEqual(put.json.metadata, {});
    const created = await adminCall(t, 'PUT', '/consumers/bob', {}, author);
    assert.equal(created.status, 201);
    assert.equal(created.json.name, 'bob');
  });

  it('deletes (204), then 404', async () => {
    const del = await adminCall(t, 'DELETE', '/consumers/bob', undefined, author);
    assert.equal(del.status, 204);
    assert.equal(del.text, '');
    const again = await adminCall(t, 'DELETE', '/consumers/bob');
    assert.equal(again.status, 404);
    assert.deepEqual(again.json.error, {
      code: 'PCS_ERR_ADMIN_NOT_FOUND',
      message: 'consumer bob not found',
      request_id: again.json.error.request_id,
    });
    assert.equal((await adminCall(t, 'GET', '/consumers/bob')).status, 404);
  });

  it('audits every change with the author', async () => {
    const r = await adminCall(t, 'GET', '/audit');
    const mine = (r.json.events as { actor: string; action: string; target: string }[])
      .filter((e) => e.target.startsWith('consumer/'))
      .map((e) => [e.actor, e.action, e.target]);
    // The actor is the authenticated admin (the start-up token is `root`), not X-Portcullis-Author.
    assert.deepEqual(mine, [
      ['root', 'consumer.create', 'consumer/alice'],
      ['root', 'consumer.update', 'consumer/alice'],
      ['root', 'consumer.create', 'consumer/bob'],
      ['root', 'consumer.delete', 'consumer/bob'],
    ]);
  });

  it('refuses invalid consumers with 400 and the issues by path', async () => {
    const bad = await adminCall(t, 'POST', '/consumers', { name: 'no spaces!', groups: 'gold', extra: 1 });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.code, 'PCS_ERR_ADMIN_BAD_INPUT');
    assert.equal(bad.json.error.message, 'invalid consumer');
    const paths = (bad.json.error.issues as { path: string }[]).map((i) => i.path).sort();
    assert.deepEqual(paths, ['/extra', '/groups', '/name']);
    assert.deepEqual(
      (bad.json.error.issues as { path: string; message: string }[]).find((i) => i.path === '/extra'),
      { path: '/extra', message: 'unknown key' },
    );

    const missing = await adminCall(t, 'POST', '/consumers', {});
    assert.deepEqual(missing.json.error.issues, [{ path: '/name', message: 'is required' }]);

    const notJson = await adminCall(t, 'POST', '/consumers', '{name:');
    assert.equal(notJson.status, 400);
    assert.equal(notJson.json.error.message, 'body is not valid JSON');

    const mismatch = await adminCall(t, 'PUT', '/consumers/alice', { name: 'mallory' });
    assert.equal(mismatch.status, 400);
    assert.equal(mismatch.json.error.message, 'the name in the body differs from the path');

    const list = await adminCall(t, 'GET', '/consumers?limit=ten');
    assert.equal(list.status, 400);
    assert.equal(list.json.error.message, 'query parameter limit must be a non-negative integer');
  });
});

describe('admin: input limits and ids', () => {
  it('refuses an oversized body with 413, declared or streamed', async () => {
    const big = Buffer.alloc(10 * 1024 * 1024 + 1, 0x20);
    const declared = await request(`${t.admin}/config`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/yaml' },
      body: big,
    }).catch((err: Error) => err);
    assert.ok(!(declared instanceof Error), `request failed: ${(declared as Error).message}`);
    assert.equal(declared.statusCode, 413);
    const body = (await declared.body.json()) as { error: { code: string } };
    assert.equal(body.error.code, 'PCS_ERR_ADMIN_PAYLOAD_TOO_LARGE');

    async function* chunks() {
      for (let i = 0; i < 11; i++) yield Buffer.alloc(1024 * 1024, 0x20);
    }
    const streamed = await request(`${t.admin}/consumers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      body: Readable.from(chunks()),
    }).catch((err: Error) => err);
    assert.ok(!(streamed instanceof Error), `request failed: ${(streamed as Error).message}`);
    assert.equal(streamed.statusCode, 413);
    await streamed.body.dump();
    assert.equal(t.gw.revisions.active?.id, 1);
  });

  it('answers 400 to malformed ids and 404 to unknown ones', async () => {
    for (const [method, path] of [
      ['GET', '/revisions/abc'],
      ['GET', '/revisions/1.5'],
      ['GET', '/revisions/-1'],
      ['GET', '/revisions/1234567890123'],
      ['GET', '/revisions/1/diff/x'],
      ['GET', '/revisions/x/diff/1'],
      ['POST', '/revisions/one/rollback'],
      ['GET', '/revisions?limit=-1'],
      ['GET', '/revisions?before=abc'],
      ['GET', '/audit?after=x'],
    ]) {
      const r = await adminCall(t, method, path);
      assert.equal(r.status, 400, `${method} ${path}`);
      assert.equal(r.json.error.code, 'PCS_ERR_ADMIN_BAD_INPUT', `${method} ${path}`);
    }
    for (const [method, path] of [
      ['GET', '/revisions/999'],
      ['GET', '/revisions/1/diff/999'],
      ['POST', '/revisions/999/rollback'],
    ]) {
      const r = await adminCall(t, method, path);
      assert.equal(r.status, 404, `${method} ${path}`);
      assert.equal(r.json.error.code, 'PCS_ERR_ADMIN_NOT_FOUND');
    }
    assert.deepEqual(
      (await adminCall(t, 'GET', '/revisions/999')).json.error.message,
      'revision 999 not found',
    );
  });

  it('refuses a config body that is not YAML or not a mapping, with issues', async () => {
    const broken = await adminCall(t, 'POST', '/config', 'services: [\n', {
      'content-type': 'application/yaml',
    });
    assert.equal(broken.status, 400);
    assert.equal(broken.json.error.code, 'PCS_ERR_CONFIG_INVALID');
    assert.ok(broken.json.error.issues.length >= 1);
    const list = await adminCall(t, 'POST', '/config', '[1, 2]');
    assert.equal(list.status, 400);
    assert.deepEqual(list.json.error.issues, [
      { path: '/', message: 'the configuration must be a mapping (an object)' },
    ]);
  });
});

describe('admin: the OpenAPI document', () => {
  const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'];

  it('is a valid-looking OpenAPI 3.1 document', async () => {
    const doc = (await call(`${t.admin}/openapi.json`)).json;
    assert.equal(doc.openapi, '3.1.0');
    assert.equal(typeof doc.info.title, 'string');
    assert.equal(typeof doc.info.version, 'string');
    assert.deepEqual(doc.security, [{ bearer: [] }]);
    assert.deepEqual(doc.components.securitySchemes.bearer, {
      type: 'http',
      scheme: 'bearer',
      description: 'The admin token given at start.',
    });
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      assert.match(path, /^\/[^:]*$/, 'paths use {param}, not :param');
      const params = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      for (const [method, op] of Object.entries(item)) {
        assert.ok(METHODS.includes(method), `${path}: ${method}`);
        assert.equal(typeof op.summary, 'string', `${method} ${path}: summary`);
        assert.ok(Object.keys(op.responses ?? {}).length > 0, `${method} ${path}: responses`);
        for (const [status, resp] of Object.entries(op.responses as Record<string, any>)) {
          assert.match(status, /^[1-5]\d\d$/);
          assert.equal(typeof resp.description, 'string', `${method} ${path} ${status}`);
        }
        const declared = (op.parameters ?? []).filter((p: any) => p.in === 'path').map((p: any) => p.name);
        assert.deepEqual(declared.sort(), [...params].sort(), `${method} ${path}: path parameters`);
        for (const p of op.parameters ?? []) {
          assert.ok(['path', 'query', 'header', 'cookie'].includes(p.in));
          if (p.in === 'path') assert.equal(p.required, true);
        }
        const open = Array.isArray(op.security) && op.security.length === 0;
        if (!open) assert.ok(op.responses['401'], `${method} ${path}: documents 401`);
      }
    }
    // Every $ref points at something in the document.
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/([^"]+)"/g)].map((m) => m[1]);
    assert.ok(refs.length > 0);
    for (const ref of refs) {
      let node: any = doc;
      for (const part of ref.split('/')) node = node?.[part];
      assert.ok(node, `$ref #/${ref}`);
    }
  });

  it('lists exactly the endpoints the server routes, with the same openness', async () => {
    const doc = (await call(`${t.admin}/openapi.json`)).json;
    const server = createAdminServer({
      revisions: t.gw.revisions,
      store: t.gw.store,
      services: t.gw.services,
      modules: ADMIN_MODULES,
      metrics: t.gw.metrics,
      token: new AdminToken(ADMIN_TOKEN),
      logger: t.gw.logger,
      clock: t.gw.clock,
      startedAt: 0,
    });
    const routed = server.routes.map((r) => `${r.method} ${openApiPath(r.path)}`).sort();
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([p, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`))
      .sort();
    assert.deepEqual(
      documented,
      routed,
      'document every admin endpoint: pass its OpenAPI operation as the 5th argument of route(), or add it to src/admin/openapi.ts',
    );
    for (const r of server.routes) {
      const op = doc.paths[openApiPath(r.path)][r.method.toLowerCase()];
      const open = Array.isArray(op.security) && op.security.length === 0;
      assert.equal(open, r.open, `${r.method} ${r.path}: security`);
    }
    // And each documented endpoint answers as routed (not the "no admin endpoint" 404).
    for (const r of server.routes) {
      // A POST /config here is a dry run: it must not change the running revision.
      const path = r.path.replace(/:[A-Za-z0-9_]+/g, '1') + (r.path === '/config' ? '?dry_run=true' : '');
      const res = await adminCall(
        t,
        r.method,
        path,
        r.method === 'GET' || r.method === 'DELETE' ? undefined : '{}',
      );
      assert.ok(
        !(res.status === 404 && /^no admin endpoint/.test(res.json?.error?.message ?? '')),
        `${r.method} ${path}`,
      );
    }
    assert.equal(t.gw.revisions.active?.id, 1);
  });
});
