import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, connect, createServer as createTcpServer, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { request as undiciRequest } from 'undici';
import { adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

/** An echo upstream that also says who it is. */
function tagged(who: string): Promise<Upstream> {
  return startUpstream((req, res, body) => {
    const out = JSON.stringify({ who, method: req.method, url: req.url, headers: req.headers, body });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(out);
  });
}

/** A node:http server whose handler runs before the request body is read. */
async function rawUpstream(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createTcpServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

interface RawReply {
  status: number;
  headers: Record<string, string[]>;
  body: string;
}

/** Sends bytes exactly as written (no URL normalisation, any header) and reads the answer. */
function raw(url: string, head: string): Promise<RawReply> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(u.port), u.hostname);
    const chunks: Buffer[] = [];
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', reject);
    sock.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const cut = text.indexOf('\r\n\r\n');
      const lines = text.slice(0, cut).split('\r\n');
      const headers: Record<string, string[]> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        const k = l.slice(0, i).toLowerCase();
        headers[k] = [...(headers[k] ?? []), l.slice(i + 1).trim()];
      }
      let body = text.slice(cut + 4);
      if (headers['transfer-encoding']?.includes('chunked')) body = dechunk(body);
      resolve({ status: Number(lines[0].split(' ')[1]), headers, body });
    });
    sock.write(`${head.replace(/\n/g, '\r\n')}\r\n\r\n`);
  });
}

function dechunk(s: string): string {
  let out = '';
  for (let i = 0; ; ) {
    const eol = s.indexOf('\r\n', i);
    const size = Number.parseInt(s.slice(i, eol), 16);
    if (!size) return out;
    out += s.slice(eol + 2, eol + 2 + size);
    i = eol + 2 + size + 2;
  }
}

function assertJsonError(
  r: { status: number; headers: Record<string, unknown>; json?: any; text?: string },
  status: number,
  code: string,
): void {
  assert.equal(r.status, status);
  assert.match(String(r.headers['content-type']), /^application\/json/);
  assert.equal(r.json.error.code, code);
  assert.equal(typeof r.json.error.message, 'string');
  assert.doesNotMatch(r.text ?? '', /at .*\.ts:\d+|<html/i);
}

