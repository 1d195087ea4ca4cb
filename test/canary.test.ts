import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bucketOf, inSlice } from '../src/canary/hash.js';
import { ManualClock } from '../src/core/clock.js';
import { accessLineOf } from './helpers/access-log.js';
import { adminCall, call, type Reply, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

const T0 = Date.parse('2026-03-01T10:00:00Z');

describe('canary: the stable hash', () => {
  it('puts the same key in the same bucket, every time', () => {
    for (const k of ['cred:Bearer abc', 'ip:10.0.0.1', 'ip:2001:db8::1', ''])
      assert.equal(bucketOf(k, 'salt'), bucketOf(k, 'salt'));
    assert.notEqual(bucketOf('ip:10.0.0.1', 'one canary'), bucketOf('ip:10.0.0.1', 'another canary'));
  });

  it('splits 2,000 distinct callers within 1.5 points of the percent (exact: the hash is deterministic)', () => {
    const keys = Array.from({ length: 2000 }, (_, i) => `ip:10.${(i >> 8) & 255}.${i & 255}.7`);
    const salt = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    const measured: Record<number, number> = {};
    for (const percent of [1, 5, 10, 25, 50, 90]) {
      const n = keys.filter((k) => inSlice(k, salt, percent)).length;
      measured[percent] = n / 20;
      assert.ok(Math.abs(n / 20 - percent) <= 1.5, `${percent}%: ${n / 20}%`);
    }
    // The measured shares, for the record (docs/canary.md).
    assert.deepEqual(Object.keys(measured).length, 6);
  });
});

describe('canary through the gateway', () => {
  let stableUp: Upstream;
  let canaryUp: Upstream;
  let failing: Upstream;
  let g: TestGateway;
  const clock = new ManualClock(T0);

  const config = (url: string, policies: unknown[] = []) => ({
    services: [{ name: 'svc', targets: [{ url }] }],
    routes: [{ name: 'api', service: 'svc', paths: ['/api'] }],
    policies,
    gateway: { trustedProxies: ['127.0.0.1/32'] },
  });
  const named = (name: string) => (_q: unknown, res: import('node:http').ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(name);
  };
  const from = (ip: string, extra: Record<string, string> = {}) =>
    call(`${g.url}/api`, { headers: { 'x-forwarded-for': ip, ...extra } });

  before(async () => {
    stableUp = await startUpstream(named('stable'));
    canaryUp = await startUpstream(named('canary'));
    failing = await startUpstream((_q, res) => {
      res.writeHead(500);
      res.end('broken');
    });
    g = await startGateway(config(stableUp.url), { clock });
  });
  after(async () => {
    await g.stop();
    await Promise.all([stableUp.close(), canaryUp.close(), failing.close()]);
  });

  it('refuses a canary without exactly one of percent or group', async () => {
    const r = await adminCall(g, 'POST', '/canary', { config: config(canaryUp.url) });
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'PCS_ERR_ADMIN_BAD_INPUT');
    assert.deepEqual(r.json.error.issues, [{ path: '/', message: 'give exactly one of percent or group' }]);
  });

  it('serves a sticky 30 % by client IP; the access log names the cohort and revision', async () => {
    const r = await adminCall(g, 'POST', '/canary', {
      config: config(canaryUp.url),
      percent: 30,
      sticky: 'ip',
      message: 'new upstream',
    });
    assert.equal(r.status, 201, r.text);
    const c = r.json.canary;
    assert.equal(c.revision.id, 2);
    assert.equal(c.slice.percent, 30);
    assert.equal(g.gw.revisions.active?.id, 1);

    const ips = Array.from({ length: 40 }, (_, i) => `198.51.100.${i + 1}`);
    const expected = ips.map((ip) => (inSlice(`ip:${ip}`, c.revision.hash, 30) ? 'canary' : 'stable'));
    let last: Reply | undefined;
    for (let round = 0; round < 2; round++) {
      const got = [];
      for (const ip of ips) {
        last = await from(ip);
        got.push(last.text);
      }
      assert.deepEqual(got, expected, `round ${round}`);
    }
    const line = await accessLineOf(g.access, last!);
    assert.equal(line.cohort, expected.at(-1));
    assert.equal(line.revision, expected.at(-1) === 'canary' ? 2 : 1);

    const status = (await adminCall(g, 'GET', '/status')).json;
    assert.deepEqual(status.canary, { id: 2, hash: c.revision.hash, slice: { sticky: 'ip', percent: 30 } });
    const view = (await adminCall(g, 'GET', '/canary')).json.canary;
    const inCanary = expected.filter((x) => x === 'canary').length;
    assert.equal(view.cohorts.canary.requests, inCanary * 2);
    assert.equal(view.cohorts.stable.requests, (40 - inCanary) * 2);
    assert.equal(view.cohorts.canary.rate5xx, 0);
    assert.equal(typeof view.cohorts.canary.p99Ms, 'number');
  });

  it('refuses an apply and a second canary while one runs (409)', async () => {
    const a = await adminCall(g, 'POST', '/config', config(failing.url));
    assert.equal(a.status, 409);
    assert.equal(a.json.error.code, 'PCS_ERR_CANARY_CONFLICT');
    const b = await adminCall(g, 'POST', '/canary', { config: config(failing.url), percent: 5 });
    assert.equal(b.status, 409);
    assert.equal(b.json.error.code, 'PCS_ERR_CANARY_CONFLICT');
  });

  it('promotes in one call: the canary becomes the active revision for everyone', async () => {
    const before = g.gw.revisions.active!.hash;
    const r = await adminCall(g, 'POST', '/canary/promote');
    assert.equal(r.status, 200);
    assert.equal(r.json.revision.id, 2);
    assert.equal(g.gw.revisions.active?.id, 2);
    let last: Reply | undefined;
    for (const ip of ['198.51.100.1', '198.51.100.2', '203.0.113.9']) {
      last = await from(ip);
      assert.equal(last.text, 'canary');
    }
    assert.equal((await accessLineOf(g.access, last!)).cohort, undefined);
    assert.equal((await adminCall(g, 'GET', '/canary')).json.canary, null);
    const ev = (await adminCall(g, 'GET', '/audit')).json.events.filter((e: { action: string }) =>
      e.action.startsWith('canary.'),
    );
    assert.deepEqual(
      ev.map((e: { action: string; actor: string; target: string }) => [e.action, e.actor, e.target]),
      [
        ['canary.start', 'root', 'revision/2'],
        ['canary.promote', 'root', 'revision/2'],
      ],
    );
    assert.equal(ev[1].beforeHash, before);
    assert.equal(ev[1].afterHash, g.gw.revisions.active?.hash);
  });

  it('aborts in one call: everyone back on the stable revision', async () => {
    const r = await adminCall(g, 'POST', '/canary', { config: config(stableUp.url), percent: 100 });
    assert.equal(r.status, 201);
    assert.equal((await from('192.0.2.1')).text, 'stable');
    const a = await adminCall(g, 'POST', '/canary/abort', { reason: 'not today' });
    assert.equal(a.status, 200);
    assert.equal(a.json.reason, 'not today');
    assert.equal((await from('192.0.2.1')).text, 'canary');
    assert.equal(g.gw.revisions.active?.id, 2);
    const again = await adminCall(g, 'POST', '/canary/abort');
    assert.equal(again.status, 404);
    const ev = (await adminCall(g, 'GET', '/audit')).json.events.at(-1);
    assert.equal(ev.action, 'canary.abort');
    assert.equal(ev.detail.reason, 'not today');
  });

  it('sticky by credential: the same key always lands in the same cohort', async () => {
    const r = await adminCall(g, 'POST', '/canary', { config: config(stableUp.url), percent: 50 });
    assert.equal(r.status, 201);
    const hash = r.json.canary.revision.hash;
    const keys = Array.from({ length: 30 }, (_, i) => `key-${i}`);
    for (const ip of ['192.0.2.1', '192.0.2.2']) {
      const got = [];
      for (const k of keys) got.push((await from(ip, { 'x-api-key': k })).text);
      // Same answer from every IP: the credential decides, not the address.
      assert.deepEqual(
        got,
        keys.map((k) => (inSlice(`cred:${k}`, hash, 50) ? 'stable' : 'canary')),
      );
    }
    assert.equal((await adminCall(g, 'POST', '/canary/abort')).status, 200);
  });

  it('rolls back automatically when the 5xx rate stays above its bound for the configured time', async () => {
    const r = await adminCall(g, 'POST', '/canary', {
      config: config(failing.url),
      percent: 100,
      rollback: { max5xxRate: 0.1, for: '30s', interval: '1h', minRequests: 5 },
    });
    assert.equal(r.status, 201, r.text);
    const id = r.json.canary.revision.id;
    const burst = async () => {
      for (let i = 0; i < 6; i++) assert.equal((await from(`192.0.2.${i + 10}`)).status, 500);
    };
    await burst();
    const first = await adminCall(g, 'POST', '/canary/evaluate');
    assert.equal(first.json.evaluation.verdict, 'breach');
    assert.deepEqual(first.json.evaluation.violations, ['rate5xx 1 > 0.1']);

    // An interval with too few canary requests neither clears nor extends the breach.
    clock.advance(10_000);
    assert.equal((await g.gw.revisions.evaluateCanary())?.verdict, 'inconclusive');

    clock.advance(20_000);
    await burst();
    const second = await g.gw.revisions.evaluateCanary();
    assert.equal(second?.verdict, 'rollback');
    assert.equal(g.gw.revisions.canary, undefined);
    assert.equal((await from('192.0.2.10')).text, 'canary');

    const ev = (await adminCall(g, 'GET', '/audit')).json.events.at(-1);
    assert.equal(ev.action, 'canary.rollback');
    assert.equal(ev.actor, 'canary-guard');
    assert.equal(ev.target, `revision/${id}`);
    assert.equal(ev.afterHash, g.gw.revisions.active?.hash);
    assert.deepEqual(ev.detail.violations, ['rate5xx 1 > 0.1']);
    assert.equal(ev.detail.measurements.requests, 6);
    assert.equal(ev.detail.measurements.rate5xx, 1);
    assert.equal(ev.detail.breachSince, new Date(T0).toISOString());
  });

  it('a consumer group canary: members on the canary, everyone else on stable', async () => {
    const withAuth = (url: string) =>
      config(url, [{ name: 'key-auth', scope: { route: 'api' }, config: {} }]);
    assert.equal((await adminCall(g, 'POST', '/config', withAuth(canaryUp.url))).status, 201);
    const keys: Record<string, string> = {};
    for (const [name, groups] of [
      ['beta-user', ['beta']],
      ['plain-user', []],
    ] as const) {
      assert.equal((await adminCall(g, 'POST', '/consumers', { name, groups })).status, 201);
      const k = await adminCall(g, 'POST', `/consumers/${name}/credentials`, { kind: 'key-auth' });
      keys[name] = k.json.key;
    }
    const r = await adminCall(g, 'POST', '/canary', { config: withAuth(stableUp.url), group: 'beta' });
    assert.equal(r.status, 201, r.text);
    let beta: Reply | undefined;
    for (let i = 0; i < 3; i++) {
      beta = await from('192.0.2.1', { 'x-api-key': keys['beta-user'] });
      assert.equal(beta.text, 'stable');
      assert.equal((await from('192.0.2.1', { 'x-api-key': keys['plain-user'] })).text, 'canary');
    }
    const betaLine = await accessLineOf(g.access, beta!);
    assert.deepEqual(
      [betaLine.consumer, betaLine.cohort, betaLine.revision],
      ['beta-user', 'canary', r.json.canary.revision.id],
    );
    assert.equal((await from('192.0.2.1')).status, 401);
    const view = (await adminCall(g, 'GET', '/canary')).json.canary;
    assert.equal(view.cohorts.canary.requests, 3);
    assert.equal(view.cohorts.stable.requests, 4);
    assert.equal(view.cohorts.stable.rate4xx, 0.25);
    assert.equal(view.cohorts.stable.denyRate, 0.25);
    assert.deepEqual(Object.keys(view.cohorts.stable.denyRateByPolicy), ['key-auth@route:api']);
    assert.equal((await adminCall(g, 'POST', '/canary/abort')).status, 200);
  });
  it('a rollback during a canary aborts the canary first (both audited)', async () => {
    assert.equal(
      (await adminCall(g, 'POST', '/canary', { config: config(failing.url), percent: 50 })).status,
      201,
    );
    const r = await adminCall(g, 'POST', '/revisions/1/rollback');
    assert.equal(r.status, 200);
    assert.equal(g.gw.revisions.canary, undefined);
    assert.equal(g.gw.revisions.active?.id, 1);
    const [abort, rollback] = (await adminCall(g, 'GET', '/audit')).json.events.slice(-2);
    assert.deepEqual(
      [abort.action, abort.detail.reason, rollback.action],
      ['canary.abort', 'rollback', 'revision.rollback'],
    );
  });
  it('a restart ends a running canary: all traffic on stable, closed in the audit log', async () => {
    const one = await startGateway(config(stableUp.url));
    const dataDir = one.dataDir;
    assert.equal(
      (await adminCall(one, 'POST', '/canary', { config: config(canaryUp.url), percent: 100 })).status,
      201,
    );
    assert.equal((await call(`${one.url}/api`)).text, 'canary');
    await one.stop();
    const two = await startGateway(undefined, { dataDir });
    try {
      assert.equal((await call(`${two.url}/api`)).text, 'stable');
      assert.equal((await adminCall(two, 'GET', '/canary')).json.canary, null);
      const ev = (await adminCall(two, 'GET', '/audit')).json.events.at(-1);
      assert.deepEqual(
        [ev.actor, ev.action, ev.target, ev.detail.reason],
        ['startup', 'canary.abort', 'revision/2', 'the gateway restarted while the canary ran'],
      );
    } finally {
      await two.stop();
    }
  });
  it('requests in flight on the canary finish after an abort (its upstream pools drain)', async () => {
    const slow = await startUpstream((_q, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('slow canary');
      }, 300);
    });
    const one = await startGateway(config(stableUp.url), { drainMs: 5000 });
    try {
      assert.equal(
        (await adminCall(one, 'POST', '/canary', { config: config(slow.url), percent: 100 })).status,
        201,
      );
      const inflight = call(`${one.url}/api`);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal((await adminCall(one, 'POST', '/canary/abort')).status, 200);
      const r = await inflight;
      assert.deepEqual([r.status, r.text], [200, 'slow canary']);
      assert.equal((await call(`${one.url}/api`)).text, 'stable');
    } finally {
      await one.stop();
      await slow.close();
    }
  });
});
