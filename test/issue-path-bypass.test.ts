import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { accessLine } from './helpers/access-log.js';
import { adminCall, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

/**
 * Issue 11 item 1: `/admin` behind key-auth and a policy-free `/` catch-all. Every spelling of
 * `/admin` that some upstream reads as `/admin` (nginx merge_slashes, Tomcat path parameters,
 * IIS case folding and trailing dots, servers that decode `%2F` or cut at NUL) must be refused,
 * or routed to `/admin` and asked for a key: never served by the catch-all.
 */

interface RawReply {
  status: number;
  json: any;
}

/** One request with the target exactly as written (no client library to tidy it up). */
function raw(base: string, target: string, headers: Record<string, string> = {}): Promise<RawReply> {
  const u = new URL(base);
  const head = Object.entries({ host: 'gw.test', ...headers, connection: 'close' })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return new Promise((resolve, reject) => {
    const s = connect(Number(u.port), u.hostname, () => s.write(`GET ${target} HTTP/1.1\r\n${head}\r\n`));
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', reject);
    s.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const body = text.slice(text.indexOf('\r\n\r\n') + 4);
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]), json });
    });
  });
}

const ADMIN_SPELLINGS = [
  '//admin',
  '/admin;x',
  '/admin;jsessionid=1/x',
  '/admin%2fx',
  '/admin%2Fx',
  '/admin%5cx',
  '/admin\\x',
  '/admin.',
  '/admin%2e',
  '/admin%00',
  '/admin%20',
  '/admin.%20',
  '/%61dmin',
  '/x/..%2fadmin',
  '/x/..;/admin',
  '/x/..\\admin',
  '/x/%2e%2e/admin',
  '/admin%c0%af',
  'http://gw.test//admin',
  'http://gw.test/x/..%2fadmin',
];

/** The same, for a case-folding upstream (IIS): with `caseInsensitive` on the guarded route. */
const CASE_SPELLINGS = ['/ADMIN', '/Admin/x', '/%41DMIN', '/aDmIn;x', '//ADMIN', '/ADMIN%2fx'];

/** The usual layout, as it was before path normalisation existed. */
function plain(upstream: string) {
  return {
    services: [{ name: 'app', targets: [{ url: upstream }] }],
    routes: [
      { name: 'admin', service: 'app', paths: ['/admin'] },
      { name: 'catch-all', service: 'app', paths: ['/'] },
    ],
    policies: [{ name: 'key-auth', scope: { route: 'admin' }, config: {} }],
  };
}

async function refusedOrAskedForKey(g: TestGateway, up: Upstream, p: string): Promise<void> {
  const seen = up.seen.length;
  const r = await raw(g.url, p);
  assert.ok(
    (r.status === 400 && r.json?.error?.code === 'PCS_ERR_PATH_REJECTED') ||
      (r.status === 401 && r.json?.error?.code === 'PCS_ERR_AUTH_REQUIRED'),
    `${p}: ${r.status} ${JSON.stringify(r.json)}`,
  );
  assert.equal(up.seen.length, seen, `${p} reached the upstream`);
}

describe('issue 11.1: no spelling of /admin reaches the upstream through the catch-all', () => {
  let up: Upstream;
  let g: TestGateway;

  before(async () => {
    up = await startUpstream();
    g = await startGateway(plain(up.url));
  });
  after(async () => {
    await g.stop();
    await up.close();
  });

  it('the layout works: the catch-all serves, /admin asks for a key', async () => {
    const ok = await raw(g.url, '/hello/world');
    assert.equal(ok.status, 200);
    assert.equal(ok.json.url, '/hello/world');
    const denied = await raw(g.url, '/admin');
    assert.equal(denied.status, 401);
    assert.equal(denied.json.error.code, 'PCS_ERR_AUTH_REQUIRED');
  });

  for (const p of ADMIN_SPELLINGS)
    it(`${JSON.stringify(p)} is refused or asked for a key`, () => refusedOrAskedForKey(g, up, p));
});

function config(upstream: string, gateway?: object) {
  return {
    services: [{ name: 'app', targets: [{ url: upstream }] }],
    routes: [
      { name: 'admin', service: 'app', paths: ['/admin'], pathNormalization: { caseInsensitive: true } },
      { name: 'files', service: 'app', paths: ['/files'], pathNormalization: { escapedSlashes: 'keep' } },
      {
        name: 'decoded',
        service: 'app',
        paths: ['/decoded'],
        pathNormalization: { escapedSlashes: 'decode' },
      },
      { name: 'java', service: 'app', paths: ['/java'], pathNormalization: { pathParams: 'strip' } },
      { name: 'matrix', service: 'app', paths: ['/matrix'], pathNormalization: { pathParams: 'keep' } },
      {
        name: 'win',
        service: 'app',
        paths: ['/win'],
        pathNormalization: { backslashes: 'slash', trailingDotOrSpace: 'strip' },
      },
      { name: 'raw', service: 'app', paths: ['/raw'], pathNormalization: { mergeSlashes: false } },
      { name: 'catch-all', service: 'app', paths: ['/'] },
    ],
    policies: [{ name: 'key-auth', scope: { route: 'admin' }, config: {} }],
    ...(gateway ? { gateway } : {}),
  };
}