describe('routing through the gateway', () => {
  let a: Upstream;
  let b: Upstream;
  let c: Upstream;
  let gw: TestGateway;
  before(async () => {
    [a, b, c] = await Promise.all([tagged('a'), tagged('b'), tagged('c')]);
    gw = await startGateway({
      services: [
        { name: 'a', targets: [{ url: a.url }] },
        { name: 'b', targets: [{ url: b.url }] },
        { name: 'c', targets: [{ url: `${c.url}/v2` }] },
      ],
      routes: [
        { name: 'hello', service: 'a', paths: ['/hello'] },
        { name: 'admin', service: 'b', paths: ['/admin'] },
        { name: 'api-host', service: 'b', paths: ['/'], hosts: ['api.example.com'] },
        { name: 'wild-host', service: 'c', paths: ['/'], hosts: ['*.example.com'] },
        { name: 'user', service: 'a', paths: ['/users/:id'], pathMatch: 'exact', methods: ['GET'] },
        {
          name: 'user-write',
          service: 'b',
          paths: ['/users/:id'],
          pathMatch: 'exact',
          methods: ['PUT', 'DELETE'],
        },
        { name: 'beta', service: 'b', paths: ['/hello'], headers: { 'x-beta': '1' } },
        { name: 'strip', service: 'c', paths: ['/strip/me'], stripPath: true },
        { name: 'host-kept', service: 'a', paths: ['/keep-host'], preserveHost: true },
        { name: 'old', service: 'a', paths: ['/old'], lifecycle: 'deprecated' },
        { name: 'gone', service: 'a', paths: ['/gone'], lifecycle: 'sunset' },
      ],
    });
  });
  after(async () => {
    await gw.stop();
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  it('routes by path prefix on segment boundaries, with the query', async () => {
    let r = await call(`${gw.url}/hello/x?q=1`);
    assert.equal(r.json.who, 'a');
    assert.equal(r.json.url, '/hello/x?q=1');
    r = await call(`${gw.url}/helloworld`);
    assertJsonError(r, 404, 'PCS_ERR_ROUTE_NOT_FOUND');
    assert.equal(r.json.error.request_id, r.headers['x-request-id']);
  });

  it('routes by exact host and by wildcard host; the more exact host wins', async () => {
    let r = await call(`${gw.url}/x`, { headers: { host: 'api.example.com' } });
    assert.equal(r.json.who, 'b');
    r = await call(`${gw.url}/x`, { headers: { host: 'www.example.com:8080' } });
    assert.equal(r.json.who, 'c');
    r = await call(`${gw.url}/x`, { headers: { host: 'example.com' } });
    assertJsonError(r, 404, 'PCS_ERR_ROUTE_NOT_FOUND');
  });

  it('a more specific path wins over a host route on /', async () => {
    const r = await call(`${gw.url}/admin/x`, { headers: { host: 'api.example.com' } });
    assert.equal(r.json.who, 'b');
    assert.equal(r.json.url, '/admin/x');
  });

  it('routes by path parameter and method', async () => {
    let r = await call(`${gw.url}/users/42`);
    assert.equal(r.json.who, 'a');
    r = await call(`${gw.url}/users/42`, { method: 'DELETE' });
    assert.equal(r.json.who, 'b');
    assert.equal(r.json.method, 'DELETE');
    r = await call(`${gw.url}/users/42`, { method: 'POST', body: 'x' });
    assertJsonError(r, 404, 'PCS_ERR_ROUTE_NOT_FOUND');
    r = await call(`${gw.url}/users/42/more`);
    assertJsonError(r, 404, 'PCS_ERR_ROUTE_NOT_FOUND');
  });

  it('routes by header', async () => {
    assert.equal((await call(`${gw.url}/hello`, { headers: { 'x-beta': '1' } })).json.who, 'b');
    assert.equal((await call(`${gw.url}/hello`, { headers: { 'x-beta': '2' } })).json.who, 'a');
  });

  it('stripPath removes the matched prefix and keeps the target base path and query', async () => {
    let r = await call(`${gw.url}/strip/me/users/7?a=b`);
    assert.equal(r.json.who, 'c');
    assert.equal(r.json.url, '/v2/users/7?a=b');
    r = await call(`${gw.url}/strip/me`);
    assert.equal(r.json.url, '/v2/');
  });

  it("sends the target's Host, or the client's with preserveHost", async () => {
    let r = await call(`${gw.url}/hello`, { headers: { host: 'client.example.org' } });
    assert.equal(r.json.headers.host, new URL(a.url).host);
    r = await call(`${gw.url}/keep-host`, { headers: { host: 'client.example.org' } });
    assert.equal(r.json.headers.host, 'client.example.org');
  });

  it('marks deprecated routes with Deprecation and answers 410 on sunset routes', async () => {
    const r = await call(`${gw.url}/old/x`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.deprecation, 'true');
    assert.equal((await call(`${gw.url}/hello`)).headers.deprecation, undefined);
    const seen = a.seen.length;
    const g = await call(`${gw.url}/gone/x`);
    assertJsonError(g, 410, 'PCS_ERR_ROUTE_SUNSET');
    assert.equal(a.seen.length, seen, 'a sunset route does not reach the upstream');
  });

  it('normalises dot segments before routing: no traversal reaches the hello upstream', async () => {
    const seenA = a.seen.length;
    for (const p of [
      '/hello/../admin/x',
      '/hello/%2e%2e/admin/x',
      '/hello/.%2E/admin/x',
      '/hello/./../admin/./x',
    ]) {
      const r = await raw(gw.url, `GET ${p} HTTP/1.1\nHost: gw.test\nConnection: close`);
      assert.equal(r.status, 200, p);
      const body = JSON.parse(r.body);
      assert.equal(body.who, 'b', p);
      assert.equal(body.url, '/admin/x', p);
    }
    assert.equal(a.seen.length, seenA);
    const r = await raw(gw.url, 'GET /hello/./x/../y HTTP/1.1\nHost: gw.test\nConnection: close');
    assert.equal(JSON.parse(r.body).url, '/hello/y');
  });

  it('refuses a path that climbs above the root or hides a dot segment', async () => {
    const seenA = a.seen.length;
    for (const p of [
      '/hello/../../etc/passwd',
      '/%2e%2e/hello',
      '/hello/..%2fadmin',
      '/hello/..%2Fadmin',
      '/hello/%2e%2e%5cadmin',
      '/hello/..\\admin',
      '/hello/..;/admin',
      '/hello/.%2e;x=1/admin',
    ]) {
      const r = await raw(gw.url, `GET ${p} HTTP/1.1\nHost: gw.test\nConnection: close`);
      assert.equal(r.status, 400, p);
      assert.equal(JSON.parse(r.body).error.code, 'PCS_ERR_PATH_REJECTED', p);
    }
    assert.equal(a.seen.length, seenA);
    // Dots inside a segment are not dot segments (`;` and trailing dots: docs/hardening.md).
    const ok = await raw(gw.url, 'GET /hello/v1.0/a..b/.%2e.x HTTP/1.1\nHost: gw.test\nConnection: close');
    assert.equal(JSON.parse(ok.body).url, '/hello/v1.0/a..b/...x');
  });
});

describe('route paths the router cannot hold', () => {
  it('are refused whole with the path of the offending entry; the running revision stays', async () => {
    const up = await tagged('a');
    const gw = await startGateway({
      services: [{ name: 'a', targets: [{ url: up.url }] }],
      routes: [{ name: 'r', service: 'a', paths: ['/a'] }],
    });
    try {
      const before = gw.gw.revisions.active?.id;
      const r = await adminCall(gw, 'POST', '/config', {
        services: [{ name: 'a', targets: [{ url: up.url }] }],
        routes: [
          { name: 'r', service: 'a', paths: ['/a'] },
          { name: 'bad', service: 'a', paths: ['/b', '/x/*/y'] },
        ],
      });
      assert.equal(r.status, 400);
      assert.equal(r.json.error.code, 'PCS_ERR_CONFIG_INVALID');
      assert.ok(JSON.stringify(r.json).includes('/routes/1/paths/1'), JSON.stringify(r.json));
      assert.equal(gw.gw.revisions.active?.id, before);
      assert.equal((await call(`${gw.url}/a`)).json.who, 'a');
    } finally {
      await gw.stop();
      await up.close();
    }
  });
});

describe('forwarding through the gateway', () => {
  let echo: Upstream;
  let gw: TestGateway;
  let trusted: TestGateway;
  before(async () => {
    echo = await startUpstream();
    const config = (extra: object) => ({
      services: [{ name: 'echo', targets: [{ url: echo.url }] }],
      routes: [{ name: 'echo', service: 'echo', paths: ['/'] }],
      ...extra,
    });
    gw = await startGateway(config({}));
    trusted = await startGateway(config({ gateway: { trustedProxies: ['127.0.0.1/32'] } }));
  });
  after(async () => {
    await Promise.all([gw.stop(), trusted.stop()]);
    await echo.close();
  });

  it('removes hop-by-hop request headers and those named in Connection', async () => {
    const r = await raw(
      gw.url,
      [
        'GET /h HTTP/1.1',
        'Host: gw.test',
        'Connection: close, X-Drop-Me',
        'X-Drop-Me: 1',
        'X-Keep-Me: 2',
        'Keep-Alive: timeout=5',
        'TE: trailers',
        'Upgrade: websocket',
        'Proxy-Authorization: Basic Zm9vOmJhcg==',
        'Proxy-Connection: keep-alive',
        'Proxy: http://evil.example',
      ].join('\n'),
    );
    assert.equal(r.status, 200);
    const h = JSON.parse(r.body).headers;
    for (const k of [
      'x-drop-me',
      'keep-alive',
      'te',
      'upgrade',
      'proxy-authorization',
      'proxy-connection',
      'proxy',
    ])
      assert.equal(h[k], undefined, k);
    assert.equal(h['x-keep-me'], '2');
  });

  it('removes hop-by-hop response headers and those named in Connection', async () => {
    const up = await rawUpstream((_req, res) => {
      res.setHeader('connection', 'X-Internal');
      res.setHeader('x-internal', 'secret');
      res.setHeader('x-public', 'yes');
      res.setHeader('keep-alive', 'timeout=1234');
      res.setHeader('proxy-authenticate', 'Basic');
      res.setHeader('upgrade', 'h2c');
      res.end('ok');
    });
    const g = await startGateway({
      services: [{ name: 's', targets: [{ url: up.url }] }],
      routes: [{ name: 'r', service: 's', paths: ['/'] }],
    });
    try {
      const r = await raw(g.url, 'GET / HTTP/1.1\nHost: gw.test\nConnection: close');
      assert.equal(r.status, 200);
      assert.equal(r.body, 'ok');
      assert.deepEqual(r.headers['x-public'], ['yes']);
      for (const k of ['x-internal', 'proxy-authenticate', 'upgrade'])
        assert.equal(r.headers[k], undefined, k);
      assert.notDeepEqual(r.headers['keep-alive'], ['timeout=1234']);
    } finally {
      await g.stop();
      await up.close();
    }
  });

  it('replaces X-Forwarded-* and Forwarded from an untrusted client', async () => {
    const r = await call(`${gw.url}/f`, {
      headers: {
        'x-forwarded-for': '6.6.6.6',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'evil.example',
        'x-real-ip': '6.6.6.6',
        forwarded: 'for=6.6.6.6',
      },
    });
    const h = r.json.headers;
    const host = new URL(gw.url).host;
    assert.equal(h['x-forwarded-for'], '127.0.0.1');
    assert.equal(h['x-forwarded-proto'], 'http');
    assert.equal(h['x-forwarded-host'], host);
    assert.equal(h['x-real-ip'], undefined);
    assert.equal(h.forwarded, `for=127.0.0.1;host="${host}";proto=http`);
  });

  it('sets X-Forwarded-* and Forwarded when the client sends none', async () => {
    const h = (await call(`${gw.url}/f`, { headers: { host: 'api.example.com' } })).json.headers;
    assert.equal(h['x-forwarded-for'], '127.0.0.1');
    assert.equal(h['x-forwarded-proto'], 'http');
    assert.equal(h['x-forwarded-host'], 'api.example.com');
    assert.equal(h.forwarded, 'for=127.0.0.1;host=api.example.com;proto=http');
  });

  it('believes and extends X-Forwarded-* and Forwarded from a trusted proxy', async () => {
    const r = await call(`${trusted.url}/f`, {
      headers: {
        host: 'gw.internal',
        'x-forwarded-for': '203.0.113.9',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'shop.example.com',
        forwarded: 'for=203.0.113.9;proto=https',
      },
    });
    const h = r.json.headers;
    assert.equal(h['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
    assert.equal(h['x-forwarded-proto'], 'https');
    assert.equal(h['x-forwarded-host'], 'shop.example.com');
    assert.equal(h.forwarded, 'for=203.0.113.9;proto=https, for=127.0.0.1;host=gw.internal;proto=http');
  });

  it('propagates a valid X-Request-Id upstream and echoes it', async () => {
    const r = await call(`${gw.url}/id`, { headers: { 'x-request-id': 'abc-123.DEF:4' } });
    assert.equal(r.json.headers['x-request-id'], 'abc-123.DEF:4');
    assert.equal(r.headers['x-request-id'], 'abc-123.DEF:4');
  });

  it('generates an X-Request-Id when the client sends none or an unacceptable one', async () => {
    for (const sent of [undefined, 'has spaces in it', 'x'.repeat(201), 'quote"d']) {
      const r = await call(`${gw.url}/id`, { headers: sent === undefined ? {} : { 'x-request-id': sent } });
      const id = r.headers['x-request-id'];
      assert.match(
        String(id),
        /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
        String(sent),
      );
      assert.equal(r.json.headers['x-request-id'], id);
    }
  });

  it('keeps several Set-Cookie headers apart', async () => {
    const up = await rawUpstream((_req, res) => {
      res.setHeader('set-cookie', ['a=1; Path=/; HttpOnly', 'b=2; Expires=Wed, 21 Oct 2015 07:28:00 GMT']);
      res.end('ok');
    });
    const g = await startGateway({
      services: [{ name: 's', targets: [{ url: up.url }] }],
      routes: [{ name: 'r', service: 's', paths: ['/'] }],
    });
    try {
      const r = await call(`${g.url}/`);
      assert.deepEqual(r.headers['set-cookie'], [
        'a=1; Path=/; HttpOnly',
        'b=2; Expires=Wed, 21 Oct 2015 07:28:00 GMT',
      ]);
    } finally {
      await g.stop();
      await up.close();
    }
  });

  it('passes HEAD, 204 and 304 answers through without a body, keeping Content-Length', async () => {
    const up = await rawUpstream((req, res) => {
      if (req.url === '/204') return res.writeHead(204, { 'x-n': '204' }).end();
      if (req.url === '/304') return res.writeHead(304, { etag: '"v1"' }).end();
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '11' });
      res.end(req.method === 'HEAD' ? undefined : 'hello world');
    });
    const g = await startGateway({
      services: [{ name: 's', targets: [{ url: up.url }] }],
      routes: [{ name: 'r', service: 's', paths: ['/'] }],
    });
    try {
      const h = await call(`${g.url}/x`, { method: 'HEAD' });
      assert.equal(h.status, 200);
      assert.equal(h.headers['content-length'], '11');
      assert.equal(h.text, '');
      const n = await call(`${g.url}/204`);
      assert.equal(n.status, 204);
      assert.equal(n.headers['x-n'], '204');
      const m = await call(`${g.url}/304`, { headers: { 'if-none-match': '"v1"' } });
      assert.equal(m.status, 304);
      assert.equal(m.headers.etag, '"v1"');
      // The connection is still good afterwards.
      assert.equal((await call(`${g.url}/x`)).text, 'hello world');
    } finally {
      await g.stop();
      await up.close();
    }
  });

  it('passes the method, body and query through intact', async () => {
    const r = await call(`${gw.url}/p?x=%20y&z`, {
      method: 'PATCH',
      headers: { 'content-type': 'text/plain' },
      body: 'hé',
    });
    assert.equal(r.json.method, 'PATCH');
    assert.equal(r.json.url, '/p?x=%20y&z');
    assert.equal(r.json.body, 'hé');
  });
});

describe('streaming through the gateway', () => {
  it('streams the response: the first chunk arrives before the upstream finishes', async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    const up = await rawUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first;');
      void released.then(() => res.end('last'));
    });
    const g = await startGateway({
      services: [{ name: 's', targets: [{ url: up.url }] }],
      routes: [{ name: 'r', service: 's', paths: ['/'] }],
    });
    try {
      const r = await undiciRequest(`${g.url}/stream`);
      assert.equal(r.statusCode, 200);
      const it = r.body[Symbol.asyncIterator]();
      const first = await it.next();
      assert.equal(Buffer.from(first.value).toString(), 'first;');
      release();
      let rest = '';
      for (let n = await it.next(); !n.done; n = await it.next()) rest += Buffer.from(n.value).toString();
      assert.equal(rest, 'last');
    } finally {
      release();
      await g.stop();
      await up.close();
    }
  });

  it('streams the request: the upstream reads the first chunk before the client ends', async () => {
    const up = await rawUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      req.on('data', (c: Buffer) => res.write(`got:${c.toString()};`));
      req.on('end', () => res.end('end'));
    });
    const g = await startGateway({
      services: [{ name: 's', targets: [{ url: up.url }] }],
      routes: [{ name: 'r', service: 's', paths: ['/'] }],
    });
    const body = new PassThrough();
    try {
      body.write('one');
      const r = await undiciRequest(`${g.url}/up`, { method: 'POST', body });
      assert.equal(r.statusCode, 200);
      const it = r.body[Symbol.asyncIterator]();
      assert.equal(Buffer.from((await it.next()).value).toString(), 'got:one;');
      body.end('two');
      let rest = '';
      for (let n = await it.next(); !n.done; n = await it.next()) rest += Buffer.from(n.value).toString();
      assert.equal(rest, 'got:two;end');
    } finally {
      body.destroy();
      await g.stop();
      await up.close();
    }
  });

  it('a large chunked upload and a large download arrive intact', async () => {
    const data = randomBytes(8 * 1024 * 1024);
    const up = await rawUpstream((req, res) => {
      if (req.url === '/download') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        for (let i = 0; i < data.length; i += 64 * 1024) res.write(data.subarray(i, i + 64 * 1024));
        return res.end();
      }
      const hash = createHash('sha256');
      let n = 0;
      req.on('data', (c: Buffer) => {
        hash.update(c);
        n += c.length;
      });
      req.on('end', () => {
        res.writeHead(200, {
          'content-type': 'application/json',
          'x-te': String(req.headers['transfer-encoding']),
        });
        res.end(JSON.stringify({ n, sha: hash.digest('hex') }));
      });
    });
    const g = await startGateway({
      services: [{ name: 's', targets: [{ url: up.url }] }],
      routes: [{ name: 'r', service: 's', paths: ['/'] }],
    });
    try {
      const body = new PassThrough();
      const sent = undiciRequest(`${g.url}/upload`, { method: 'PUT', body });
      for (let i = 0; i < data.length; i += 256 * 1024) body.write(data.subarray(i, i + 256 * 1024));
      body.end();
      const r = await sent;
      assert.equal(r.statusCode, 200);
      assert.equal(r.headers['x-te'], 'chunked');
      const sha = createHash('sha256').update(data).digest('hex');
      assert.deepEqual(await r.body.json(), { n: data.length, sha });
      const d = await undiciRequest(`${g.url}/download`);
      assert.equal(d.statusCode, 200);
      const got = createHash('sha256');
      let n = 0;
      for await (const c of d.body) {
        got.update(c);
        n += c.length;
      }
      assert.equal(n, data.length);
      assert.equal(got.digest('hex'), sha);
    } finally {
      await g.stop();
      await up.close();
    }
  });
});

