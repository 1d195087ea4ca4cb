import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../src/core/clock.js';
import { adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

const T0 = Date.parse('2026-04-01T08:00:00Z');

const waf = (id: string, pattern: string) => ({
  name: 'waf',
  scope: { route: 'api' },
  config: { rules: [{ id, category: 'custom', pattern, score: 5, targets: ['query'] }] },
});

/** Config A: keys with a guest fallback, and a WAF rule that blocks `debugdump`. */
function configA(upstream: string) {
  return {
    services: [{ name: 'echo', targets: [{ url: upstream }] }],
    routes: [{ name: 'api', service: 'echo', paths: ['/api'] }],
    policies: [{ name: 'key-auth', config: { anonymous: 'guest' } }, waf('block-debug', 'debugdump')],
    gateway: { requestLog: { enabled: true } },
  };
}

/**
 * Candidate B: 3 requests a minute per consumer, the WAF rule swapped for one that blocks
 * `exportall`, and a shadow ip-restriction that would deny loopback.
 */
function configB(upstream: string) {
  const a = configA(upstream);
  return {
    ...a,
    policies: [
      a.policies[0],
      waf('block-export', 'exportall'),
      { name: 'rate-limit', config: { key: ['consumer'], limits: [{ requests: 3, per: '1m' }] } },
      { name: 'ip-restriction', mode: 'shadow', config: { deny: ['127.0.0.0/8'] } },
    ],
  };
}

interface Step {
  at: number;
  path: string;
  key?: 'alice' | 'bob' | 'wrong';
}

const TRAFFIC: Step[] = [
  { at: 0, path: '/api', key: 'alice' },
  { at: 1, path: '/api', key: 'alice' },
  { at: 2, path: '/api', key: 'alice' },
  { at: 3, path: '/api', key: 'alice' }, // B: fourth in a minute, 429
  { at: 4, path: '/api?fmt=exportall', key: 'bob' }, // B: blocked by the new WAF rule
  { at: 5, path: '/api' }, // guest
  { at: 6, path: '/api', key: 'wrong' }, // 401 under both (auth is not re-run, the record stands)
  { at: 7, path: '/nope', key: 'alice' }, // 404 under both
  { at: 70, path: '/api', key: 'alice' }, // the bucket refilled: the recorded time counts
  { at: 71, path: '/api?mode=debugdump', key: 'bob' }, // A: blocked; B: allowed
];

describe('replay through the gateway', () => {
  let up: Upstream;
  let t: TestGateway;
  const clock = new ManualClock(T0);
  const keys: Record<string, string> = { wrong: 'pcs_nothere0_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' };

  async function send(): Promise<number[]> {
    const statuses: number[] = [];
    for (const s of TRAFFIC) {
      clock.set(T0 + s.at * 1000);
      const headers: Record<string, string> = s.key ? { 'x-api-key': keys[s.key] } : {};
      statuses.push((await call(`${t.url}${s.path}`, { headers })).status);
    }
    return statuses;
  }

  before(async () => {
    up = await startUpstream();
    t = await startGateway(configA(up.url), { clock });
    for (const name of ['alice', 'bob', 'guest']) await adminCall(t, 'POST', '/consumers', { name });
    for (const name of ['alice', 'bob'])
      keys[name] = (
        await adminCall(t, 'POST', `/consumers/${name}/credentials`, { kind: 'key-auth' })
      ).json.key;
  });
  after(async () => {
    await t.stop();
    await up.close();
  });

  it('reports the changes of a candidate, and they match a live run of the same traffic', async () => {
    const underA = await send();
    assert.deepEqual(underA, [200, 200, 200, 200, 200, 200, 401, 404, 200, 403]);

    const r = await adminCall(t, 'POST', '/replay', {
      candidate: configB(up.url),
      since: '1h',
      requests: 100,
      failOnNewlyDenied: '10%',
    });
    assert.equal(r.status, 200, r.text);
    const rep = r.json;
    assert.equal(rep.replayed, 10);
    assert.equal(rep.currentMismatch, 0, 'replaying the current revision reproduces what happened');
    assert.equal(rep.newlyDenied, 2);
    assert.equal(rep.newlyAllowed, 1);
    assert.equal(rep.newlyDeniedPercent, 20);
    assert.deepEqual(rep.threshold, { newlyDeniedPercent: 10, crossed: true });
    assert.deepEqual(
      rep.byPolicy.map((b: { key: string; newlyDenied: number; newlyAllowed: number }) => [
        b.key,
        b.newlyDenied,
        b.newlyAllowed,
      ]),
      [
        ['waf', 1, 1],
        ['rate-limit', 1, 0],
      ],
    );
    assert.deepEqual(
      rep.byConsumer.map((b: { key: string }) => b.key),
      ['bob', 'alice'],
    );
    const denied = rep.examples.newlyDenied.map(
      (e: { path: string; consumer: string; candidate: { code: string } }) => [
        e.path,
        e.consumer,
        e.candidate.code,
      ],
    );
    assert.deepEqual(denied, [
      ['/api', 'alice', 'PCS_ERR_RATE_LIMITED'],
      ['/api', 'bob', 'PCS_ERR_WAF_BLOCKED'],
    ]);
    assert.equal(rep.examples.newlyAllowed[0].current.code, 'PCS_ERR_WAF_BLOCKED');
    assert.deepEqual(
      rep.shadow.map((s: { policy: string; current: number; candidate: number }) => [
        s.policy,
        s.current,
        s.candidate,
      ]),
      [['ip-restriction', 0, 9]],
    );
    assert.deepEqual(rep.notReplayable, []);

    // Now apply B and send the same traffic at the same times: outcome for outcome, the same.
    const applied = await adminCall(t, 'POST', '/config', configB(up.url));
    assert.equal(applied.status, 201, applied.text);
    const live = await send();
    const predicted = rep.requests.map((x: { candidate: { result: string; status?: number } }) =>
      x.candidate.result === 'deny' ? x.candidate.status : 200,
    );
    assert.deepEqual(live, [200, 200, 200, 429, 403, 200, 401, 404, 200, 200]);
    assert.deepEqual(predicted, live);
  });

  it('flags auth policy changes as not replayable, refuses a bad candidate and a bad range', async () => {
    const c = configB(up.url);
    c.policies[0] = { name: 'key-auth', config: { anonymous: 'guest', header: 'x-key' } } as never;
    const r = await adminCall(t, 'POST', '/replay', { candidate: c, since: '1h' });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(
      r.json.notReplayable.map((n: { policy: string; change: string }) => [n.policy, n.change]),
      [['key-auth (global)', 'changed']],
    );
    const bad = await adminCall(t, 'POST', '/replay', { candidate: 'routes: [{name: x}]', since: '1h' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.code, 'PCS_ERR_CONFIG_INVALID');
    assert.ok(bad.json.error.issues.length > 0);
    const range = await adminCall(t, 'POST', '/replay', { candidate: c, since: 'yesterday' });
    assert.equal(range.status, 400);
    assert.equal(range.json.error.code, 'PCS_ERR_ADMIN_BAD_INPUT');
  });

  it('streams progress lines then the report as NDJSON', async () => {
    const r = await adminCall(
      t,
      'POST',
      '/replay',
      { candidate: configA(up.url), since: '1h' },
      { accept: 'application/x-ndjson' },
    );
    assert.equal(r.status, 200);
    const lines = r.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(lines[0], { progress: { done: 0, total: 20 } });
    assert.deepEqual(lines.at(-2), { progress: { done: 20, total: 20 } });
    assert.equal(lines.at(-1).report.replayed, 20);
  });
});

describe('replay of recorded bodies', () => {
  let up: Upstream;
  let t: TestGateway;

  const config = (rules: unknown[]) => ({
    services: [{ name: 'echo', targets: [{ url: up.url }] }],
    routes: [{ name: 'notes', service: 'echo', paths: ['/notes'] }],
    policies: [{ name: 'waf', config: { rules } }],
    gateway: { requestLog: { enabled: true, captureBody: { enabled: true } } },
  });

  before(async () => {
    up = await startUpstream();
    t = await startGateway(config([]));
  });
  after(async () => {
    await t.stop();
    await up.close();
  });

  it('runs a body rule on the recorded body; masked fields are not there to match', async () => {
    const post = (body: object) =>
      call(`${t.url}/notes`, {
        method: 'POST',
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      });
    assert.equal((await post({ note: 'launch codes' })).status, 200);
    assert.equal((await post({ password: 'launch codes' })).status, 200);
    assert.equal((await post({ note: 'lunch' })).status, 200);
    const rule = {
      id: 'no-launch',
      category: 'custom',
      pattern: 'launch codes',
      score: 5,
      targets: ['body'],
    };
    const r = await adminCall(t, 'POST', '/replay', { candidate: config([rule]), since: '1h', requests: 10 });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(
      r.json.requests.map((x: { change: string; candidate: { rule?: string } }) => [
        x.change,
        x.candidate.rule,
      ]),
      [
        ['newly_denied', 'no-launch'],
        ['unchanged', undefined],
        ['unchanged', undefined],
      ],
    );
  });
});
