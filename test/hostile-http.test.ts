import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { accessLine, accessLineOf, accessLines } from './helpers/access-log.js';
import { adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

/**
 * Bytes no HTTP client would send, straight onto a socket. Each case asserts what the client is
 * told, what the access log and the metrics record, and that the gateway still serves afterwards.
 */

interface RawReply {
  /** Everything the gateway sent before it closed the connection (or the deadline). */
  raw: string;
  status: number | undefined;
  headers: Record<string, string>;
  body: string;
  json: any;
  /** True when the gateway closed the connection (rather than the deadline). */
  closed: boolean;
}

function parseReply(raw: string, closed: boolean): RawReply {
  const end = raw.indexOf('\r\n\r\n');
  const head = end < 0 ? raw : raw.slice(0, end);
  const lines = head.split('\r\n');
  const m = /^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '');
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  const body = end < 0 ? '' : raw.slice(end + 4);
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  return { raw, status: m ? Number(m[1]) : undefined, headers, body, json, closed };
}

/** Opens a socket, lets `drive` write to it, and collects the answer until close or `waitMs`. */
function raw(port: number, drive: (s: Socket) => void | Promise<void>, waitMs = 2000): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let settled = false;
    const done = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      resolve(parseReply(Buffer.concat(chunks).toString('latin1'), closed));
    };
    const timer = setTimeout(() => done(false), waitMs);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('close', () => done(true));
    s.on('error', () => undefined);
    s.once('connect', () => {
      Promise.resolve(drive(s)).catch(reject);
    });
  });
}

const send = (text: string) => (s: Socket) => {
  s.write(text);
};

