import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../src/core/clock.js';
import { accessLine } from './helpers/access-log.js';
import { adminCall, call, type Reply, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

// 2025-03-03 is a Monday; 09:30 UTC is 10:30 in Berlin.
const T0 = Date.parse('2025-03-03T09:30:00Z');
const ISS = 'https://idp.test';
const SECRET = 'an-hs256-shared-secret-of-at-least-32-bytes!';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
function token(claims: Record<string, unknown>): string {
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ iss: ISS, iat: T0 / 1000, exp: T0 / 1000 + 3600, ...claims })}`;
  return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}

const KEY = { name: 'key-auth', config: {} };
const JWT = {
  name: 'jwt',
  config: { issuers: [{ issuer: ISS, algorithms: ['HS256'], secrets: [{ secret: SECRET }] }] },
};
const on = (route: string, p: object, mode = 'enforce') => ({ ...p, scope: { route }, mode });

function config(upstream: string) {
  const routes = [
    ['acl', '/acl'],
    ['scopes', '/scopes'],
    ['rbac', '/api'],
    ['rbac-claim', '/claims'],
    ['rbac-shadow', '/rbac-shadow'],
    ['orders', '/orders/:owner/:id'],
    ['office', '/office'],
    ['abac-shadow', '/abac-shadow'],
  ] as const;
  return {
    services: [{ name: 'echo', targets: [{ url: upstream }] }],
    routes: routes.map(([name, path]) => ({ name, service: 'echo', paths: [path] })),
    policies: [
      ...['acl', 'rbac', 'rbac-shadow', 'orders', 'office', 'abac-shadow'].map((r) => on(r, KEY)),
      ...['scopes', 'rbac-claim'].map((r) => on(r, JWT)),
      on('acl', { name: 'acl', config: { allow: ['staff', 'partners'], deny: ['suspended'] } }),
      on('scopes', {
        name: 'scopes',
        config: { required: ['orders:read'], methods: { DELETE: ['orders:admin'] } },
      }),
      on('rbac', {
        name: 'rbac',
        config: {
          permissions: {
            reader: ['GET /api/orders/*', 'GET /api/orders'],
            admin: ['* /api/**'],
            writer: ['POST,PUT /api/orders/*/items/**'],
          },
        },
      }),
      on('rbac-claim', {
        name: 'rbac',
        config: {
          roles: { groups: false, claim: 'realm_access.roles' },
          permissions: { auditor: ['GET /claims'] },
        },
      }),
      on('rbac-shadow', { name: 'rbac', config: { permissions: { admin: ['* /**'] } } }, 'shadow'),
      on('orders', {
        name: 'abac',
        config: {
          rules: [{ name: 'owner-only', expression: 'request.params.owner == consumer.name' }],
        },
      }),
      on('office', {
        name: 'abac',
        config: {
          rules: [
            {
              name: 'blocked-ua',
              effect: 'deny',
              expression: 'request.headers["user-agent"].startsWith("curl")',
            },
            {
              name: 'office-hours',
              expression:
                'inCidr(client.ip, ["10.0.0.0/8", "127.0.0.0/8"]) && inHours(now, "08:00", "18:00", "Europe/Berlin") && "staff" in consumer.groups',
            },
          ],
        },
      }),
      on(
        'abac-shadow',
        { name: 'abac', config: { rules: [{ name: 'nobody', expression: 'false' }] } },
        'shadow',
      ),
    ],
  };
}

describe('authorization policies through the gateway', () => {
  let up: Upstream;
  let g: TestGateway;
  const clock = new ManualClock(T0);
  const keys: Record<string, string> = {};

  async function consumer(name: string, groups: string[]) {
    assert.equal((await adminCall(g, 'POST', '/consumers', { name, groups })).status, 201);
    const r = await adminCall(g, 'POST', `/consumers/${name}/credentials`, { kind: 'key-auth' });
    assert.equal(r.status, 201, r.text);
    keys[name] = r.json.key;
  }

  let seq = 0;
  let lastId = '';
  /** A fresh request id for the next request; `decision` reads the line of that request. */
  const nextId = () => {
    lastId = `authz-${++seq}`;
    return lastId;
  };
  const as = (who: string, path: string, method = 'GET', headers: Record<string, string> = {}) =>
    call(`${g.url}${path}`, {
      method,
      headers: { 'x-api-key': keys[who], 'user-agent': 'test', ...headers, 'x-request-id': nextId() },
    });
  const bearer = (claims: Record<string, unknown>, path: string, method = 'GET') =>
    call(`${g.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token(claims)}`, 'x-request-id': nextId() },
    });

  /** The authz decision of the last request `as` or `bearer` sent (to `path`), from its access-log line. */
  async function decision(path: string, policy: string) {
    const line = await accessLine(g.access, lastId);
    assert.equal(line.path, path);
    const d = (line.decisions as { policy: string }[] | undefined)?.find((x) => x.policy === policy);
    assert.ok(d, `no ${policy} decision for ${path}`);
    return d as unknown as { outcome: string; rule?: string; code?: string; mode: string };
  }

  function denied(r: Reply, code: string) {
    assert.equal(r.status, 403, r.text);
    assert.equal(r.json.error.code, code);
  }

  before(async () => {
    up = await startUpstream();
    g = await startGateway(config(up.url), { clock });
    await consumer('alice', ['staff', 'reader']);
    await consumer('bob', ['partners', 'suspended', 'admin']);
    await consumer('carol', ['visitors', 'writer']);
    await consumer('dave', ['admin']);
  });
  after(async () => {
    await g.stop();
    await up.close();
  });

  it('acl: allows a listed group, denies a denied group first, and a consumer in no allowed group', async () => {
    const ok = await as('alice', '/acl');
    assert.equal(ok.status, 200);
    assert.equal(ok.json.headers['x-consumer-groups'], 'staff, reader');
    assert.equal((await decision('/acl', 'acl')).rule, 'allow:staff');
    denied(await as('bob', '/acl'), 'PCS_ERR_ACL_DENIED');
    assert.equal((await decision('/acl', 'acl')).rule, 'deny:suspended');
    denied(await as('carol', '/acl'), 'PCS_ERR_ACL_DENIED');
    assert.equal((await decision('/acl', 'acl')).rule, 'allow:none');
    // The header cannot be forged by the client.
    const forged = await as('alice', '/acl', 'GET', { 'x-consumer-groups': 'admin' });
    assert.equal(forged.json.headers['x-consumer-groups'], 'staff, reader');
  });

  it('scopes: needs the route scopes, and more for DELETE, with an insufficient_scope challenge', async () => {
    assert.equal((await bearer({ sub: 'alice', scope: 'orders:read' }, '/scopes')).status, 200);
    const del = await bearer({ sub: 'alice', scope: 'orders:read' }, '/scopes', 'DELETE');
    denied(del, 'PCS_ERR_INSUFFICIENT_SCOPE');
    assert.equal(
      del.headers['www-authenticate'],
      'Bearer realm="portcullis", error="insufficient_scope", scope="orders:read orders:admin"',
    );
    assert.equal((await decision('/scopes', 'scopes')).rule, 'scopes:missing:orders:admin');
    assert.equal(
      (await bearer({ sub: 'alice', scp: ['orders:read', 'orders:admin'] }, '/scopes', 'DELETE')).status,
      200,
    );
    denied(await bearer({ sub: 'alice' }, '/scopes'), 'PCS_ERR_INSUFFICIENT_SCOPE');
  });

  it('rbac: roles from groups grant METHOD /path patterns, everything else is denied', async () => {
    assert.equal((await as('alice', '/api/orders/7')).status, 200);
    assert.equal((await decision('/api/orders/7', 'rbac')).rule, 'rbac:reader:GET /api/orders/*');
    assert.equal((await as('alice', '/api/orders')).status, 200);
    denied(await as('alice', '/api/orders/7', 'DELETE'), 'PCS_ERR_RBAC_DENIED');
    assert.equal((await decision('/api/orders/7', 'rbac')).rule, 'rbac:no_permission');
    denied(await as('alice', '/api/orders/7/items'), 'PCS_ERR_RBAC_DENIED');
    assert.equal((await as('carol', '/api/orders/7/items', 'PUT')).status, 200);
    assert.equal((await as('carol', '/api/orders/7/items/1/notes', 'POST')).status, 200);
    denied(await as('carol', '/api/orders/7/items', 'DELETE'), 'PCS_ERR_RBAC_DENIED');
    assert.equal((await as('dave', '/api/admin/users/1', 'DELETE')).status, 200);
    assert.equal((await decision('/api/admin/users/1', 'rbac')).rule, 'rbac:admin:* /api/**');
  });

  it('rbac: roles from a nested token claim', async () => {
    assert.equal((await bearer({ sub: 'x', realm_access: { roles: ['auditor'] } }, '/claims')).status, 200);
    denied(await bearer({ sub: 'x', realm_access: { roles: ['other'] } }, '/claims'), 'PCS_ERR_RBAC_DENIED');
    denied(await bearer({ sub: 'x' }, '/claims'), 'PCS_ERR_RBAC_DENIED');
  });

  it('rbac in shadow records would_deny and lets the request through', async () => {
    assert.equal((await as('alice', '/rbac-shadow')).status, 200);
    const d = await decision('/rbac-shadow', 'rbac');
    assert.equal(d.outcome, 'would_deny');
    assert.equal(d.mode, 'shadow');
    assert.equal(d.code, 'PCS_ERR_RBAC_DENIED');
    assert.equal((await as('dave', '/rbac-shadow')).status, 200);
    assert.equal((await decision('/rbac-shadow', 'rbac')).outcome, 'allow');
  });

  it('abac: only the owner named in the path', async () => {
    assert.equal((await as('alice', '/orders/alice/1')).status, 200);
    assert.equal((await decision('/orders/alice/1', 'abac')).rule, 'owner-only');
    denied(await as('bob', '/orders/alice/1'), 'PCS_ERR_ABAC_DENIED');
    assert.equal((await decision('/orders/alice/1', 'abac')).rule, 'abac:default');
  });

  it('abac: office network, office hours in Berlin, a deny rule first', async () => {
    assert.equal((await as('alice', '/office')).status, 200);
    assert.equal((await decision('/office', 'abac')).rule, 'office-hours');
    denied(await as('alice', '/office', 'GET', { 'user-agent': 'curl/8.0' }), 'PCS_ERR_ABAC_DENIED');
    assert.equal((await decision('/office', 'abac')).rule, 'blocked-ua');
    denied(await as('carol', '/office'), 'PCS_ERR_ABAC_DENIED');
    clock.set(Date.parse('2025-03-03T17:30:00Z')); // 18:30 in Berlin
    try {
      denied(await as('alice', '/office'), 'PCS_ERR_ABAC_DENIED');
    } finally {
      clock.set(T0);
    }
  });

  it('abac: a rule that fails to evaluate denies and names itself', async () => {
    const r = await adminCall(g, 'GET', '/config');
    const cfg = r.json.config ?? r.json;
    cfg.policies.find(
      (p: { scope?: { route?: string }; name: string }) => p.scope?.route === 'office' && p.name === 'abac',
    ).config.rules = [{ name: 'missing-header', expression: 'request.headers["x-team"] == "a"' }];
    assert.equal((await adminCall(g, 'POST', '/config', cfg)).status < 300, true);
    try {
      denied(await as('alice', '/office'), 'PCS_ERR_ABAC_DENIED');
      assert.equal((await decision('/office', 'abac')).rule, 'missing-header:error');
      assert.equal((await as('alice', '/office', 'GET', { 'x-team': 'a' })).status, 200);
    } finally {
      assert.equal((await adminCall(g, 'POST', '/config', config(up.url))).status < 300, true);
    }
  });

  it('abac in shadow records would_deny and lets the request through', async () => {
    assert.equal((await as('alice', '/abac-shadow')).status, 200);
    const d = await decision('/abac-shadow', 'abac');
    assert.equal(d.outcome, 'would_deny');
    assert.equal(d.rule, 'abac:default');
  });

  it('refuses bad expressions and patterns with their position', async () => {
    const bad = async (p: object, path: string, message: RegExp) => {
      const r = await adminCall(g, 'POST', '/config', { ...config(up.url), policies: [p] });
      assert.equal(r.status, 400, r.text);
      const issue = r.json.error.issues.find((i: { path: string }) => i.path === path);
      assert.ok(issue, JSON.stringify(r.json.error.issues));
      assert.match(issue.message, message);
    };
    const abac = (expression: string) => ({
      name: 'abac',
      config: {
        rules: [
          { name: 'a', expression: 'true' },
          { name: 'b', expression },
        ],
      },
    });
    await bad(
      abac('request.method =='),
      '/policies/0/config/rules/1/expression',
      /rule 'b': 1:18: Unexpected token/,
    );
    await bad(
      abac('requst.method == "GET"'),
      '/policies/0/config/rules/1/expression',
      /1:1: Unknown variable: requst/,
    );
    await bad(
      abac('request.method == "GET" &&\n  1 + "a"'),
      '/policies/0/config/rules/1/expression',
      /2:3: no such overload/,
    );
    await bad(abac('1 + 1'), '/policies/0/config/rules/1/expression', /yields int, not bool/);
    await bad(
      { name: 'rbac', config: { permissions: { r: ['GET /a', 'get /b'] } } },
      '/policies/0/config/permissions/r/1',
      /not an upper-case HTTP method/,
    );
    await bad({ name: 'acl', config: {} }, '/policies/0/config', /allow or deny/);
  });
});
