import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../src/core/clock.js';
import { accessLineOf } from './helpers/access-log.js';
import { adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

const T0 = Date.parse('2025-03-01T10:00:00Z');
const NOW = T0 / 1000;
const SECRET = 'a-shared-hs256-secret-for-tests-0123456789';
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
function hs(payload: object) {
  const input = `${b64({ alg: 'HS256' })}.${b64({ iss: 'https://idp.test', sub: 'alice', iat: NOW, exp: NOW + 300, ...payload })}`;
  return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

describe('basic-auth, multi-auth and step-up through the gateway', () => {
  let up: Upstream;
  let g: TestGateway;
  let key: string;
  const jwtCfg = {
    issuers: [{ issuer: 'https://idp.test', algorithms: ['HS256'], secrets: [{ secret: SECRET }] }],
  };

  before(async () => {
    up = await startUpstream();
    g = await startGateway(
      {
        services: [{ name: 'echo', targets: [{ url: up.url }] }],
        routes: [
          { name: 'basic', service: 'echo', paths: ['/basic'] },
          { name: 'multi', service: 'echo', paths: ['/multi'] },
          { name: 'mfa', service: 'echo', paths: ['/mfa'] },
        ],
        policies: [
          { name: 'basic-auth', scope: { route: 'basic' }, config: { hideCredentials: true } },
          {
            name: 'multi-auth',
            scope: { route: 'multi' },
            config: {
              methods: [
                { policy: 'jwt', config: jwtCfg },
                { policy: 'key-auth', config: {} },
                { policy: 'basic-auth', config: {} },
              ],
              anonymous: 'guest',
            },
          },
          { name: 'jwt', scope: { route: 'mfa' }, config: jwtCfg },
          {
            name: 'step-up',
            scope: { route: 'mfa' },
            config: {
              methods: ['POST', 'DELETE'],
              amr: ['mfa', 'hwk'],
              acrLevels: ['low', 'substantial', 'high'],
              minAcr: 'substantial',
            },
          },
        ],
      },
      { clock: new ManualClock(T0) },
    );
    for (const name of ['alice', 'bob', 'guest'])
      assert.equal((await adminCall(g, 'POST', '/consumers', { name })).status, 201);
    const pw = await adminCall(g, 'POST', '/consumers/bob/credentials', {
      kind: 'basic-auth',
      username: 'bob',
      password: 'correct horse battery',
    });
    assert.equal(pw.status, 201, pw.text);
    assert.equal(pw.json.password, undefined, 'a chosen password is not echoed');
    const k = await adminCall(g, 'POST', '/consumers/alice/credentials', { kind: 'key-auth' });
    key = k.json.key;
  });
  after(async () => {
    await g.stop();
    await up.close();
  });

  it('basic-auth: stored as scrypt, right password passes (credentials hidden), wrong ones 401 with Basic challenge', async () => {
    const stored = await g.gw.store.listCredentials({ kind: 'basic-auth' });
    assert.match(stored[0].secret, /^scrypt\$32768\$8\$1\$/);
    const ok = await call(`${g.url}/basic`, {
      headers: { authorization: basic('bob', 'correct horse battery') },
    });
    assert.equal(ok.status, 200);
    assert.equal(up.seen.at(-1)!.headers.authorization, undefined);
    assert.equal((await accessLineOf(g.access, ok)).consumer, 'bob');
    for (const h of [basic('bob', 'wrong'), basic('nobody', 'x'), 'Basic !!!']) {
      const r = await call(`${g.url}/basic`, { headers: { authorization: h } });
      assert.equal(r.status, 401);
      assert.equal(r.json.error.code, 'PCS_ERR_AUTH_INVALID_CREDENTIALS');
      assert.equal(r.headers['www-authenticate'], 'Basic realm="portcullis", charset="UTF-8"');
    }
    const none = await call(`${g.url}/basic`);
    assert.equal(none.json.error.code, 'PCS_ERR_AUTH_REQUIRED');
  });

  it('multi-auth: jwt, key or basic each succeed, in order; no credentials → anonymous', async () => {
    for (const [headers, consumer, rule] of [
      [{ authorization: `Bearer ${hs({})}` }, 'alice', 'jwt:https://idp.test'],
      [{ 'x-api-key': key }, 'alice', `key:${key.slice(4, 12)}`],
      [{ authorization: basic('bob', 'correct horse battery') }, 'bob', 'basic:bob'],
      [{}, 'guest', 'anonymous'],
    ] as const) {
      const r = await call(`${g.url}/multi`, { headers });
      assert.equal(r.status, 200, JSON.stringify(headers));
      const line = await accessLineOf(g.access, r);
      assert.equal(line.consumer, consumer);
      assert.equal((line.decisions as { rule: string }[])[0].rule, rule);
    }
  });

  it('multi-auth: a wrong credential is refused even with anonymous, with every challenge', async () => {
    const r = await call(`${g.url}/multi`, { headers: { 'x-api-key': 'wrong' } });
    assert.equal(r.status, 401);
    assert.equal(r.json.error.code, 'PCS_ERR_AUTH_INVALID_KEY');
    assert.equal(
      r.headers['www-authenticate'],
      'ApiKey realm="portcullis", header="x-api-key", Bearer realm="portcullis", Basic realm="portcullis", charset="UTF-8"',
    );
  });

  it('step-up: GET needs no MFA; POST needs amr mfa or acr ≥ substantial, else insufficient_user_authentication', async () => {
    assert.equal(
      (await call(`${g.url}/mfa`, { headers: { authorization: `Bearer ${hs({})}` } })).status,
      200,
    );
    const weak = await call(`${g.url}/mfa`, {
      method: 'POST',
      headers: { authorization: `Bearer ${hs({ amr: ['pwd'], acr: 'low' })}` },
    });
    assert.equal(weak.status, 401);
    assert.equal(weak.json.error.code, 'PCS_ERR_AUTH_INSUFFICIENT');
    assert.equal(
      weak.headers['www-authenticate'],
      'Bearer realm="portcullis", error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="substantial high"',
    );
    for (const extra of [{ amr: ['pwd', 'mfa'] }, { acr: 'high' }, { acr: 'substantial' }]) {
      const r = await call(`${g.url}/mfa`, {
        method: 'POST',
        headers: { authorization: `Bearer ${hs(extra)}` },
      });
      assert.equal(r.status, 200, JSON.stringify(extra));
    }
  });
});
