import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { call, minimalConfig, startGateway, type TestGateway } from '../../../test/helpers/gateway.js';
import { testContext } from '../../../test/helpers/policy-context.js';
import { startUpstream, type Upstream } from '../../../test/helpers/upstream.js';
import { validator } from '../../config/ajv.js';
import { ManualClock } from '../../core/clock.js';
import type { PolicyDeps, PolicyFn, Rejection } from '../../core/policy.js';
import { requestSizeLimit } from './policy.js';
import { RequestSizeLimitSchema } from './schema.js';

const valid = validator(RequestSizeLimitSchema);

function make(config: Record<string, unknown>): PolicyFn {
  const deps = {
    logger: pino({ level: 'silent' }),
    clock: new ManualClock(),
    gateway: { trustedProxies: [] },
  };
  const h = requestSizeLimit.create(config as never, deps as unknown as PolicyDeps);
  assert.ok(h.request);
  return h.request;
}

function run(fn: PolicyFn, headers: IncomingHttpHeaders, path = '/', rawQuery = '') {
  const c = testContext({ method: 'POST', path, rawQuery, headers }, 'request-size-limit');
  const out = fn(c) as Rejection | undefined;
  return {
    out: out && { code: out.code, status: out.status, rule: out.rule, detail: out.detail },
    limit: c.bodyLimit,
  };
}

describe('request-size-limit: schema', () => {
  it('takes non-negative integer limits, and at least one of them', () => {
    assert.equal(valid({ maxBodyBytes: 0 }), true);
    assert.equal(valid({ maxBodyBytes: 1024, maxHeaderCount: 50, maxUrlLength: 2048 }), true);
    assert.equal(valid({ json: { maxDepth: 8 } }), true);
    assert.equal(valid({ json: { depth: 8 } }), false);
    assert.throws(() => requestSizeLimit.create({}, {} as never), /set at least one limit/);
    assert.equal(valid({ maxBodyBytes: -1 }), false);
    assert.equal(valid({ maxBodyBytes: 1.5 }), false);
    assert.equal(valid({ maxBodyBytes: '1mb' }), false);
    assert.equal(valid({ maxBodyBytes: 1, maxHeaderCount: 0 }), false);
    assert.equal(valid({ maxBodyBytes: 1, maxUrlLength: 0 }), false);
    assert.equal(valid({ maxBodyBytes: 1, maxBody: 2 }), false);
  });
});

describe('request-size-limit: behaviour', () => {
  const fn = make({ maxBodyBytes: 100, maxHeaderCount: 3, maxUrlLength: 12 });

  it('refuses a declared Content-Length over the limit at once', () => {
    assert.deepEqual(run(fn, { 'content-length': '101' }).out, {
      code: 'PCS_ERR_BODY_TOO_LARGE',
      status: 413,
      rule: 'content-length>100',
      detail: 'content-length 101',
    });
  });

  it('lets a body at the limit through and caps the stream', () => {
    assert.deepEqual(run(fn, { 'content-length': '100' }), { out: undefined, limit: 100 });
    assert.deepEqual(run(fn, { 'transfer-encoding': 'chunked' }), { out: undefined, limit: 100 });
  });

  it('keeps the smaller of two limits', () => {
    const c = testContext({ method: 'POST', host: '', clientIp: '', remoteAddress: '' }, 'a');
    make({ maxBodyBytes: 50 })(c);
    make({ maxBodyBytes: 500 })(c);
    assert.equal(c.bodyLimit, 50);
  });

  it('counts headers (431) and the URL with its query (414)', () => {
    assert.equal(run(fn, { a: '1', b: '2', c: '3' }).out, undefined);
    assert.deepEqual(run(fn, { a: '1', b: '2', c: '3', d: '4' }).out, {
      code: 'PCS_ERR_HEADERS_TOO_LARGE',
      status: 431,
      rule: 'headers>3',
      detail: '4 headers',
    });
    assert.equal(run(fn, {}, '/abcdefghijk').out, undefined, '12 characters');
    assert.deepEqual(run(fn, {}, '/abcde', 'x=1234').out, {
      code: 'PCS_ERR_URI_TOO_LONG',
      status: 414,
      rule: 'url>12',
      detail: 'url length 13',
    });
  });
});

