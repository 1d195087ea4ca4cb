import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ADMIN_TOKEN, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

/**
 * Issue 11 item 10: input the gateway handled silently or surprisingly. Each case is sent as
 * raw bytes (no client library would send them) and checked for the answer, the access log line
 * and what the upstream saw.
 */

interface RawReply {
  status: number | undefined;
  headers: Record<string, string>;
  json: any;
}

/** Writes `text` on a fresh connection and reads until the gateway closes it (bounded). */
function rawRequest(port: number, text: string, waitMs = 3000): Promise<RawReply> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      const raw = Buffer.concat(chunks).toString('latin1');
      const end = raw.indexOf('\r\n\r\n');
      const lines = (end < 0 ? raw : raw.slice(0, end)).split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        if (i > 0) headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      let json: unknown;
      try {
        json = JSON.parse(raw.slice(end + 4));
      } catch {
        json = undefined;
      }
      const m = /^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '');
      resolve({ status: m ? Number(m[1]) : undefined, headers, json });
    };
    const timer = setTimeout(done, waitMs);
    s.on('data', (c: Buffer) => {
      chunks.push(c);
      // One answer is all these cases need; stop once its body is in.
      const raw = Buffer.concat(chunks).toString('latin1');
      const end = raw.indexOf('\r\n\r\n');
      const len = /content-length: (\d+)/i.exec(raw.slice(0, end));
      if (end >= 0 && len && raw.length >= end + 4 + Number(len[1])) done();
    });
    s.on('close', done);
    s.on('error', () => undefined);
    s.write(text);
  });
}

/** The access log line of a request, by its id (or another predicate), waited for. */
async function accessLine(t: TestGateway, pred: (l: Record<string, any>) => boolean) {
  for (let i = 0; i < 100; i++) {
    const l = t.access.lines.find(pred);
    if (l) return l as Record<string, any>;
    await sleep(20);
  }
  assert.fail('no matching access log line');
}
const byId = (id: string) => (l: Record<string, any>) => l.request_id === id;

function headersOf(n: number): string {
  let h = '';
  for (let i = 0; i < n; i++) h += `X-H${i}: v\r\n`;
  return h;
}

