import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../src/core/clock.js';
import { Ewma, Lru, Track } from '../src/policies/anomaly-detection/baseline.js';
import { accessLine } from './helpers/access-log.js';
import { call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

describe('anomaly-detection: baselines', () => {
  it('learns only windows with traffic and without a flag', () => {
    const t = new Track(0, 0.5);
    t.count = 4;
    t.roll(1000, 1000);
    assert.equal(t.windows, 1);
    assert.equal(t.rate.mean, 4);
    t.roll(5500, 1000); // idle windows are skipped, not learned as zeros
    assert.equal(t.windows, 1);
    assert.equal(t.windowStart, 5000);
    t.count = 50;
    t.reported.add('rate');
    t.roll(6000, 1000);
    assert.equal(t.windows, 1);
    assert.equal(t.rate.mean, 4);
  });
  it('EWMA limit is the largest of mean + k·sd, factor·mean and the floor', () => {
    const e = new Ewma(0.5);
    e.add(10, true);
    e.add(20, false);
    assert.equal(e.mean, 15);
    assert.equal(e.variance, 25);
    assert.equal(e.limit(3, 1, 0), 30);
    assert.equal(e.limit(1, 3, 0), 45);
    assert.equal(e.limit(1, 1, 100), 100);
  });
  it('keeps at most max entries, forgetting the least recently seen', () => {
    const l = new Lru<number>(3);
    for (const k of ['a', 'b', 'c']) l.set(k, 1);
    l.get('a');
    l.set('d', 1);
    assert.deepEqual([l.has('a'), l.has('b'), l.has('c'), l.has('d'), l.size], [true, false, true, true, 3]);
  });
});

describe('anomaly-detection through the gateway', () => {
  let up: Upstream;
  before(async () => {
    up = await startUpstream((req, res) => {
      res.writeHead(req.url?.startsWith('/missing') ? 404 : 200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  after(() => up?.close());

  const config = (mode: string) => ({
    gateway: { trustedProxies: ['127.0.0.1'] },
    services: [{ name: 'app', targets: [{ url: up.url }] }],
    routes: [{ name: 'all', service: 'app', paths: ['/'] }],
    policies: [
      {
        name: 'anomaly-detection',
        mode,
        config: {
          windowMs: 1000,
          learningWindows: 3,
          floors: { rate: 5, endpoints: 5, errorRatio: 0.5 },
          penalty: { requests: 1, perSeconds: 60, durationMs: 10000 },
        },
      },
    ],
  });

  let seq = 0;
  let lastId = '';
  /** Requests from one client IP; waits for each one's log line (the log phase runs after the answer). */
  async function send(t: TestGateway, ip: string, paths: string[]) {
    const out: number[] = [];
    for (const p of paths) {
      lastId = `anomaly-${++seq}`;
      out.push(
        (await call(`${t.url}${p}`, { headers: { 'x-forwarded-for': ip, 'x-request-id': lastId } })).status,
      );
      await accessLine(t.access, lastId);
    }
    return out;
  }
  /** The access-log line of the last request `send` made. */
  const lastLine = (t: TestGateway) => accessLine(t.access, lastId);
  const times = (n: number, p: string | ((i: number) => string)) =>
    Array.from({ length: n }, (_, i) => (typeof p === 'string' ? p : p(i)));
  const events = (t: TestGateway) =>
    t.logs.lines.filter((l) => l.security_event && l.type === 'anomaly.detected') as Record<string, any>[];

  async function learn(t: TestGateway, clock: ManualClock, ips: string[]) {
    for (let w = 0; w < 3; w++) {
      for (const ip of ips) await send(t, ip, ['/a', '/a', '/b']);
      clock.advance(1000);
    }
  }

  it('enforce: flags a rate spike, limits the consumer for a while, then lets it go', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const t = await startGateway(config('enforce'), { clock });
    try {
      await learn(t, clock, ['10.0.0.1', '10.0.0.2']);
      // Baseline 3 per window: the limit is max(3 + 3·0, 3·3, 5) = 9.
      assert.deepEqual(await send(t, '10.0.0.1', times(10, '/a')), Array(10).fill(200));
      const [ev] = events(t);
      assert.equal(ev.subject, 'ip:10.0.0.1');
      assert.deepEqual(
        [ev.detail.signal, ev.detail.value, ev.detail.limit, ev.detail.baseline],
        ['rate', 10, 9, 3],
      );
      // Flagged: 1 request per minute.
      assert.deepEqual(await send(t, '10.0.0.1', ['/a', '/a']), [200, 429]);
      const last = await lastLine(t);
      assert.deepEqual(
        [last.decisions[0].rule, last.decisions[0].code],
        ['anomaly:rate', 'PCS_ERR_RATE_LIMITED'],
      );
      // Another client is not affected.
      assert.deepEqual(await send(t, '10.0.0.2', ['/a']), [200]);
      clock.advance(10_000);
      assert.deepEqual(await send(t, '10.0.0.1', ['/a']), [200]);
    } finally {
      await t.stop();
    }
  });

  it('flags endpoint enumeration and an error burst', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const t = await startGateway(config('enforce'), { clock });
    try {
      await learn(t, clock, ['10.0.0.3', '10.0.0.4']);
      // 2 distinct endpoints per window so far: 7 (limit max(2·3, 5) = 6), within the rate limit of 9.
      await send(
        t,
        '10.0.0.3',
        times(7, (i) => `/users/${i}`),
      );
      assert.equal(events(t)[0]?.detail.signal, 'endpoints');
      assert.equal(events(t)[0].detail.value, 7);
      await send(t, '10.0.0.4', times(9, '/missing'));
      const ev = events(t).find((e) => e.subject === 'ip:10.0.0.4');
      assert.equal(ev?.detail.signal, 'errors');
    } finally {
      await t.stop();
    }
  });

  it('shadow: flags and records would_deny but does not limit', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const t = await startGateway(config('shadow'), { clock });
    try {
      await learn(t, clock, ['10.0.0.5']);
      await send(t, '10.0.0.5', times(10, '/a'));
      assert.equal(events(t).length, 1);
      assert.deepEqual(await send(t, '10.0.0.5', ['/a', '/a']), [200, 200]);
      const d = (await lastLine(t)).decisions[0];
      assert.deepEqual([d.outcome, d.rule], ['would_deny', 'anomaly:rate']);
    } finally {
      await t.stop();
    }
  });

  it('off: observes nothing', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const t = await startGateway(config('off'), { clock });
    try {
      await learn(t, clock, ['10.0.0.6']);
      await send(t, '10.0.0.6', times(12, '/a'));
      assert.equal(events(t).length, 0);
      assert.equal((await lastLine(t)).decisions, undefined);
    } finally {
      await t.stop();
    }
  });
});