describe('request-size-limit: through the gateway', () => {
  let up: Upstream;
  let t: TestGateway;

  before(async () => {
    up = await startUpstream();
    t = await startGateway(
      minimalConfig(up.url, {
        policies: [
          {
            name: 'request-size-limit',
            scope: { route: 'hello' },
            config: { maxBodyBytes: 1000, maxHeaderCount: 12, maxUrlLength: 40 },
          },
        ],
      }),
    );
  });
  after(async () => {
    await t.stop();
    await up.close();
  });

  it('forwards a body at the limit', async () => {
    const r = await call(`${t.url}/hello`, { method: 'POST', body: 'a'.repeat(1000) });
    assert.equal(r.status, 200);
    assert.equal(r.json.body.length, 1000);
  });

  it('answers 413 from Content-Length without calling the upstream', async () => {
    const seen = up.seen.length;
    const r = await call(`${t.url}/hello`, {
      method: 'POST',
      body: 'a'.repeat(1001),
      headers: { 'x-request-id': 'too-big-cl' },
    });
    assert.equal(r.status, 413);
    assert.deepEqual(r.json, {
      error: { code: 'PCS_ERR_BODY_TOO_LARGE', message: 'Request body too large', request_id: 'too-big-cl' },
    });
    assert.equal(up.seen.length, seen);
    const line = await accessLine(t, 'too-big-cl');
    assert.equal(line.status, 413);
    assert.deepEqual(
      (line.decisions as { outcome: string; rule: string }[]).map((d) => [d.outcome, d.rule]),
      [['deny', 'content-length>1000']],
    );
  });

  it('cuts a chunked body with 413 when it crosses the limit while streaming', async () => {
    const seen = up.seen.length;
    const answer = await rawChunked(t.url, '/hello', 'chunked-cut', [400, 400, 400, 400, 400]);
    assert.match(answer.head, /^HTTP\/1\.1 413 /);
    assert.match(answer.head, /\r\nconnection: close\r\n/i);
    assert.equal(JSON.parse(answer.body).error.code, 'PCS_ERR_BODY_TOO_LARGE');
    // The upstream got at most the bytes before the limit, never the whole body.
    await new Promise((r) => setTimeout(r, 50));
    for (const s of up.seen.slice(seen))
      assert.ok(s.body.length <= 1000, `upstream saw ${s.body.length} bytes`);
    const line = await accessLine(t, 'chunked-cut');
    assert.equal(line.status, 413);
    assert.equal(line.error, 'PCS_ERR_BODY_TOO_LARGE');
  });

  it('forwards a chunked body under the limit', async () => {
    const answer = await rawChunked(t.url, '/hello', 'chunked-ok', [300, 300, 300]);
    assert.match(answer.head, /^HTTP\/1\.1 200 /);
    assert.equal(JSON.parse(answer.body).body.length, 900);
  });

  it('answers 431 beyond maxHeaderCount', async () => {
    const headers: Record<string, string> = {};
    for (let i = 0; i < 12; i++) headers[`x-h${i}`] = 'v';
    const r = await call(`${t.url}/hello`, { headers });
    assert.equal(r.status, 431);
    assert.equal(r.json.error.code, 'PCS_ERR_HEADERS_TOO_LARGE');
  });

  it('answers 414 beyond maxUrlLength, query included', async () => {
    assert.equal((await call(`${t.url}/hello?q=${'x'.repeat(31)}`)).status, 200, '40 characters');
    const r = await call(`${t.url}/hello?q=${'x'.repeat(32)}`);
    assert.equal(r.status, 414);
    assert.equal(r.json.error.code, 'PCS_ERR_URI_TOO_LONG');
  });
});

/** Sends a chunked POST chunk by chunk over a raw socket and reads the answer to the end. */
function rawChunked(
  base: string,
  path: string,
  id: string,
  sizes: number[],
): Promise<{ head: string; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(port), hostname);
    const got: Buffer[] = [];
    sock.on('data', (d) => got.push(d));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      const text = Buffer.concat(got).toString('utf8');
      const i = text.indexOf('\r\n\r\n');
      if (i < 0) return reject(new Error(`no answer: ${JSON.stringify(text)}`));
      let body = text.slice(i + 4);
      if (/\r\ntransfer-encoding: chunked/i.test(text.slice(0, i))) body = dechunk(body);
      resolve({ head: text.slice(0, i + 2), body });
    });
    sock.write(
      `POST ${path} HTTP/1.1\r\nhost: gw.test\r\nx-request-id: ${id}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n`,
    );
    let k = 0;
    const next = () => {
      if (sock.destroyed) return;
      if (k === sizes.length) {
        sock.write('0\r\n\r\n');
        return;
      }
      const n = sizes[k++];
      sock.write(`${n.toString(16)}\r\n${'b'.repeat(n)}\r\n`);
      setTimeout(next, 15);
    };
    next();
  });
}

function dechunk(s: string): string {
  let out = '';
  let rest = s;
  for (;;) {
    const i = rest.indexOf('\r\n');
    const n = Number.parseInt(rest.slice(0, i), 16);
    if (!n) return out;
    out += rest.slice(i + 2, i + 2 + n);
    rest = rest.slice(i + 4 + n);
  }
}

async function accessLine(t: TestGateway, id: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 100; i++) {
    const line = t.access.lines.find((l) => l.request_id === id);
    if (line) return line;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no access log line for ${id}`);
}