async function metric(t: TestGateway, name: string, labels: string): Promise<number> {
  const r = await adminCall(t, 'GET', '/metrics');
  const line = r.text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

async function stillServes(t: TestGateway): Promise<void> {
  const r = await call(`${t.url}/echo/alive`);
  assert.equal(r.status, 200, 'a normal request after the hostile one succeeds');
  assert.equal(r.json.url, '/echo/alive');
}

/** An upstream whose behaviour each test sets per path; it records aborted requests. */
interface ScriptedUpstream {
  url: string;
  server: Server;
  aborted: string[];
  arrived: string[];
  close(): Promise<void>;
}

async function startScripted(): Promise<ScriptedUpstream> {
  const aborted: string[] = [];
  const arrived: string[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const url = req.url ?? '';
    arrived.push(url);
    req.on('error', () => undefined);
    res.on('close', () => {
      if (!res.writableFinished) aborted.push(url);
    });
    if (url.startsWith('/slow-body')) {
      req.resume(); // read the body as it comes; answer only at its end (it never ends)
      req.on('end', () => res.end('complete'));
      return;
    }
    if (url.startsWith('/reset-before')) {
      req.socket.destroy();
      return;
    }
    if (url.startsWith('/reset-mid')) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first part of the answer;');
      setTimeout(() => req.socket.destroy(), 30);
      return;
    }
    if (url.startsWith('/never')) return; // no answer at all
    req.resume();
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    aborted,
    arrived,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe('hostile HTTP on the data plane', () => {
  let echo: Upstream;
  let scripted: ScriptedUpstream;
  let t: TestGateway;
  let port: number;

  before(async () => {
    echo = await startUpstream();
    scripted = await startScripted();
    t = await startGateway(
      {
        services: [
          { name: 'echo', targets: [{ url: echo.url }] },
          {
            name: 'scripted',
            targets: [{ url: scripted.url }],
            timeouts: { connectMs: 1000, readMs: 300, totalMs: 5000 },
          },
        ],
        routes: [
          { name: 'echo', service: 'echo', paths: ['/echo'] },
          { name: 'scripted', service: 'scripted', paths: ['/s'], stripPath: true },
        ],
        policies: [],
        gateway: { limits: { maxUrlLength: 256 } },
      },
      { limits: { maxHeaderBytes: 2048, headersTimeoutMs: 300, requestTimeoutMs: 3000 } },
    );
    port = Number(new URL(t.url).port);
  });
  after(async () => {
    await t.stop();
    await echo.close();
    await scripted.close();
  });

  it('serves a well-formed raw request (the baseline)', async () => {
    const r = await raw(port, send('GET /echo/raw HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'));
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).url, '/echo/raw');
  });

  const malformed: [string, string][] = [
    ['a bad request line', 'GET\x01 /echo HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['a request line with no version', 'GET /echo\r\nHost: a\r\n\r\n'],
    ['an invalid header name character', 'GET /echo HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n'],
    ['an invalid header value character', 'GET /echo HTTP/1.1\r\nHost: a\r\nX-Test: a\x00b\r\n\r\n'],
    [
      'conflicting Content-Length and Transfer-Encoding',
      'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    ],
    [
      'duplicate Content-Length with different values',
      'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!',
    ],
    [
      'duplicate Content-Length with the same value',
      'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello',
    ],
    [
      'a Transfer-Encoding that is not chunked last',
      'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n',
    ],
  ];
  for (const [name, bytes] of malformed) {
    it(`answers 400 PCS_ERR_BAD_REQUEST to ${name}, and closes`, async () => {
      const before = await metric(t, 'portcullis_client_errors_total', 'kind="malformed"');
      const from = t.access.lines.length;
      const seenBefore = echo.seen.length;
      const r = await raw(port, send(bytes));
      assert.equal(r.status, 400, r.raw);
      assert.equal(r.json?.error?.code, 'PCS_ERR_BAD_REQUEST');
      assert.equal(r.headers.connection, 'close');
      assert.equal(r.closed, true, 'the connection is closed');
      const [line] = await accessLines(t.access, (l) => l.error === 'PCS_ERR_BAD_REQUEST', { from });
      assert.equal(line.status, 400);
      assert.equal(await metric(t, 'portcullis_client_errors_total', 'kind="malformed"'), before + 1);
      assert.equal(echo.seen.length, seenBefore, 'nothing reached the upstream');
      await stillServes(t);
    });
  }

  it('answers 431 PCS_ERR_HEADERS_TOO_LARGE past limits.maxHeaderBytes', async () => {
    const before = await metric(t, 'portcullis_client_errors_total', 'kind="header_overflow"');
    const from = t.access.lines.length;
    const r = await raw(port, send(`GET /echo HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(4096)}\r\n\r\n`));
    assert.equal(r.status, 431);
    assert.equal(r.json?.error?.code, 'PCS_ERR_HEADERS_TOO_LARGE');
    assert.equal(r.closed, true);
    const [line] = await accessLines(t.access, (l) => l.error === 'PCS_ERR_HEADERS_TOO_LARGE', { from });
    assert.equal(line.status, 431);
    assert.equal(await metric(t, 'portcullis_client_errors_total', 'kind="header_overflow"'), before + 1);
    // Just under the limit still passes.
    const ok = await raw(
      port,
      send(`GET /echo/x HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(1500)}\r\nConnection: close\r\n\r\n`),
    );
    assert.equal(ok.status, 200);
    await stillServes(t);
  });

  it('answers 414 PCS_ERR_URI_TOO_LONG past gateway.limits.maxUrlLength', async () => {
    const seenBefore = echo.seen.length;
    const r = await raw(
      port,
      send(
        `GET /echo/${'x'.repeat(300)} HTTP/1.1\r\nHost: a\r\nX-Request-Id: hostile-414\r\nConnection: close\r\n\r\n`,
      ),
    );
    assert.equal(r.status, 414);
    assert.equal(r.json?.error?.code, 'PCS_ERR_URI_TOO_LONG');
    const line = await accessLine(t.access, 'hostile-414');
    assert.equal(line.status, 414);
    assert.equal(echo.seen.length, seenBefore);
    // At the limit it passes.
    const path = `/echo/${'y'.repeat(256 - 6)}`;
    assert.equal(path.length, 256);
    assert.equal((await call(`${t.url}${path}`)).status, 200);
    await stillServes(t);
  });

  it('answers 408 PCS_ERR_REQUEST_TIMEOUT to a client that sends its headers too slowly', async () => {
    const before = await metric(t, 'portcullis_client_errors_total', 'kind="timeout"');
    const from = t.access.lines.length;
    const started = Date.now();
    const r = await raw(
      port,
      async (s) => {
        s.write('GET /echo HTTP/1.1\r\nHost: a\r\n');
        // Trickle one header line every 100ms, never finishing the head.
        for (let i = 0; i < 30 && !s.destroyed; i++) {
          await sleep(100);
          if (!s.destroyed) s.write(`X-Slow-${i}: y\r\n`);
        }
      },
      4000,
    );
    assert.equal(r.closed, true, 'the gateway closed the connection');
    assert.ok(Date.now() - started < 3000, 'within a bounded time');
    assert.equal(r.status, 408);
    assert.equal(r.json?.error?.code, 'PCS_ERR_REQUEST_TIMEOUT');
    const [line] = await accessLines(t.access, (l) => l.error === 'PCS_ERR_REQUEST_TIMEOUT', { from });
    assert.equal(line.status, 408);
    assert.equal(await metric(t, 'portcullis_client_errors_total', 'kind="timeout"'), before + 1);
    await stillServes(t);
  });

  it('closes with 408 a connection that stops halfway through its request line', async () => {
    const before = await metric(t, 'portcullis_client_errors_total', 'kind="timeout"');
    const started = Date.now();
    const r = await raw(port, send('GET /ech'), 4000);
    assert.equal(r.closed, true);
    assert.ok(Date.now() - started < 3000, 'within a bounded time');
    assert.equal(r.status, 408);
    assert.equal(r.json?.error?.code, 'PCS_ERR_REQUEST_TIMEOUT');
    assert.equal(await metric(t, 'portcullis_client_errors_total', 'kind="timeout"'), before + 1);
    await stillServes(t);
  });

  it('answers 400 to an HTTP/0.9 request line and to an HTTP/2 preface on the HTTP/1 port', async () => {
    for (const bytes of ['GET /echo/v09\r\n\r\n', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n']) {
      const seenBefore = echo.seen.length;
      const r = await raw(port, send(bytes));
      assert.equal(r.status, 400, JSON.stringify(r.raw));
      assert.equal(r.json?.error?.code, 'PCS_ERR_BAD_REQUEST');
      assert.equal(r.closed, true);
      assert.equal(echo.seen.length, seenBefore, 'nothing reached the upstream');
    }
    await stillServes(t);
  });

  it('aborts the upstream call when the client disconnects mid-body, and logs 499', async () => {
    const before = await metric(t, 'portcullis_client_errors_total', 'kind="aborted"');
    await raw(
      port,
      async (s) => {
        // Over the service's bufferBodyBytes (64 KiB), so the body streams to the upstream.
        s.write(
          'POST /s/slow-body HTTP/1.1\r\nHost: a\r\nX-Request-Id: hostile-499\r\nContent-Length: 100000\r\n\r\n',
        );
        s.write('only part of the body');
        // Wait until the gateway has opened the upstream call, then go away.
        for (let i = 0; i < 100 && !scripted.arrived.includes('/slow-body'); i++) await sleep(10);
        s.destroy();
      },
      1000,
    );
    const line = await accessLine(t.access, 'hostile-499');
    assert.equal(line.status, 499);
    assert.equal(line.error, 'PCS_ERR_CLIENT_ABORTED');
    for (let i = 0; i < 100 && !scripted.aborted.includes('/slow-body'); i++) await sleep(10);
    assert.ok(scripted.aborted.includes('/slow-body'), 'the upstream saw its request aborted');
    assert.equal(await metric(t, 'portcullis_client_errors_total', 'kind="aborted"'), before + 1);
    await stillServes(t);
  });

  it('answers 502 PCS_ERR_UPSTREAM_UNAVAILABLE when the upstream resets before answering', async () => {
    const r = await call(`${t.url}/s/reset-before`);
    assert.equal(r.status, 502);
    assert.equal(r.json.error.code, 'PCS_ERR_UPSTREAM_UNAVAILABLE');
    const line = await accessLineOf(t.access, r);
    assert.equal(line.status, 502);
    assert.equal(line.error, 'PCS_ERR_UPSTREAM_UNAVAILABLE');
    await stillServes(t);
  });

  it('cuts the client off when the upstream resets mid-response, and logs the upstream fault', async () => {
    const clientBefore = await metric(t, 'portcullis_client_errors_total', 'kind="aborted"');
    const upBefore = await metric(t, 'portcullis_upstream_errors_total', 'service="scripted",kind="body"');
    const r = await raw(
      port,
      send('GET /s/reset-mid HTTP/1.1\r\nHost: a\r\nX-Request-Id: hostile-mid\r\n\r\n'),
      2000,
    );
    assert.equal(r.status, 200, 'the headers were already sent');
    assert.equal(r.closed, true, 'the connection is closed, so the client sees a truncated answer');
    assert.ok(r.body.includes('first part of the answer;'));
    assert.ok(!r.body.endsWith('0\r\n\r\n'), 'no final chunk: the client can tell it is incomplete');
    const line = await accessLine(t.access, 'hostile-mid');
    assert.equal(line.error, 'PCS_ERR_UPSTREAM_BAD_RESPONSE');
    assert.equal(line.status, 502);
    assert.equal(line.upstream_status, 200);
    assert.equal(
      await metric(t, 'portcullis_upstream_errors_total', 'service="scripted",kind="body"'),
      upBefore + 1,
    );
    assert.equal(
      await metric(t, 'portcullis_client_errors_total', 'kind="aborted"'),
      clientBefore,
      'not counted as a client abort',
    );
    await stillServes(t);
  });

  it('answers 504 PCS_ERR_UPSTREAM_TIMEOUT when the upstream never answers (timeouts.readMs)', async () => {
    const before = await metric(t, 'portcullis_upstream_errors_total', 'service="scripted",kind="timeout"');
    const started = Date.now();
    const r = await call(`${t.url}/s/never`);
    assert.equal(r.status, 504);
    assert.equal(r.json.error.code, 'PCS_ERR_UPSTREAM_TIMEOUT');
    assert.ok(Date.now() - started < 2000, 'answered soon after readMs');
    const line = await accessLineOf(t.access, r);
    assert.equal(line.status, 504);
    assert.equal(line.error, 'PCS_ERR_UPSTREAM_TIMEOUT');
    assert.equal(
      await metric(t, 'portcullis_upstream_errors_total', 'service="scripted",kind="timeout"'),
      before + 1,
    );
    await stillServes(t);
  });

  it('is still alive and answering after everything above', async () => {
    const r = await adminCall(t, 'GET', '/health');
    assert.equal(r.status, 200);
    await stillServes(t);
  });
});
