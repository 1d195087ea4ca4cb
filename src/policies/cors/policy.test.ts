import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import {
  adminCall,
  call,
  minimalConfig,
  startGateway,
  type TestGateway,
} from '../../../test/helpers/gateway.js';
import { testContext } from '../../../test/helpers/policy-context.js';
import { startUpstream, type Upstream } from '../../../test/helpers/upstream.js';
import { validator } from '../../config/ajv.js';
import { ManualClock } from '../../core/clock.js';
import type { Outcome, PolicyDeps, PolicyFn } from '../../core/policy.js';
import { cors } from './policy.js';
import { CorsSchema } from './schema.js';

const valid = validator(CorsSchema);

/** The config as the validator leaves it (defaults filled in). */
function withDefaults(config: Record<string, unknown>): Record<string, unknown> {
  const c = structuredClone(config);
  assert.equal(valid(c), true, JSON.stringify(valid.errors));
  return c;
}

function make(config: Record<string, unknown>): PolicyFn {
  const deps = {
    logger: pino({ level: 'silent' }),
    clock: new ManualClock(),
    gateway: { trustedProxies: [] },
  };
  const h = cors.create(withDefaults(config) as never, deps as unknown as PolicyDeps);
  assert.ok(h.request);
  return h.request;
}

function run(fn: PolicyFn, method: string, headers: IncomingHttpHeaders) {
  const c = testContext({ method, headers }, 'cors');
  const out = fn(c) as Exclude<Outcome, Promise<unknown>>;
  return { out, headers: { ...c.responseHeaders } };
}

describe('cors: schema', () => {
  it('fills the defaults', () => {
    assert.deepEqual(withDefaults({ origins: ['https://a.test'] }), {
      origins: ['https://a.test'],
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      headers: [],
      exposeHeaders: [],
      credentials: false,
      maxAgeSeconds: 600,
      denyDisallowed: false,
    });
  });

  it('refuses an empty origin list, lower-case methods, a negative max age and unknown keys', () => {
    assert.equal(valid({ origins: [] }), false);
    assert.equal(valid({}), false);
    assert.equal(valid({ origins: ['*'], methods: ['get'] }), false);
    assert.equal(valid({ origins: ['*'], maxAgeSeconds: -1 }), false);
    assert.equal(valid({ origins: ['*'], allowOrigins: ['*'] }), false);
  });

  it("refuses '*' with credentials and malformed wildcards at create", () => {
    assert.throws(
      () => make({ origins: ['*'], credentials: true }),
      /origins '\*' cannot be combined with credentials: true/,
    );
    for (const o of [
      'https://*example.com',
      'https://app.*.example.com',
      '*.example.com',
      'https://*.',
      'ftp://*.example.com',
    ])
      assert.throws(() => make({ origins: [o] }), /wildcards are only allowed as a leading subdomain/, o);
  });
});

