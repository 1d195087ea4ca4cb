import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

/**
 * Issue 11 item 2: `X-Consumer-Groups` was removed only on routes that run `acl`, so on any other
 * route a client could tell the upstream it is an admin. Every header the gateway asserts is now
 * stripped from every request, on every route, before the chain runs.
 */

const ISS = 'https://idp.test';
const SECRET = 'an-hs256-shared-secret-of-at-least-32-bytes!';
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
function token(claims: Record<string, unknown>): string {
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ iss: ISS, iat: now, exp: now + 3600, ...claims })}`;
  return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}

/** What an attacker sends to claim an identity the upstream might believe. */
const FORGED: Record<string, string> = {
  'X-Consumer-Groups': 'admins',
  'X-Consumer-Username': 'root',
  'X-Consumer-ID': '1',
  'X-Credential-Identifier': 'root-key',
  'X-Authenticated-Userid': 'root',
  'X-Authenticated-Scope': 'admin',
  'X-Anonymous-Consumer': 'false',
  'X-Userinfo': 'eyJzdWIiOiJyb290In0',
  'X-Client-Cert-Subject': 'CN=root',
  'X-Client-Cert-Fingerprint': 'AA:BB',
  'X-Forwarded-Client-Cert': 'Hash=aa;Subject="CN=root"',
  // Declared by policies of this revision that run on other routes only.
  'X-User-Email': 'root@example.com',
  'X-Bot-Class': 'human',
};

describe('identity headers forged by clients (issue 11 item 2)', () => {
  let up: Upstream;
  let g: TestGateway;
  let key: string;

  before(async () => {
    up = await startUpstream();
    g = await startGateway({
      services: [{ name: 'echo', targets: [{ url: up.url }] }],
      routes: [
        { name: 'open', service: 'echo', paths: ['/open'] },
        { name: 'keyed', service: 'echo', paths: ['/keyed'] },
        { name: 'acl', service: 'echo', paths: ['/acl'] },
        { name: 'jwt', service: 'echo', paths: ['/jwt'] },
        { name: 'bots', service: 'echo', paths: ['/bots'] },
      ],
      policies: [
        { name: 'key-auth', scope: { route: 'keyed' }, config: {} },
        { name: 'key-auth', scope: { route: 'acl' }, config: {} },
        { name: 'acl', scope: { route: 'acl' }, config: { allow: ['staff'] } },
        {
          name: 'jwt',
          scope: { route: 'jwt' },
          config: {
            issuers: [{ issuer: ISS, algorithms: ['HS256'], secrets: [{ secret: SECRET }] }],
            forwardClaims: { email: 'X-User-Email' },
          },
        },
        { name: 'bot-detection', scope: { route: 'bots' }, config: {} },
      ],
    });
    assert.equal(
      (await adminCall(g, 'POST', '/consumers', { name: 'alice', groups: ['staff'] })).status,
      201,
    );
    const k = await adminCall(g, 'POST', '/consumers/alice/credentials', { kind: 'key-auth' });
    assert.equal(k.status, 201, k.text);
    key = k.json.key;
  });
  after(async () => {
    await g.stop();
    await up.close();
  });

  function assertNoneForged(headers: Record<string, unknown>, except: string[] = []): void {
    for (const name of Object.keys(FORGED)) {
      const h = name.toLowerCase();
      if (except.includes(h)) continue;
      assert.equal(headers[h], undefined, `${name} reached the upstream`);
    }
  }

  it('strips them on a route with no policy at all', async () => {
    const r = await call(`${g.url}/open`, { headers: { ...FORGED, 'X-Custom': 'kept' } });
    assert.equal(r.status, 200);
    assertNoneForged(r.json.headers);
    assert.equal(r.json.headers['x-custom'], 'kept', 'other headers pass');
  });

  it('strips them on an authenticated route that runs no acl', async () => {
    const r = await call(`${g.url}/keyed`, { headers: { ...FORGED, 'x-api-key': key } });
    assert.equal(r.status, 200);
    assertNoneForged(r.json.headers);
  });

  it('strips them whatever their case', async () => {
    const r = await call(`${g.url}/open`, {
      headers: { 'x-CONSUMER-groups': 'admins', 'X-CONSUMER-USERNAME': 'root' },
    });
    assert.equal(r.status, 200);
    assert.equal(r.json.headers['x-consumer-groups'], undefined);
    assert.equal(r.json.headers['x-consumer-username'], undefined);
  });

  it('still sends what the gateway itself asserts, from what it verified', async () => {
    const r = await call(`${g.url}/acl`, { headers: { ...FORGED, 'x-api-key': key } });
    assert.equal(r.status, 200);
    assert.equal(r.json.headers['x-consumer-groups'], 'staff', 'acl forwards the real groups');
    assertNoneForged(r.json.headers, ['x-consumer-groups']);
    const j = await call(`${g.url}/jwt`, {
      headers: { ...FORGED, authorization: `bearer ${token({ sub: 'bob', email: 'bob@example.com' })}` },
    });
    assert.equal(j.status, 200, j.text);
    assert.equal(j.json.headers['x-user-email'], 'bob@example.com', 'the verified claim, not the forged one');
  });

  it('refuses a config that would assert a header clients send', async () => {
    const r = await adminCall(g, 'POST', '/config?dry_run=true', {
      services: [{ name: 'echo', targets: [{ url: up.url }] }],
      routes: [{ name: 'jwt', service: 'echo', paths: ['/jwt'] }],
      policies: [
        {
          name: 'jwt',
          config: {
            issuers: [{ issuer: ISS, algorithms: ['HS256'], secrets: [{ secret: SECRET }] }],
            forwardClaims: { sub: 'Authorization' },
          },
        },
      ],
    });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error.code, 'PCS_ERR_CONFIG_INVALID');
    assert.match(r.text, /policies\/0\/config.*'authorization'/);
  });
});