describe('upstream failures', () => {
  it('answers 502 PCS_ERR_UPSTREAM_UNAVAILABLE when the connection is refused', async () => {
    const port = await closedPort();
    const g = await startGateway({
      services: [{ name: 's', targets: [{ url: `http://127.0.0.1:${port}` }] }],
      routes: [{ name: 'r', service: 's', paths: ['/'] }],
    });
    try {
      const r = await call(`${g.url}/x`, { headers: { 'x-request-id': 'refused-1' } });
      assertJsonError(r, 502, 'PCS_ERR_UPSTREAM_UNAVAILABLE');
      assert.equal(r.json.error.request_id, 'refused-1');
      assert.equal(r.headers['x-request-id'], 'refused-1');
      assert.doesNotMatch(r.text, /ECONNREFUSED|127\.0\.0\.1/);
    } finally {
      await g.stop();
    }
  });

  it('answers 502 PCS_ERR_UPSTREAM_UNAVAILABLE when the upstream resets the connection', async () => {
    const up = await rawUpstream((req) => req.socket.destroy());
    const g = await startGateway({
      services: [{ name: 's', targets: [{ url: up.url }] }],
      routes: [{ name: 'r', service: 's', paths: ['/'] }],
    });
    try {
      assertJsonError(await call(`${g.url}/x`), 502, 'PCS_ERR_UPSTREAM_UNAVAILABLE');
      assertJsonError(
        await call(`${g.url}/x`, { method: 'POST', body: 'data' }),
        502,
        'PCS_ERR_UPSTREAM_UNAVAILABLE',
      );
    } finally {
      await g.stop();
      await up.close();
    }
  });

  it('answers 502 when the upstream speaks garbage', async () => {
    const socks = new Set<Socket>();
    const srv = createTcpServer((s) => {
      socks.add(s);
      s.on('error', () => undefined);
      s.end('NOT HTTP AT ALL\r\n\r\n');
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const g = await startGateway({
      services: [
        { name: 's', targets: [{ url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}` }] },
      ],
      routes: [{ name: 'r', service: 's', paths: ['/'] }],
    });
    try {
      const r = await call(`${g.url}/x`);
      assert.equal(r.status, 502);
      assert.match(r.json.error.code, /^PCS_ERR_UPSTREAM_(UNAVAILABLE|BAD_RESPONSE)$/);
    } finally {
      await g.stop();
      for (const s of socks) s.destroy();
      srv.close();
    }
  });

  it('answers 504 PCS_ERR_UPSTREAM_TIMEOUT when the upstream never answers', async () => {
    const up = await rawUpstream(() => undefined);
    const g = await startGateway({
      services: [{ name: 's', targets: [{ url: up.url }], timeouts: { readMs: 50 } }],
      routes: [{ name: 'r', service: 's', paths: ['/'] }],
    });
    try {
      assertJsonError(await call(`${g.url}/x`), 504, 'PCS_ERR_UPSTREAM_TIMEOUT');
    } finally {
      await g.stop();
      await up.close();
    }
  });

  it('answers 504 when the total timeout runs out before the headers', async () => {
    const up = await rawUpstream(() => undefined);
    const g = await startGateway({
      services: [{ name: 's', targets: [{ url: up.url }], timeouts: { readMs: 10_000, totalMs: 50 } }],
      routes: [{ name: 'r', service: 's', paths: ['/'] }],
    });
    try {
      assertJsonError(await call(`${g.url}/x`), 504, 'PCS_ERR_UPSTREAM_TIMEOUT');
    } finally {
      await g.stop();
      await up.close();
    }
  });

  it('answers 503 PCS_ERR_NO_HEALTHY_UPSTREAM when every target is ejected', async () => {
    const port = await closedPort();
    const g = await startGateway({
      services: [
        {
          name: 's',
          targets: [{ url: `http://127.0.0.1:${port}` }],
          healthChecks: { passive: { failures: 1, cooldownMs: 60_000 } },
        },
      ],
      routes: [{ name: 'r', service: 's', paths: ['/'] }],
    });
    try {
      assertJsonError(await call(`${g.url}/x`), 502, 'PCS_ERR_UPSTREAM_UNAVAILABLE');
      assertJsonError(await call(`${g.url}/x`), 503, 'PCS_ERR_NO_HEALTHY_UPSTREAM');
    } finally {
      await g.stop();
    }
  });
});