describe('cors: behaviour', () => {
  const fn = make({
    origins: ['https://app.example.com', 'https://*.example.org', 'http://*.local.test:8080'],
    credentials: true,
    exposeHeaders: ['X-Total', 'X-Page'],
  });

  it('allows an exact origin, case-insensitively, and echoes it as sent', () => {
    const { out, headers } = run(fn, 'GET', { origin: 'https://APP.example.com' });
    assert.deepEqual(out, { kind: 'allow', rule: 'origin' });
    assert.deepEqual(headers, {
      vary: 'Origin',
      'access-control-allow-origin': 'https://APP.example.com',
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': 'X-Total, X-Page',
    });
  });

  it('matches wildcard subdomains on label boundaries, with scheme and port', () => {
    const ok = (o: string) => run(fn, 'GET', { origin: o }).out?.kind === 'allow';
    assert.equal(ok('https://a.example.org'), true);
    assert.equal(ok('https://a.b.example.org'), true);
    assert.equal(ok('http://api.local.test:8080'), true);
    assert.equal(ok('https://example.org'), false, 'the apex is not a subdomain');
    assert.equal(ok('http://a.example.org'), false, 'scheme');
    assert.equal(ok('https://a.example.org:8443'), false, 'port');
    assert.equal(ok('https://evilexample.org'), false);
    assert.equal(ok('https://evil.com/.example.org'), false);
    assert.equal(ok('https://user@a.example.org'), false);
    assert.equal(ok('http://api.local.test'), false, 'port required');
  });

  it('passes a disallowed origin without CORS headers, but with Vary', () => {
    const { out, headers } = run(fn, 'GET', { origin: 'https://evil.test' });
    assert.equal(out, undefined);
    assert.deepEqual(headers, { vary: 'Origin' });
  });

  it('does nothing but Vary without an Origin', () => {
    const { out, headers } = run(fn, 'GET', {});
    assert.equal(out, undefined);
    assert.deepEqual(headers, { vary: 'Origin' });
  });

  it('answers a preflight itself, echoing the asked headers when none are configured', () => {
    const { out, headers } = run(fn, 'OPTIONS', {
      origin: 'https://a.example.org',
      'access-control-request-method': 'PUT',
      'access-control-request-headers': 'content-type, x-api-key',
    });
    assert.deepEqual(out, {
      kind: 'respond',
      status: 204,
      headers: {
        'access-control-allow-methods': 'GET, HEAD, POST, PUT, PATCH, DELETE',
        'access-control-max-age': '600',
        'access-control-allow-headers': 'content-type, x-api-key',
        vary: 'Origin, Access-Control-Request-Headers',
      },
      body: '',
      rule: 'preflight',
    });
    assert.equal(headers['access-control-allow-origin'], 'https://a.example.org');
    assert.equal(headers['access-control-expose-headers'], undefined, 'not on preflights');
  });

  it('denies a preflight from a disallowed origin', () => {
    const { out } = run(fn, 'OPTIONS', {
      origin: 'https://evil.test',
      'access-control-request-method': 'GET',
    });
    assert.equal(out?.kind, 'reject');
    assert.equal((out as { code: string }).code, 'PCS_ERR_CORS_ORIGIN_DENIED');
  });

  it('treats OPTIONS without Access-Control-Request-Method as an actual request', () => {
    const { out } = run(fn, 'OPTIONS', { origin: 'https://app.example.com' });
    assert.deepEqual(out, { kind: 'allow', rule: 'origin' });
  });

  it("answers '*' without Vary and without credentials", () => {
    const { headers } = run(make({ origins: ['*'] }), 'GET', { origin: 'https://x.test' });
    assert.deepEqual(headers, { 'access-control-allow-origin': '*' });
  });

  it('denies a disallowed origin with denyDisallowed', () => {
    const { out } = run(make({ origins: ['https://a.test'], denyDisallowed: true }), 'GET', {
      origin: 'https://b.test',
    });
    assert.deepEqual(out && { kind: out.kind, code: (out as { code: string }).code, rule: out.rule }, {
      kind: 'reject',
      code: 'PCS_ERR_CORS_ORIGIN_DENIED',
      rule: 'origin',
    });
  });
});