describe('issue 11.1: path normalisation options, through the gateway', () => {
  let up: Upstream;
  let g: TestGateway;
  let key: string;

  before(async () => {
    up = await startUpstream();
    g = await startGateway(config(up.url));
    assert.equal((await adminCall(g, 'POST', '/consumers', { name: 'alice' })).status, 201);
    const k = await adminCall(g, 'POST', '/consumers/alice/credentials', { kind: 'key-auth' });
    key = k.json.key;
  });
  after(async () => {
    await g.stop();
    await up.close();
  });

  for (const p of [...ADMIN_SPELLINGS, ...CASE_SPELLINGS])
    it(`${JSON.stringify(p)} is refused or asked for a key (caseInsensitive /admin)`, () =>
      refusedOrAskedForKey(g, up, p));

  it('a caller with a key reaches /admin under its other spellings, forwarded as normalised', async () => {
    const auth = { 'x-api-key': key };
    for (const [p, forwarded] of [
      ['//admin//x', '/admin/x'],
      ['/ADMIN/x', '/ADMIN/x'],
      ['/%61dmin/%7Eu', '/admin/~u'],
      ['/x/%2e%2e/admin', '/admin'],
      ['/admin/a%3bb?q=%2f', '/admin/a%3Bb?q=%2f'],
    ]) {
      const r = await raw(g.url, p, auth);
      assert.equal(r.status, 200, p);
      assert.equal(r.json.url, forwarded, p);
      assert.equal(up.seen.at(-1)!.url, forwarded, p);
    }
  });

  it('escapedSlashes: keep forwards %2F inside a segment; decode routes and forwards it as /', async () => {
    assert.equal((await raw(g.url, '/files/a%2fb')).json.url, '/files/a%2Fb');
    assert.equal((await raw(g.url, '/decoded/a%2fb')).json.url, '/decoded/a/b');
    const r = await raw(g.url, '/decoded%2fx');
    assert.equal(r.status, 200);
    assert.equal(r.json.url, '/decoded/x');
    // Kept or not, an escaped slash cannot hide a dot segment, nor reach /admin.
    for (const p of ['/files/..%2fadmin', '/files%2f..%2fadmin', '/decoded/..%2fadmin']) {
      const x = await raw(g.url, p);
      assert.ok([400, 401].includes(x.status), p);
    }
  });

  it('pathParams: strip removes ;params (Tomcat); keep forwards them', async () => {
    assert.equal((await raw(g.url, '/java;jsessionid=1/x;v=2')).json.url, '/java/x');
    assert.equal((await raw(g.url, '/matrix/a;v=1/b')).json.url, '/matrix/a;v=1/b');
    const r = await raw(g.url, '/matrix/..;/admin');
    assert.ok([400, 401].includes(r.status), JSON.stringify(r));
  });

  it('backslashes: slash and trailingDotOrSpace: strip read the path as Windows does', async () => {
    assert.equal((await raw(g.url, '/win\\a\\b.')).json.url, '/win/a/b');
    assert.equal((await raw(g.url, '/win/report%20')).json.url, '/win/report');
  });

  it('mergeSlashes: false keeps empty segments; a path it would send elsewhere is refused', async () => {
    assert.equal((await raw(g.url, '/raw//a')).json.url, '/raw//a');
    // Read leniently `//raw` is /raw; kept as sent it is not (the catch-all would take it).
    const r = await raw(g.url, '//raw');
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'PCS_ERR_PATH_REJECTED');
  });

  it('refusals are logged with their cause', async () => {
    await raw(g.url, '/admin%2fx', { 'x-request-id': 'path-bypass-1' });
    const line = await accessLine(g.access, 'path-bypass-1');
    assert.equal(line.status, 400);
    assert.equal(line.error, 'PCS_ERR_PATH_REJECTED');
    assert.equal(line.detail, 'encoded slash in path');
  });
});

describe('issue 11.1: gateway-wide options', () => {
  it('gateway.pathNormalization sets the defaults every route inherits; a route may override', async () => {
    const up = await startUpstream();
    const g = await startGateway(
      config(up.url, { pathNormalization: { caseInsensitive: true, pathParams: 'strip' } }),
    );
    try {
      assert.equal((await raw(g.url, '/CATCH;x')).json.url, '/CATCH');
      assert.equal((await raw(g.url, '/Admin;x')).status, 401);
      assert.equal((await raw(g.url, '/MATRIX/a;v=1')).json.url, '/MATRIX/a;v=1');
      assert.equal((await raw(g.url, '/files%2fx')).status, 400, 'escaped slashes still refused');
    } finally {
      await g.stop();
      await up.close();
    }
  });

  it('an unknown option or mode is refused whole', async () => {
    const up = await startUpstream();
    const g = await startGateway(config(up.url));
    try {
      for (const bad of [
        { gateway: { pathNormalization: { escapedSlashes: 'maybe' } } },
        { gateway: { pathNormalization: { foldCase: true } } },
      ]) {
        const r = await adminCall(g, 'POST', '/config', { ...config(up.url), ...bad });
        assert.equal(r.status, 400, r.text);
      }
      const r = await adminCall(g, 'POST', '/config', {
        ...config(up.url),
        routes: [{ name: 'x', service: 'app', paths: ['/x'], pathNormalization: { pathParams: 'drop' } }],
      });
      assert.equal(r.status, 400, r.text);
    } finally {
      await g.stop();
      await up.close();
    }
  });
});
