import assert from 'node:assert/strict';
import { constants, createHmac, generateKeyPairSync, type KeyObject, sign as cryptoSign } from 'node:crypto';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../src/core/clock.js';
import { startIdp, type FakeIdp } from './auth-idp.js';
import { accessLineOf } from './helpers/access-log.js';
import { adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

const T0 = Date.parse('2025-03-01T10:00:00Z');
const NOW = T0 / 1000;
const AUD = 'api://orders';
const HS_SECRET = 'an-hs256-shared-secret-of-at-least-32-bytes!';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsa2 = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = generateKeyPairSync('ed25519');
const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** Signs a JWS by hand, so tests can build tokens no library would. */
function signRaw(header: Record<string, unknown>, payload: unknown, key: KeyObject | string): string {
  const input = `${b64(header)}.${typeof payload === 'string' ? b64(payload) : b64(payload)}`;
  const data = Buffer.from(input);
  const alg = String(header.alg);
  let sig: Buffer;
  if (typeof key === 'string' || key.type === 'secret')
    sig = createHmac(`sha${alg.slice(2)}`, key as string)
      .update(data)
      .digest();
  else if (alg.startsWith('RS')) sig = cryptoSign(`sha${alg.slice(2)}`, data, key);
  else if (alg.startsWith('PS'))
    sig = cryptoSign(`sha${alg.slice(2)}`, data, {
      key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 32,
    });
  else if (alg.startsWith('ES')) sig = cryptoSign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
  else sig = cryptoSign(null, data, key);
  return `${input}.${sig.toString('base64url')}`;
}

function claims(idp: FakeIdp, extra: Record<string, unknown> = {}) {
  return {
    iss: idp.issuer,
    aud: AUD,
    sub: 'alice',
    iat: NOW,
    exp: NOW + 600,
    email: 'alice@example.com',
    ...extra,
  };
}

function jwk(k: KeyObject, kid: string, alg: string) {
  return { ...k.export({ format: 'jwk' }), kid, alg, use: 'sig' };
}

describe('jwt through the gateway', () => {
  let up: Upstream;
  let idp: FakeIdp;
  let g: TestGateway;
  let jku: FakeIdp;
  const clock = new ManualClock(T0);
  const rs = (extra: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
    signRaw({ alg: 'RS256', kid: 'k1', typ: 'JWT', ...header }, claims(idp, extra), rsa.privateKey);
  const get = (path: string, token?: string, headers: Record<string, string> = {}) =>
    call(`${g.url}${path}`, {
      headers: token === undefined ? headers : { authorization: `Bearer ${token}`, ...headers },
    });

  async function refused(token: string, rule: string, path = '/jwt') {
    const before = up.seen.length;
    const r = await get(path, token);
    assert.equal(r.status, 401, `${rule}: ${r.text}`);
    assert.equal(r.json.error.code, 'PCS_ERR_AUTH_INVALID_TOKEN');
    assert.equal(r.json.error.message, 'Invalid token');
    assert.equal(r.headers['www-authenticate'], 'Bearer realm="portcullis", error="invalid_token"');
    assert.equal(up.seen.length, before, 'upstream not called');
    const line = await accessLineOf(g.access, r);
    assert.equal((line.decisions as { rule: string }[]).at(-1)!.rule, `jwt:${rule}`);
    return line;
  }

  before(async () => {
    up = await startUpstream();
    idp = await startIdp();
    jku = await startIdp();
    jku.jwks = { keys: [jwk(attacker.publicKey, 'k1', 'RS256')] };
    idp.jwks = {
      keys: [
        jwk(rsa.publicKey, 'k1', 'RS256'),
        jwk(rsa2.publicKey, 'k2', 'RS256'),
        jwk(rsa2.publicKey, 'p1', 'PS256'),
        jwk(ec.publicKey, 'e1', 'ES256'),
        jwk(ed.publicKey, 'd1', 'EdDSA'),
      ],
    };
    const issuer = {
      issuer: idp.issuer,
      algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
      audiences: [AUD],
      jwksUri: `${idp.url}/jwks`,
    };
    const mixed = {
      issuer: 'https://mixed.test',
      algorithms: ['HS256', 'RS256', 'ES256'],
      secrets: [{ secret: HS_SECRET }],
      publicKeys: [
        { pem: rsa.publicKey.export({ format: 'pem', type: 'spki' }) as string },
        { pem: ec.publicKey.export({ format: 'pem', type: 'spki' }) as string },
      ],
    };
    const base = { issuers: [issuer, mixed], forwardClaims: { sub: 'x-user-sub', email: 'x-user-email' } };
    g = await startGateway(
      {
        services: [{ name: 'echo', targets: [{ url: up.url }] }],
        routes: [
          { name: 'jwt', service: 'echo', paths: ['/jwt'] },
          { name: 'shadow', service: 'echo', paths: ['/shadow'] },
          { name: 'hide', service: 'echo', paths: ['/hide'] },
        ],
        policies: [
          { name: 'jwt', scope: { route: 'jwt' }, config: base },
          { name: 'jwt', scope: { route: 'shadow' }, mode: 'shadow', config: base },
          {
            name: 'jwt',
            scope: { route: 'hide' },
            config: { ...base, hideCredentials: true, consumerRequired: true },
          },
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
    await jku.close();
  });

  it('accepts RS256, PS256, ES256 and EdDSA tokens from the JWKS URL; forwards claims; sets the consumer', async () => {
    for (const [alg, kid, key] of [
      ['RS256', 'k1', rsa.privateKey],
      ['PS256', 'p1', rsa2.privateKey],
      ['ES256', 'e1', ec.privateKey],
      ['EdDSA', 'd1', ed.privateKey],
    ] as const) {
      const r = await get('/jwt', signRaw({ alg, kid, typ: 'JWT' }, claims(idp, { n: alg }), key));
      assert.equal(r.status, 200, `${alg}: ${r.text}`);
      const seen = up.seen.at(-1)!;
      assert.equal(seen.headers['x-user-sub'], 'alice');
      assert.equal(seen.headers['x-user-email'], 'alice@example.com');
      assert.equal((await accessLineOf(g.access, r)).consumer, 'alice');
    }
  });

  it('accepts HS256 only with the configured secret; hides credentials when asked', async () => {
    const hs = signRaw(
      { alg: 'HS256' },
      { iss: 'https://mixed.test', sub: 'alice', iat: NOW, exp: NOW + 60 },
      HS_SECRET,
    );
    assert.equal((await get('/jwt', hs)).status, 200);
    const r = await get('/hide', hs);
    assert.equal(r.status, 200);
    assert.equal(up.seen.at(-1)!.headers.authorization, undefined);
  });

  it('answers 401 with a bare Bearer challenge and PCS_ERR_AUTH_REQUIRED without a token', async () => {
    const r = await get('/jwt');
    assert.equal(r.status, 401);
    assert.equal(r.json.error.code, 'PCS_ERR_AUTH_REQUIRED');
    assert.equal(r.headers['www-authenticate'], 'Bearer realm="portcullis"');
  });

  it('strips forged claim headers from the client', async () => {
    const r = await get('/jwt', rs({ email: undefined }), {
      'x-user-email': 'admin@example.com',
      'x-user-sub': 'root',
    });
    assert.equal(r.status, 200);
    assert.equal(up.seen.at(-1)!.headers['x-user-sub'], 'alice');
    assert.equal(up.seen.at(-1)!.headers['x-user-email'], undefined);
  });

  it('attack: alg none and its case variants', async () => {
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      await refused(`${b64({ alg, typ: 'JWT' })}.${b64(claims(idp))}.`, 'no_signature');
      await refused(`${b64({ alg, typ: 'JWT' })}.${b64(claims(idp))}.${b64('x')}`, 'alg_none');
    }
  });

  it('attack: HS256 signed with the RSA or EC public key (key confusion)', async () => {
    for (const pub of [rsa.publicKey, ec.publicKey]) {
      const pem = pub.export({ format: 'pem', type: 'spki' }) as string;
      // The JWKS issuer does not allow HS256 at all.
      await refused(signRaw({ alg: 'HS256', kid: 'k1' }, claims(idp), pem), 'alg_not_allowed');
      // The mixed issuer allows HS256 and has the same public keys: HS keys come only from secrets.
      await refused(
        signRaw({ alg: 'HS256' }, { iss: 'https://mixed.test', sub: 'x', iat: NOW, exp: NOW + 60 }, pem),
        'bad_signature',
      );
    }
  });

  it('attack: kid with path traversal or SQL', async () => {
    for (const kid of [
      '../../../../dev/null',
      "k1' OR '1'='1",
      'k1; DROP TABLE credentials;--',
      '/etc/passwd',
    ])
      await refused(rs({}, { kid }), kid === '/etc/passwd' ? 'unknown_key' : 'bad_kid');
  });

  it('attack: jku, x5u, x5c and embedded jwk pointing at the attacker (never fetched)', async () => {
    const pubJwk = attacker.publicKey.export({ format: 'jwk' });
    const cert = 'MIIBszCCAVmgAwIBAgIUQ'; // the content does not matter: the header is refused
    for (const extra of [
      { jku: `${jku.url}/jwks` },
      { x5u: `${jku.url}/cert.pem` },
      { x5c: [cert] },
      { jwk: pubJwk },
    ])
      await refused(
        signRaw({ alg: 'RS256', kid: 'k1', ...extra }, claims(idp), attacker.privateKey),
        'untrusted_key_header',
      );
    assert.deepEqual(jku.hits, {});
  });

  it('attack: stripped or truncated signature', async () => {
    const t = rs();
    await refused(t.slice(0, t.lastIndexOf('.') + 1), 'no_signature');
    await refused(t.slice(0, t.lastIndexOf('.')), 'malformed');
    await refused(t.slice(0, -12), 'bad_signature');
  });

  it('attack: ECDSA signature with r = s = 0 (psychic signature)', async () => {
    const input = `${b64({ alg: 'ES256', kid: 'e1' })}.${b64(claims(idp))}`;
    await refused(`${input}.${Buffer.alloc(64).toString('base64url')}`, 'bad_signature');
  });

  it('attack: expired, not yet valid and far-future iat (with 60 s skew)', async () => {
    assert.equal((await get('/jwt', rs({ exp: NOW - 30 }))).status, 200, 'within skew');
    await refused(rs({ exp: NOW - 120 }), 'expired');
    await refused(rs({ nbf: NOW + 300 }), 'not_yet_valid');
    const line = await get('/jwt', rs({ iat: NOW + 86_400 * 365, exp: NOW + 86_400 * 366 }));
    assert.equal(line.status, 401);
    assert.match(
      String(((await accessLineOf(g.access, line)).decisions as { rule: string }[])[0].rule),
      /^jwt:iat_/,
    );
  });

  it('attack: wrong iss, wrong aud, missing aud', async () => {
    await refused(rs({ iss: 'https://evil.example' }), 'wrong_issuer');
    await refused(rs({ aud: 'api://other' }), 'wrong_audience');
    await refused(rs({ aud: undefined }), 'wrong_audience');
  });

  it('attack: unknown crit header', async () => {
    await refused(rs({}, { crit: ['x-must-understand'], 'x-must-understand': true }), 'unknown_crit');
  });

  it('attack: payload not JSON, or huge', async () => {
    await refused(`${b64({ alg: 'RS256', kid: 'k1' })}.${b64('not json')}.${b64('sig')}`, 'malformed');
    const huge = signRaw(
      { alg: 'RS256', kid: 'k1' },
      claims(idp, { pad: 'x'.repeat(9_000) }),
      rsa.privateKey,
    );
    const r = await get('/jwt', huge);
    assert.equal(r.status, 401);
    assert.equal(
      ((await accessLineOf(g.access, r)).decisions as { rule: string }[])[0].rule,
      'jwt:too_large',
    );
  });

  it('attack: blank, bare or folded Authorization header', async () => {
    for (const [value, rule] of [
      ['', 'blank_authorization'],
      ['   ', 'blank_authorization'],
      ['Bearer', 'malformed'],
      ['Bearer    ', 'malformed'],
      [`Bearer ${rs()}, Bearer ${rs()}`, 'malformed'],
    ]) {
      const r = await call(`${g.url}/jwt`, { headers: { authorization: value } });
      assert.equal(r.status, 401, JSON.stringify(value));
      assert.equal(r.json.error.code, 'PCS_ERR_AUTH_INVALID_TOKEN');
      assert.equal(
        ((await accessLineOf(g.access, r)).decisions as { rule: string }[])[0].rule,
        `jwt:${rule}`,
      );
    }
  });

  it('attack: duplicated Authorization header is refused, whichever comes first', async () => {
    const good = rs({ dup: 1 });
    const raw = await new Promise<string>((resolve, reject) => {
      const s = connect(Number(new URL(g.url).port), '127.0.0.1', () => {
        s.write(
          `GET /jwt HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${good}\r\nAuthorization: Bearer forged.token.here\r\nConnection: close\r\n\r\n`,
        );
      });
      let out = '';
      s.on('data', (d) => (out += d));
      s.on('end', () => resolve(out));
      s.on('error', reject);
    });
    const before = up.seen.length;
    assert.match(raw, /^HTTP\/1\.1 401/);
    assert.match(raw, /WWW-Authenticate: Bearer realm="[^"]*", error="invalid_token"/i);
    assert.equal(up.seen.length, before, 'the upstream is not called');
    const r2 = await new Promise<string>((resolve, reject) => {
      const s = connect(Number(new URL(g.url).port), '127.0.0.1', () => {
        s.write(
          `GET /jwt HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer forged.token.here\r\nAuthorization: Bearer ${good}\r\nConnection: close\r\n\r\n`,
        );
      });
      let out = '';
      s.on('data', (d) => (out += d));
      s.on('end', () => resolve(out));
      s.on('error', reject);
    });
    assert.match(r2, /^HTTP\/1\.1 401/);
  });

  it('attack: a token signed by a key removed from the JWKS (cached or not)', async () => {
    const cached = signRaw({ alg: 'RS256', kid: 'k2' }, claims(idp, { c: 1 }), rsa2.privateKey);
    assert.equal((await get('/jwt', cached)).status, 200);
    idp.jwks = { keys: idp.jwks.keys.filter((k) => (k as { kid: string }).kid !== 'k2') };
    // Keys are refreshed in the background once older than jwksRefreshSeconds (300 s).
    clock.advance(301_000);
    assert.equal((await get('/jwt', rs({ c: 3 }))).status, 200);
    await new Promise((r) => setTimeout(r, 100));
    const fresh = signRaw({ alg: 'RS256', kid: 'k2' }, claims(idp, { c: 2 }), rsa2.privateKey);
    await refused(fresh, 'unknown_key');
    await refused(cached, 'unknown_key');
  });

  it('an unknown kid triggers at most one JWKS refetch per interval', async () => {
    clock.advance(31_000);
    const before = idp.hits['/jwks'] ?? 0;
    for (const kid of ['u1', 'u2', 'u3', 'u4']) await refused(rs({}, { kid }), 'unknown_key');
    assert.equal((idp.hits['/jwks'] ?? 0) - before, 1);
  });

  it('serves the last good keys when the identity provider is down, and counts the outage', async () => {
    idp.down = 503;
    clock.advance(301_000);
    const r = await get('/jwt', rs({ down: 1 }));
    assert.equal(r.status, 200);
    await new Promise((res) => setTimeout(res, 50));
    assert.equal((await get('/jwt', rs({ down: 2 }))).status, 200);
    const m = await call(`${g.admin}/metrics`);
    assert.match(m.text, /portcullis_auth_jwks_fetches_total\{result="error"\} [1-9]/);
    assert.ok(g.logs.lines.some((l) => String(l.msg).startsWith('JWKS fetch failed')));
    idp.down = undefined;
  });

  it('does not serve a cached verification past the token expiry', async () => {
    const t = rs({ exp: NOW + 700, once: 1 });
    assert.equal((await get('/jwt', t)).status, 200);
    assert.equal((await get('/jwt', t)).status, 200);
    clock.set(T0 + 700_000 + 61_000 + 400_000);
    // the clock moved far: keys are refreshed in the background; the token is expired regardless
    await refused(t, 'expired');
    clock.set(T0 + 400_000);
  });

  it('shadow: an invalid token is recorded as would_deny and the request passes', async () => {
    const r = await get('/shadow', 'garbage');
    assert.equal(r.status, 200);
    const line = await accessLineOf(g.access, r);
    const d = (line.decisions as { outcome: string; code: string; rule: string }[])[0];
    assert.deepEqual(
      [d.outcome, d.code, d.rule],
      ['would_deny', 'PCS_ERR_AUTH_INVALID_TOKEN', 'jwt:malformed'],
    );
    assert.equal(line.consumer, undefined);
  });

  it('consumerRequired refuses a valid token naming no consumer', async () => {
    await refused(rs({ sub: 'mallory' }), 'unknown_consumer', '/hide');
  });
});

describe('jwt: provider down from the start, and config checks', () => {
  it('answers 401 PCS_ERR_AUTH_PROVIDER_UNAVAILABLE and counts it apart from invalid tokens', async () => {
    const up = await startUpstream();
    const idp = await startIdp();
    idp.down = 503;
    const g = await startGateway(
      {
        services: [{ name: 'echo', targets: [{ url: up.url }] }],
        routes: [{ name: 'jwt', service: 'echo', paths: ['/jwt'] }],
        policies: [
          {
            name: 'jwt',
            config: { issuers: [{ issuer: idp.issuer, algorithms: ['RS256'], jwksUri: `${idp.url}/jwks` }] },
          },
        ],
      },
      { clock: new ManualClock(T0) },
    );
    try {
      const t = signRaw(
        { alg: 'RS256', kid: 'k1' },
        { iss: idp.issuer, sub: 'a', iat: NOW, exp: NOW + 60 },
        rsa.privateKey,
      );
      const r = await call(`${g.url}/jwt`, { headers: { authorization: `Bearer ${t}` } });
      assert.equal(r.status, 401);
      assert.equal(r.json.error.code, 'PCS_ERR_AUTH_PROVIDER_UNAVAILABLE');
      assert.equal(r.headers['www-authenticate'], 'Bearer realm="portcullis"');
      const m = await call(`${g.admin}/metrics`);
      assert.match(m.text, /portcullis_auth_provider_errors_total\{method="jwt"\} 1/);
      assert.match(
        m.text,
        /portcullis_auth_failures_total\{policy="jwt",method="jwt",reason="provider_unavailable"\} 1/,
      );
    } finally {
      await g.stop();
      await up.close();
      await idp.close();
    }
  });

  it('refuses alg none, HS without a secret, and private keys in config', async () => {
    const up = await startUpstream();
    const g = await startGateway({ services: [], routes: [], policies: [] });
    const apply = (issuer: object) =>
      adminCall(g, 'POST', '/config', {
        services: [{ name: 'echo', targets: [{ url: up.url }] }],
        routes: [{ name: 'r', service: 'echo', paths: ['/'] }],
        policies: [{ name: 'jwt', config: { issuers: [{ issuer: 'i', ...issuer }] } }],
      });
    try {
      for (const [issuer, pattern] of [
        [{ algorithms: ['none'], secrets: [{ secret: HS_SECRET }] }, /algorithms/],
        [
          {
            algorithms: ['HS256'],
            publicKeys: [{ pem: rsa.publicKey.export({ format: 'pem', type: 'spki' }) }],
          },
          /no secret given/,
        ],
        [
          {
            algorithms: ['RS256'],
            publicKeys: [{ pem: rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }) }],
          },
          /private key/,
        ],
        [{ algorithms: ['RS256'] }, /no public key/],
      ] as const) {
        const r = await apply(issuer);
        assert.equal(r.status, 400, r.text);
        assert.equal(r.json.error.code, 'PCS_ERR_CONFIG_INVALID');
        assert.match(JSON.stringify(r.json.error.issues), pattern);
      }
    } finally {
      await g.stop();
      await up.close();
    }
  });
});