describe('surprising input at the edge (issue 11 item 10)', () => {
  let up: Upstream;
  let g: TestGateway;
  let lenient: TestGateway;
  let port: number;

  before(async () => {
    up = await startUpstream();
    const base = {
      services: [{ name: 'echo', targets: [{ url: up.url }] }],
      routes: [{ name: 'echo', service: 'echo', paths: ['/echo'] }],
    };
    g = await startGateway(base);
    lenient = await startGateway({ ...base, gateway: { allowTrace: true, bodyOnGet: 'strip' } });
    port = Number(new URL(g.url).port);
  });
  after(async () => {
    await g.stop();
    await lenient.stop();
    await up.close();
  });

  it('answers CONNECT with 405 and logs it (it used to get no answer and no log line)', async () => {
    const r = await rawRequest(
      port,
      'CONNECT internal.example:443 HTTP/1.1\r\nHost: internal.example:443\r\n\r\n',
    );
    assert.equal(r.status, 405);
    assert.equal(r.json.error.code, 'PCS_ERR_METHOD_NOT_ALLOWED');
    const line = await accessLine(g, (l) => l.method === 'CONNECT');
    assert.equal(line.status, 405);
    assert.equal(line.error, 'PCS_ERR_METHOD_NOT_ALLOWED');
  });

  it('refuses TRACE with 405 (and TRACK with 400) by default, and forwards TRACE when allowed', async () => {
    const before = up.seen.length;
    const r = await call(`${g.url}/echo`, { method: 'TRACE', headers: { 'x-request-id': 'trace' } });
    assert.equal(r.status, 405);
    assert.equal(r.json.error.code, 'PCS_ERR_METHOD_NOT_ALLOWED');
    assert.equal((await accessLine(g, byId('trace'))).status, 405);
    // TRACK (IIS's TRACE) is no method Node's parser knows: refused as malformed.
    const track = await rawRequest(port, 'TRACK /echo HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.equal(track.status, 400);
    assert.equal(up.seen.length, before, 'nothing reached the upstream');
    const ok = await call(`${lenient.url}/echo`, { method: 'TRACE' });
    assert.equal(ok.status, 200);
    assert.equal(ok.json.method, 'TRACE');
  });

  it('refuses a request with two Host headers with 400 (RFC 9112 §3.2)', async () => {
    const before = up.seen.length;
    const r = await rawRequest(
      port,
      'GET /echo HTTP/1.1\r\nHost: public.example\r\nhost: internal.example\r\nX-Request-Id: two-hosts\r\n\r\n',
    );
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'PCS_ERR_BAD_REQUEST');
    assert.equal(r.headers.connection, 'close');
    assert.match((await accessLine(g, byId('two-hosts'))).detail, /Host header sent 2 times/);
    assert.equal(up.seen.length, before);
  });

  it('refuses more header fields than gateway.limits.maxHeaders with 431, instead of dropping them', async () => {
    const before = up.seen.length;
    // Host, X-Request-Id and 999 more: 1001 fields, one over the default of 1000.
    const r = await rawRequest(
      port,
      `GET /echo HTTP/1.1\r\nHost: a\r\nX-Request-Id: many-headers\r\n${headersOf(999)}\r\n`,
    );
    assert.equal(r.status, 431);
    assert.equal(r.json.error.code, 'PCS_ERR_TOO_MANY_HEADERS');
    assert.equal((await accessLine(g, byId('many-headers'))).status, 431);
    assert.equal(up.seen.length, before);
    // Exactly at the limit is served.
    const ok = await rawRequest(
      port,
      `GET /echo HTTP/1.1\r\nHost: a\r\nConnection: close\r\n${headersOf(998)}\r\n`,
    );
    assert.equal(ok.status, 200);
  });

  it('refuses a body on GET and HEAD with 400 by default; a GET without one passes', async () => {
    const before = up.seen.length;
    const get = await rawRequest(
      port,
      'GET /echo HTTP/1.1\r\nHost: a\r\nX-Request-Id: get-body\r\nContent-Length: 5\r\n\r\nhello',
    );
    assert.equal(get.status, 400);
    assert.equal(get.json.error.code, 'PCS_ERR_BODY_NOT_ALLOWED');
    assert.equal((await accessLine(g, byId('get-body'))).error, 'PCS_ERR_BODY_NOT_ALLOWED');
    const chunked = await rawRequest(
      port,
      'GET /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    );
    assert.equal(chunked.status, 400);
    const head = await rawRequest(port, 'HEAD /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello');
    assert.equal(head.status, 400);
    assert.equal(up.seen.length, before, 'nothing reached the upstream');
    const empty = await rawRequest(
      port,
      'GET /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
    );
    assert.equal(empty.status, 200);
  });

  it('with bodyOnGet: strip, sends the GET on without its body', async () => {
    const lport = Number(new URL(lenient.url).port);
    const r = await rawRequest(
      lport,
      'GET /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello',
    );
    assert.equal(r.status, 200);
    assert.equal(r.json.body, '');
    assert.equal(r.json.headers['content-length'], undefined);
  });

  it('accepts the bearer scheme in any case (RFC 9110 §11.1)', async () => {
    for (const scheme of ['bearer', 'BEARER', 'Bearer']) {
      const r = await call(`${g.admin}/status`, { headers: { authorization: `${scheme} ${ADMIN_TOKEN}` } });
      assert.equal(r.status, 200, `${scheme}: ${r.text}`);
    }
    const wrong = await call(`${g.admin}/status`, {
      headers: { authorization: `bearer not-the-token-000000` },
    });
    assert.equal(wrong.status, 401);
  });
});
