import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../src/core/clock.js';
import { type FakeIdp, startIdp } from './auth-idp.js';
import { accessLineOf } from './helpers/access-log.js';
import { adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

const T0 = Date.parse('2025-03-01T10:00:00Z');
const NOW = T0 / 1000;
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
function rs256(payload: object, key: KeyObject = rsa.privateKey, kid = 'k1') {
  const input = `${b64({ alg: 'RS256', kid })}.${b64(payload)}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

describe('oidc and oauth2-introspection through the gateway', () => {
  let up: Upstream;
  let idp: FakeIdp;
  let g: TestGateway;
  const clock = new ManualClock(T0);
  const bearer = (path: string, token: string) =>
    call(`${g.url}${path}`, { headers: { authorization: `Bearer ${token}` } });

  before(async () => {
    up = await startUpstream();
    idp = await startIdp();
    idp.jwks = {
      keys: [{ ...rsa.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' }],
    };
    const introspection = {
      endpoint: `${idp.url}/introspect`,
      clientId: idp.client.id,
      clientSecret: idp.client.secret,
      audiences: ['orders'],
      forwardClaims: { sub: 'x-user' },
      cacheSeconds: 60,
    };
    g = await startGateway(
      {
        services: [{ name: 'echo', targets: [{ url: up.url }] }],
        routes: [
          { name: 'oidc', service: 'echo', paths: ['/oidc'] },
          { name: 'opaque', service: 'echo', paths: ['/opaque'] },
          { name: 'open', service: 'echo', paths: ['/open'] },
          { name: 'shadow', service: 'echo', paths: ['/shadow'] },
        ],
        policies: [
          { name: 'oidc', scope: { route: 'oidc' }, config: { issuer: idp.issuer, audiences: ['orders'] } },
          { name: 'oauth2-introspection', scope: { route: 'opaque' }, config: introspection },
          {
            name: 'oauth2-introspection',
            scope: { route: 'open' },
            config: { ...introspection, failOpen: true },
          },
          { name: 'oauth2-introspection', scope: { route: 'shadow' }, mode: 'shadow', config: introspection },
        ],
      },
      { clock },
    );
    assert.equal((await adminCall(g, 'POST', '/consumers', { name: 'alice' })).status, 201);
  });
  after(async () => {
    await g.stop();
    await up.close();
    await idp.close();
  });

  it('oidc: discovery → jwks_uri → a valid token passes with its consumer', async () => {
    const r = await bearer(
      '/oidc',
      rs256({ iss: idp.issuer, aud: 'orders', sub: 'alice', iat: NOW, exp: NOW + 300 }),
    );
    assert.equal(r.status, 200, r.text);
    assert.equal((await accessLineOf(g.access, r)).consumer, 'alice');
    assert.equal(idp.hits['/.well-known/openid-configuration'], 1);
    assert.equal(idp.hits['/jwks'], 1);
  });

  it('oidc: wrong issuer, wrong audience and a foreign key are refused with invalid_token', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    for (const [t, rule] of [
      [rs256({ iss: 'https://evil', aud: 'orders', sub: 'a', exp: NOW + 60 }), 'oidc:wrong_issuer'],
      [rs256({ iss: idp.issuer, aud: 'billing', sub: 'a', exp: NOW + 60 }), 'oidc:wrong_audience'],
      [rs256({ iss: idp.issuer, aud: 'orders', sub: 'a', exp: NOW + 60 }, other), 'oidc:bad_signature'],
    ]) {
      const r = await bearer('/oidc', t);
      assert.equal(r.status, 401);
      assert.equal(r.json.error.code, 'PCS_ERR_AUTH_INVALID_TOKEN');
      assert.equal(r.headers['www-authenticate'], 'Bearer realm="portcullis", error="invalid_token"');
      assert.equal(((await accessLineOf(g.access, r)).decisions as { rule: string }[])[0].rule, rule);
    }
  });

  it('introspection: active token passes with client credentials, claims forwarded; cached until exp at most', async () => {
    idp.tokens.set('opaque-1', {
      active: true,
      sub: 'alice',
      aud: 'orders',
      exp: NOW + 30,
      scope: 'orders:read',
    });
    const r = await bearer('/opaque', 'opaque-1');
    assert.equal(r.status, 200, r.text);
    assert.equal(up.seen.at(-1)!.headers['x-user'], 'alice');
    assert.equal(
      idp.lastIntrospection!.authorization,
      `Basic ${Buffer.from('gateway:gateway-secret').toString('base64')}`,
    );
    assert.equal(new URLSearchParams(idp.lastIntrospection!.body).get('token'), 'opaque-1');
    const hits = idp.hits['/introspect'];
    assert.equal((await bearer('/opaque', 'opaque-1')).status, 200);
    assert.equal(idp.hits['/introspect'], hits, 'served from cache');
    clock.advance(31_000); // past exp (30 s), inside the 60 s cache time: asked again
    idp.tokens.set('opaque-1', { active: false });
    const again = await bearer('/opaque', 'opaque-1');
    assert.equal(again.status, 401);
    assert.equal(idp.hits['/introspect'], hits + 1);
    assert.equal(
      ((await accessLineOf(g.access, again)).decisions as { rule: string }[])[0].rule,
      'oauth2-introspection:inactive',
    );
  });

  it('introspection: inactive, wrong audience', async () => {
    idp.tokens.set('opaque-2', { active: true, sub: 'alice', aud: 'billing', exp: NOW + 600 });
    for (const [t, rule] of [
      ['unknown', 'oauth2-introspection:inactive'],
      ['opaque-2', 'oauth2-introspection:wrong_audience'],
    ]) {
      const r = await bearer('/opaque', t);
      assert.equal(r.status, 401);
      assert.equal(r.json.error.code, 'PCS_ERR_AUTH_INVALID_TOKEN');
      assert.equal(((await accessLineOf(g.access, r)).decisions as { rule: string }[])[0].rule, rule);
    }
  });

  it('introspection: fails closed when the server is down (counted), or open when configured', async () => {
    idp.down = 503;
    try {
      const r = await bearer('/opaque', 'whatever');
      assert.equal(r.status, 401);
      assert.equal(r.json.error.code, 'PCS_ERR_AUTH_PROVIDER_UNAVAILABLE');
      const open = await bearer('/open', 'whatever');
      assert.equal(open.status, 200);
      const m = await call(`${g.admin}/metrics`);
      assert.match(m.text, /portcullis_auth_provider_errors_total\{method="oauth2-introspection"\} [1-9]/);
      assert.match(
        m.text,
        /portcullis_auth_introspection_fail_open_total\{policy="oauth2-introspection"\} 1/,
      );
    } finally {
      idp.down = undefined;
    }
  });

  it('introspection in shadow: an inactive token is would_deny and passes', async () => {
    const r = await bearer('/shadow', 'nope');
    assert.equal(r.status, 200);
    assert.equal(
      ((await accessLineOf(g.access, r)).decisions as { outcome: string }[])[0].outcome,
      'would_deny',
    );
  });
});
