import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../src/core/clock.js';
import { accessLineOf } from './helpers/access-log.js';
import { adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

const T0 = Date.parse('2025-03-04T10:00:00Z');
const CHALLENGE =
  'HMAC realm="portcullis", algorithms="hmac-sha256 hmac-sha512", headers="method path date nonce digest"';

interface Signing {
  method?: string;
  target: string;
  body?: string;
  date?: string;
  nonce?: string;
  algorithm?: string;
  keyId: string;
  secret: string;
}

/** Signs as a client would, following docs/policies/hmac-auth.md. */
function signed(s: Signing): Record<string, string> {
  const method = s.method ?? 'GET';
  const date = s.date ?? new Date(T0).toUTCString();
  const nonce = s.nonce ?? '';
  const digest = createHash('sha256')
    .update(s.body ?? '')
    .digest('base64');
  const algorithm = s.algorithm ?? 'hmac-sha256';
  const text = `${method}\n${s.target}\n${date}\n${nonce}\n${digest}`;
  const signature = createHmac(algorithm.slice(5), s.secret).update(text).digest('base64');
  const nonceParam = nonce ? `, nonce="${nonce}"` : '';
  return {
    'x-date': date,
    authorization: `HMAC keyId="${s.keyId}", algorithm="${algorithm}"${nonceParam}, signature="${signature}"`,
  };
}

describe('hmac-auth through the gateway', () => {
  let up: Upstream;
  let g: TestGateway;
  const clock = new ManualClock(T0);
  let keyId: string;
  let secret: string;

  before(async () => {
    up = await startUpstream();
    g = await startGateway(
      {
        services: [{ name: 'echo', targets: [{ url: up.url }] }],
        routes: [
          { name: 'signed', service: 'echo', paths: ['/signed'] },
          { name: 'hidden', service: 'echo', paths: ['/hidden'] },
        ],
        policies: [
          { name: 'hmac-auth', scope: { route: 'signed' }, config: {} },
          {
            name: 'hmac-auth',
            scope: { route: 'hidden' },
            config: { hideCredentials: true, algorithms: ['hmac-sha512'] },
          },
        ],
      },
      { clock },
    );
    assert.equal((await adminCall(g, 'POST', '/consumers', { name: 'alice' })).status, 201);
    const r = await adminCall(g, 'POST', '/consumers/alice/credentials', { kind: 'hmac-auth' });
    assert.equal(r.status, 201, r.text);
    keyId = r.json.keyId;
    secret = r.json.secret;
    assert.match(keyId, /^hk_/);
  });
  after(async () => {
    await g.stop();
    await up.close();
  });

  const send = (
    path: string,
    s: Partial<Signing> & { extraHeaders?: Record<string, string>; sendBody?: string } = {},
  ) =>
    call(`${g.url}${path}`, {
      method: s.method ?? 'GET',
      headers: { ...signed({ keyId, secret, target: path, ...s }), ...s.extraHeaders },
      body: s.sendBody ?? s.body,
    });

  it('accepts a signed GET and a signed POST whose body reaches the upstream intact', async () => {
    const r = await send('/signed?a=1&b=2', { nonce: 'n-1' });
    assert.equal(r.status, 200, r.text);
    const line = await accessLineOf(g.access, r);
    assert.equal(line.consumer, 'alice');
    const body = JSON.stringify({ order: 42 });
    const p = await send('/signed', {
      method: 'POST',
      body,
      extraHeaders: { 'content-type': 'application/json' },
    });
    assert.equal(p.status, 200, p.text);
    assert.equal(p.json.body, body);
    assert.match(String(p.json.headers.authorization), /^HMAC keyId=/);
  });

  it('refuses a tampered body, path or method, and a wrong secret', async () => {
    let line: Record<string, any> | undefined;
    for (const [r, what] of [
      [
        await send('/signed', {
          method: 'POST',
          body: '{"order":42}',
          sendBody: '{"order":43}',
          nonce: 't1',
        }),
        'body',
      ],
      [await send('/signed?a=2', { target: '/signed?a=1', nonce: 't2' }), 'query'],
      [await send('/signed', { secret: 'not-the-secret', nonce: 't3' }), 'secret'],
    ] as const) {
      assert.equal(r.status, 401, what);
      assert.equal(r.json.error.code, 'PCS_ERR_AUTH_INVALID_CREDENTIALS', what);
      assert.equal(r.headers['www-authenticate'], CHALLENGE);
      line = await accessLineOf(g.access, r);
      assert.equal(line.decisions instanceof Array, true);
    }
    assert.equal(line!.decisions[0].rule, 'hmac-auth:bad_signature');
  });

  it('refuses a replayed request and a date outside the clock skew', async () => {
    const headers = signed({ keyId, secret, target: '/signed', nonce: 'once' });
    assert.equal((await call(`${g.url}/signed`, { headers })).status, 200);
    const again = await call(`${g.url}/signed`, { headers });
    assert.equal(again.status, 401);
    assert.equal(again.json.error.code, 'PCS_ERR_AUTH_REPLAY');
    const old = await send('/signed', { date: new Date(T0 - 301_000).toUTCString(), nonce: 'old' });
    assert.equal(old.status, 401);
    assert.equal(old.json.error.code, 'PCS_ERR_AUTH_REPLAY');
    // The gateway clock moves on: a fresh signature at the new time is fine.
    clock.advance(3600_000);
    try {
      assert.equal((await send('/signed', { date: new Date(T0 + 3600_000).toUTCString() })).status, 200);
    } finally {
      clock.set(T0);
    }
  });

  it('answers 401 with the challenge when unsigned, and refuses malformed headers and other algorithms', async () => {
    const none = await call(`${g.url}/signed`);
    assert.equal(none.status, 401);
    assert.equal(none.json.error.code, 'PCS_ERR_AUTH_REQUIRED');
    assert.equal(none.headers['www-authenticate'], CHALLENGE);
    const bad = await call(`${g.url}/signed`, {
      headers: { authorization: 'HMAC keyId=x', 'x-date': new Date(T0).toUTCString() },
    });
    assert.equal(bad.json.error.code, 'PCS_ERR_AUTH_INVALID_CREDENTIALS');
    const sha256 = await send('/hidden', { nonce: 'h1' });
    assert.equal(sha256.status, 401);
    const sha512 = await send('/hidden', { algorithm: 'hmac-sha512', nonce: 'h2' });
    assert.equal(sha512.status, 200, sha512.text);
    assert.equal(sha512.json.headers.authorization, undefined, 'hideCredentials strips the signature');
  });

  it('stops accepting a revoked key', async () => {
    const list = await adminCall(g, 'GET', '/consumers/alice/credentials');
    const cred = list.json.credentials.find((c: { lookup: string }) => c.lookup === keyId);
    const rev = await adminCall(g, 'DELETE', `/credentials/${cred.id}`);
    assert.ok(rev.status < 300, rev.text);
    const r = await send('/signed', { nonce: 'after-revoke' });
    assert.equal(r.status, 401);
    assert.equal(r.json.error.code, 'PCS_ERR_AUTH_INVALID_CREDENTIALS');
  });
});
