import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ManualClock } from '../src/core/clock.js';
import { accessLineOf } from './helpers/access-log.js';
import { ADMIN_TOKEN, adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

const T0 = Date.parse('2025-03-01T10:00:00Z');
const CHALLENGE = 'ApiKey realm="portcullis", header="x-api-key"';

function config(upstream: string, policies: unknown[]) {
  return {
    services: [{ name: 'echo', targets: [{ url: upstream }] }],
    routes: [
      { name: 'keyed', service: 'echo', paths: ['/keyed'] },
      { name: 'hidden', service: 'echo', paths: ['/hidden'] },
      { name: 'shadowed', service: 'echo', paths: ['/shadowed'] },
      { name: 'open', service: 'echo', paths: ['/open'] },
      { name: 'query', service: 'echo', paths: ['/query'] },
    ],
    policies,
  };
}

const POLICIES = [
  { name: 'key-auth', scope: { route: 'keyed' }, config: {} },
  { name: 'key-auth', scope: { route: 'hidden' }, config: { hideCredentials: true } },
  { name: 'key-auth', scope: { route: 'shadowed' }, mode: 'shadow', config: {} },
  { name: 'key-auth', scope: { route: 'open' }, config: { anonymous: 'guest' } },
  { name: 'key-auth', scope: { route: 'query' }, config: { query: 'apikey' } },
];

async function consumer(g: TestGateway, name: string, groups: string[] = []) {
  const r = await adminCall(g, 'POST', '/consumers', { name, groups });
  assert.equal(r.status, 201);
}

async function issue(g: TestGateway, name: string, extra: object = {}) {
  const r = await adminCall(g, 'POST', `/consumers/${name}/credentials`, { kind: 'key-auth', ...extra });
  assert.equal(r.status, 201, r.text);
  return r.json as { key: string; credential: { id: string; lookup: string; consumer: string } };
}

describe('key-auth through the gateway', () => {
  let up: Upstream;
  let g: TestGateway;
  const clock = new ManualClock(T0);

  before(async () => {
    up = await startUpstream();
    g = await startGateway(config(up.url, POLICIES), { clock });
    await consumer(g, 'alice', ['staff']);
    await consumer(g, 'guest');
  });
  after(async () => {
    await g.stop();
    await up.close();
  });

  it('issues a key shown once, stored as a hash, listed by prefix without the secret', async () => {
    const k = await issue(g, 'alice', { label: 'ci' });
    assert.match(k.key, /^pcs_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/);
    assert.equal(k.key.slice(4, 12), k.credential.lookup);
    assert.equal('secret' in k.credential, false);
    const list = await adminCall(g, 'GET', `/credentials?prefix=${k.credential.lookup.slice(0, 4)}`);
    assert.equal(list.status, 200);
    const found = list.json.credentials.find((c: { id: string }) => c.id === k.credential.id);
    assert.equal(found.lookup, k.credential.lookup);
    assert.equal(list.text.includes(k.key), false);
    assert.equal(list.text.includes('secret'), false);
    const stored = await g.gw.store.getCredential(k.credential.id);
    assert.match(stored!.secret, /^[0-9a-f]{64}$/);
    assert.equal(stored!.secret.includes(k.key.slice(13)), false);
    const audit = await adminCall(g, 'GET', '/audit');
    const ev = audit.json.events.find((e: { action: string }) => e.action === 'credential.issue');
    assert.ok(ev);
    assert.equal(JSON.stringify(ev).includes(k.key), false);
  });

  it('lets a valid key through, sets the consumer and forwards the header unless hidden', async () => {
    const k = await issue(g, 'alice');
    const r = await call(`${g.url}/keyed`, { headers: { 'x-api-key': k.key } });
    assert.equal(r.status, 200);
    assert.equal(up.seen.at(-1)!.headers['x-api-key'], k.key);
    const line = await accessLineOf(g.access, r);
    assert.equal(line.consumer, 'alice');
    const h = await call(`${g.url}/hidden`, { headers: { 'x-api-key': k.key } });
    assert.equal(h.status, 200);
    assert.equal(up.seen.at(-1)!.headers['x-api-key'], undefined);
  });

  it('answers 401 PCS_ERR_AUTH_REQUIRED with the challenge when no key is sent', async () => {
    const before = up.seen.length;
    const r = await call(`${g.url}/keyed`);
    assert.equal(r.status, 401);
    assert.equal(r.json.error.code, 'PCS_ERR_AUTH_REQUIRED');
    assert.equal(r.headers['www-authenticate'], CHALLENGE);
    assert.equal(up.seen.length, before);
  });

  it('answers 401 PCS_ERR_AUTH_INVALID_KEY for a wrong, malformed or tampered key; the log has the cause', async () => {
    const k = await issue(g, 'alice');
    const tampered = `${k.key.slice(0, -1)}${k.key.endsWith('A') ? 'B' : 'A'}`;
    for (const [key, rule] of [
      [tampered, 'key-auth:unknown_key'],
      ['pcs_zzzzzzzz_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'key-auth:unknown_key'],
      ['hunter2', 'key-auth:malformed'],
    ] as const) {
      const r = await call(`${g.url}/keyed`, { headers: { 'x-api-key': key } });
      assert.equal(r.status, 401, key);
      assert.equal(r.json.error.code, 'PCS_ERR_AUTH_INVALID_KEY');
      assert.equal(r.json.error.message, 'Invalid credentials');
      assert.equal(r.headers['www-authenticate'], CHALLENGE);
      const line = await accessLineOf(g.access, r);
      assert.equal((line.decisions as { rule: string }[])[0].rule, rule);
      assert.ok(String(line.detail).length > 0);
    }
  });

  it('keeps several keys of a consumer active (rotation with overlap), then revokes at once', async () => {
    const a = await issue(g, 'alice');
    const rot = await adminCall(g, 'POST', `/credentials/${a.credential.id}/rotate`, {});
    assert.equal(rot.status, 201);
    const b = rot.json as { key: string; credential: { id: string } };
    assert.notEqual(b.key, a.key);
    for (const key of [a.key, b.key])
      assert.equal((await call(`${g.url}/keyed`, { headers: { 'x-api-key': key } })).status, 200);
    const rev = await adminCall(g, 'POST', `/credentials/${a.credential.id}/revoke`);
    assert.equal(rev.status, 200);
    assert.ok(rev.json.revokedAt);
    assert.equal((await call(`${g.url}/keyed`, { headers: { 'x-api-key': a.key } })).status, 401);
    assert.equal((await call(`${g.url}/keyed`, { headers: { 'x-api-key': b.key } })).status, 200);
    const rot2 = await adminCall(g, 'POST', `/credentials/${b.credential.id}/rotate`, { revokeOld: true });
    assert.equal(rot2.status, 201);
    assert.equal((await call(`${g.url}/keyed`, { headers: { 'x-api-key': b.key } })).status, 401);
    assert.equal((await call(`${g.url}/keyed`, { headers: { 'x-api-key': rot2.json.key } })).status, 200);
  });

  it('stops an expired key', async () => {
    const k = await issue(g, 'alice', { expiresAt: new Date(clock.now() + 60_000).toISOString() });
    assert.equal((await call(`${g.url}/keyed`, { headers: { 'x-api-key': k.key } })).status, 200);
    clock.advance(60_001);
    const r = await call(`${g.url}/keyed`, { headers: { 'x-api-key': k.key } });
    assert.equal(r.status, 401);
    assert.equal(r.json.error.code, 'PCS_ERR_AUTH_INVALID_KEY');
  });

  it('refuses issuing for an unknown consumer, unknown kinds and past expiry', async () => {
    assert.equal(
      (await adminCall(g, 'POST', '/consumers/nobody/credentials', { kind: 'key-auth' })).status,
      404,
    );
    assert.equal((await adminCall(g, 'POST', '/consumers/alice/credentials', { kind: 'magic' })).status, 400);
    const past = await adminCall(g, 'POST', '/consumers/alice/credentials', {
      kind: 'key-auth',
      expiresAt: new Date(clock.now() - 1000).toISOString(),
    });
    assert.equal(past.status, 400);
    assert.equal(past.json.error.code, 'PCS_ERR_ADMIN_BAD_INPUT');
  });

  it('shadow: a missing key is recorded as would_deny and the request passes', async () => {
    const r = await call(`${g.url}/shadowed`);
    assert.equal(r.status, 200);
    const line = await accessLineOf(g.access, r);
    assert.deepEqual(
      (line.decisions as { outcome: string; code: string; mode: string }[]).map((d) => [
        d.mode,
        d.outcome,
        d.code,
      ]),
      [['shadow', 'would_deny', 'PCS_ERR_AUTH_REQUIRED']],
    );
    assert.equal(line.consumer, undefined);
  });

  it('anonymous: no key gives the anonymous consumer; a wrong key is still refused', async () => {
    const r = await call(`${g.url}/open`);
    assert.equal(r.status, 200);
    assert.equal((await accessLineOf(g.access, r)).consumer, 'guest');
    const bad = await call(`${g.url}/open`, { headers: { 'x-api-key': 'nope' } });
    assert.equal(bad.status, 401);
  });

  it('takes the key from the query parameter when configured, and refuses it sent twice', async () => {
    const k = await issue(g, 'alice');
    assert.equal((await call(`${g.url}/query?apikey=${k.key}`)).status, 200);
    assert.equal((await call(`${g.url}/keyed?apikey=${k.key}`)).status, 401);
    const twice = await call(`${g.url}/query?apikey=${k.key}&apikey=${k.key}`);
    assert.equal(twice.status, 401);
    assert.equal(twice.json.error.code, 'PCS_ERR_AUTH_INVALID_KEY');
  });

  it('counts repeated failures per IP and raises a security event at the threshold', async () => {
    for (let i = 0; i < 10; i++) await call(`${g.url}/keyed`, { headers: { 'x-api-key': `bad${i}` } });
    await new Promise((r) => setImmediate(r));
    const ev = g.logs.lines.find((l) => l.security_event === true && l.type === 'auth.repeated_failures');
    assert.ok(ev, 'security event');
    assert.equal(ev.subject, '127.0.0.1');
    const metrics = await call(`${g.admin}/metrics`);
    assert.match(
      metrics.text,
      /portcullis_auth_failures_total\{policy="key-auth",method="key-auth",reason="malformed"\} \d+/,
    );
    assert.match(metrics.text, /portcullis_auth_repeated_failures_total\{kind="ip"\} [1-9]/);
  });
});

describe('key-auth: revocation reaches another process within one second', () => {
  it('a second gateway on the same store stops the key after the 1 s directory TTL', async () => {
    const up = await startUpstream();
    const clock = new ManualClock(T0);
    const cfg = config(up.url, POLICIES);
    const a = await startGateway(cfg, { clock });
    const b = await startGateway(cfg, { clock, dataDir: a.dataDir });
    try {
      await consumer(a, 'carol');
      const k = await issue(a, 'carol');
      assert.equal((await call(`${b.url}/keyed`, { headers: { 'x-api-key': k.key } })).status, 200);
      assert.equal((await adminCall(a, 'DELETE', `/credentials/${k.credential.id}`)).status, 200);
      assert.equal((await call(`${a.url}/keyed`, { headers: { 'x-api-key': k.key } })).status, 401);
      clock.advance(1000);
      assert.equal((await call(`${b.url}/keyed`, { headers: { 'x-api-key': k.key } })).status, 401);
    } finally {
      await b.stop();
      await a.stop();
      await up.close();
    }
  });
});

describe('key-auth: the CLI', () => {
  it('issues, lists, rotates and revokes through the admin API', async () => {
    const up = await startUpstream();
    const g = await startGateway(config(up.url, POLICIES));
    const run = promisify(execFile);
    const cli = (...args: string[]) =>
      run(
        process.execPath,
        ['--import', 'tsx', 'src/cli/main.ts', 'credentials', ...args, '--admin-url', g.admin],
        {
          env: { ...process.env, PORTCULLIS_ADMIN_TOKEN: ADMIN_TOKEN },
        },
      );
    try {
      await consumer(g, 'dave');
      const issued = JSON.parse(
        (await cli('issue', 'dave', '--kind', 'key-auth', '--label', 'laptop', '--json')).stdout,
      );
      assert.match(issued.key, /^pcs_/);
      assert.equal((await call(`${g.url}/keyed`, { headers: { 'x-api-key': issued.key } })).status, 200);
      const listed = (await cli('list', '--consumer', 'dave')).stdout;
      assert.match(
        listed,
        new RegExp(`${issued.credential.id}  dave  key-auth  ${issued.credential.lookup}  active  laptop`),
      );
      assert.equal(listed.includes(issued.key), false);
      const rotated = (await cli('rotate', issued.credential.id)).stdout;
      const newKey = /key: (pcs_\S+)/.exec(rotated)![1];
      await cli('revoke', issued.credential.id);
      assert.equal((await call(`${g.url}/keyed`, { headers: { 'x-api-key': issued.key } })).status, 401);
      assert.equal((await call(`${g.url}/keyed`, { headers: { 'x-api-key': newKey } })).status, 200);
    } finally {
      await g.stop();
      await up.close();
    }
  });
});