describe('cors: through the gateway', () => {
  let up: Upstream;
  let t: TestGateway;
  let n = 0;

  before(async () => {
    up = await startUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', vary: 'Accept-Encoding', 'x-total': '3' });
      res.end(`${req.method} ${req.url}`);
    });
    t = await startGateway(
      minimalConfig(up.url, {
        policies: [
          {
            name: 'cors',
            scope: { route: 'hello' },
            config: {
              origins: ['https://app.example.com', 'https://*.example.org'],
              headers: ['Content-Type', 'Authorization'],
              exposeHeaders: ['X-Total'],
              credentials: true,
              maxAgeSeconds: 120,
            },
          },
        ],
      }),
    );
  });
  after(async () => {
    await t.stop();
    await up.close();
  });

  async function send(method: string, headers: Record<string, string>) {
    const id = `cors-${++n}`;
    const r = await call(`${t.url}/hello/x`, { method, headers: { 'x-request-id': id, ...headers } });
    return { r, line: await accessLine(t, id) };
  }

  it('answers the preflight with 204 and the CORS headers, without forwarding it', async () => {
    const seen = up.seen.length;
    const { r, line } = await send('OPTIONS', {
      origin: 'https://app.example.com',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type',
    });
    assert.equal(r.status, 204);
    assert.equal(r.text, '');
    assert.equal(r.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.equal(r.headers['access-control-allow-credentials'], 'true');
    assert.equal(r.headers['access-control-allow-methods'], 'GET, HEAD, POST, PUT, PATCH, DELETE');
    assert.equal(r.headers['access-control-allow-headers'], 'Content-Type, Authorization');
    assert.equal(r.headers['access-control-max-age'], '120');
    assert.equal(r.headers.vary, 'Origin');
    assert.equal(r.headers['x-request-id'], line.request_id);
    assert.equal(up.seen.length, seen, 'the upstream never saw the preflight');
    assert.equal(line.status, 204);
    assert.deepEqual(
      (line.decisions as { policy: string; outcome: string; rule: string }[]).map((d) => [
        d.policy,
        d.outcome,
        d.rule,
      ]),
      [['cors', 'respond', 'preflight']],
    );
  });

  it('adds Allow-Origin, credentials, exposed headers and Vary to actual requests, keeping the upstream Vary', async () => {
    const { r } = await send('GET', { origin: 'https://api.example.org' });
    assert.equal(r.status, 200);
    assert.equal(r.text, 'GET /hello/x');
    assert.equal(r.headers['access-control-allow-origin'], 'https://api.example.org');
    assert.equal(r.headers['access-control-allow-credentials'], 'true');
    assert.equal(r.headers['access-control-expose-headers'], 'X-Total');
    assert.equal(r.headers.vary, 'Accept-Encoding, Origin');
    assert.equal(up.seen.at(-1)?.headers.origin, 'https://api.example.org', 'Origin is forwarded');
  });

  it('forwards a disallowed origin without CORS headers', async () => {
    const { r, line } = await send('POST', { origin: 'https://evil.test', 'content-type': 'text/plain' });
    assert.equal(r.status, 200);
    for (const h of Object.keys(r.headers)) assert.ok(!h.startsWith('access-control-'), h);
    assert.equal(r.headers.vary, 'Accept-Encoding, Origin');
    assert.deepEqual(
      (line.decisions as { outcome: string }[]).map((d) => d.outcome),
      ['allow'],
    );
  });

  it('refuses a preflight from a disallowed origin with 403', async () => {
    const seen = up.seen.length;
    const { r, line } = await send('OPTIONS', {
      origin: 'https://example.org',
      'access-control-request-method': 'GET',
    });
    assert.equal(r.status, 403);
    assert.equal(r.json.error.code, 'PCS_ERR_CORS_ORIGIN_DENIED');
    assert.equal(r.headers['access-control-allow-origin'], undefined);
    assert.equal(up.seen.length, seen);
    assert.equal(line.detail, 'origin https://example.org');
  });

  it('answers 403 to actual requests of a disallowed origin with denyDisallowed', async () => {
    await apply(t, up, [
      { name: 'cors', config: { origins: ['https://app.example.com'], denyDisallowed: true } },
    ]);
    const seen = up.seen.length;
    const { r } = await send('GET', { origin: 'https://evil.test' });
    assert.equal(r.status, 403);
    assert.deepEqual(r.json, {
      error: {
        code: 'PCS_ERR_CORS_ORIGIN_DENIED',
        message: 'Origin not allowed',
        request_id: r.headers['x-request-id'],
      },
    });
    assert.equal(up.seen.length, seen);
    const ok = await send('GET', { origin: 'https://app.example.com' });
    assert.equal(ok.r.status, 200);
    const none = await send('GET', {});
    assert.equal(none.r.status, 200, 'requests without Origin are not cross-origin');
  });

  it("answers '*' to any origin", async () => {
    await apply(t, up, [{ name: 'cors', config: { origins: ['*'] } }]);
    const { r } = await send('GET', { origin: 'https://whoever.test' });
    assert.equal(r.headers['access-control-allow-origin'], '*');
    assert.equal(r.headers.vary, 'Accept-Encoding');
    assert.equal(r.headers['access-control-allow-credentials'], undefined);
  });

  it("refuses '*' with credentials as a config error with its path", async () => {
    const active = t.gw.revisions.active?.id;
    const r = await adminCall(
      t,
      'POST',
      '/config',
      minimalConfig(up.url, {
        policies: [
          { name: 'cors', config: { origins: ['*'], credentials: true } },
          { name: 'cors', id: 'b', scope: { route: 'hello' }, config: { origins: ['https://*bad.test'] } },
        ],
      }),
    );
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'PCS_ERR_CONFIG_INVALID');
    assert.deepEqual(r.json.error.issues, [
      {
        path: '/policies/0/config/credentials',
        message: "origins '*' cannot be combined with credentials: true",
      },
      {
        path: '/policies/1/config/origins/0',
        message:
          "'https://*bad.test': wildcards are only allowed as a leading subdomain, like https://*.example.com",
      },
    ]);
    assert.equal(t.gw.revisions.active?.id, active);
  });
});

async function apply(t: TestGateway, up: Upstream, policies: unknown[]): Promise<void> {
  const r = await adminCall(t, 'POST', '/config', minimalConfig(up.url, { policies }));
  assert.ok(r.status === 201 || r.status === 200, `${r.status} ${r.text}`);
}

async function accessLine(t: TestGateway, id: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 100; i++) {
    const line = t.access.lines.find((l) => l.request_id === id);
    if (line) return line;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no access log line for ${id}`);
}
