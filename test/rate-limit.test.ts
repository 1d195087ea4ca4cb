import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Type as T } from '@sinclair/typebox';
import { validator } from '../src/config/ajv.js';
import { ManualClock } from '../src/core/clock.js';
import type { PolicyContext } from '../src/core/context.js';
import { definePolicy } from '../src/core/policy.js';
import { CounterStoreUnavailableError } from '../src/counters/counter-store.js';
import { MemoryCounterStore } from '../src/counters/memory.js';
import { rateLimit } from '../src/policies/rate-limit/policy.js';
import { RateLimitSchema } from '../src/policies/rate-limit/schema.js';
import { accessLineOf } from './helpers/access-log.js';
import { adminCall, call, type Reply, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

/** Sets the consumer from `x-user` and a `tenant` claim from `x-tenant`: stands in for key-auth / jwt. */
const fakeAuth = definePolicy({
  name: 'fake-auth',
  description: 'test only',
  schema: T.Object({}),
  priority: 0,
  create() {
    return {
      auth: function fakeAuth(ctx: PolicyContext) {
        const user = ctx.request.headers['x-user'];
        if (typeof user !== 'string') return undefined;
        ctx.setConsumer({ id: user, name: user, groups: [], metadata: {} });
        const tenant = ctx.request.headers['x-tenant'];
        ctx.setIdentity({
          method: 'fake',
          credential: `cred-${user}`,
          claims: typeof tenant === 'string' ? { tenant } : {},
        });
        return undefined;
      },
    };
  },
});

// Monday 15 January 2024, 12:00:00 UTC: whole seconds, so window arithmetic is exact.
const T0 = Date.UTC(2024, 0, 15, 12, 0, 0);

function config(upstream: string, policies: unknown[]) {
  return {
    services: [{ name: 'echo', targets: [{ url: upstream }] }],
    routes: [
      { name: 'hello', service: 'echo', paths: ['/hello'] },
      { name: 'other', service: 'echo', paths: ['/other'] },
    ],
    policies,
  };
}

interface LoggedDecision {
  policy: string;
  outcome: string;
  code?: string;
  rule?: string;
}

/** The rate-limit decision of an access-log line. */
function rlDecision(line: unknown): LoggedDecision {
  const d = (line as { decisions: LoggedDecision[] }).decisions.find((x) => x.policy === 'rate-limit');
  assert.ok(d, 'no rate-limit decision logged');
  return d;
}

const rl = (cfg: unknown, extra: Record<string, unknown> = {}) => ({
  name: 'rate-limit',
  mode: 'enforce',
  config: cfg,
  ...extra,
});

describe('rate-limit: schema', () => {
  const valid = validator(RateLimitSchema);
  it('accepts rates, quotas, composite keys and store settings', () => {
    assert.equal(valid({ limits: [{ requests: 10, per: '1s' }] }), true);
    assert.equal(
      valid({
        limits: [
          { requests: 10, per: '1s', burst: 20 },
          { requests: 1000, per: '1h', algorithm: 'sliding-window', name: 'hourly' },
          { requests: 5000, period: 'month', timeZone: 'Europe/Paris' },
        ],
        key: ['consumer', 'route', { header: 'x-tenant' }, { claim: 'org' }],
        onMissingKey: 'skip',
        onStoreError: 'deny',
        cost: 2,
        headers: false,
        status: 503,
      }),
      true,
    );
  });
  it('refuses unknown keys, empty limits, bad windows and unknown key parts', () => {
    assert.equal(valid({ limits: [] }), false);
    assert.equal(valid({ limits: [{ requests: 10, per: '1 second' }] }), false);
    assert.equal(valid({ limits: [{ requests: 0, per: '1s' }] }), false);
    assert.equal(valid({ limits: [{ requests: 1, per: '1s' }], key: ['cookie'] }), false);
    assert.equal(valid({ limits: [{ requests: 1, per: '1s', window: '1s' }] }), false);
    assert.equal(valid({ limits: [{ requests: 1, per: '1s' }], onStoreError: 'open' }), false);
  });
  it('refuses at create what the schema cannot say, naming the limit', () => {
    const deps = { counters: new MemoryCounterStore(new ManualClock()), metrics: { counter: () => ({}) } };
    const make = (c: unknown) => rateLimit.create(c as never, deps as never);
    assert.throws(() => make({ limits: [{ requests: 1 }] }), /^Error: limits\/0: set exactly one of 'per'/);
    assert.throws(
      () => make({ limits: [{ requests: 1, per: '1s', period: 'day' }] }),
      /limits\/0: set exactly one/,
    );
    assert.throws(
      () => make({ limits: [{ requests: 1, period: 'day', timeZone: 'Mars/Olympus' }] }),
      /limits\/0\/timeZone: 'Mars\/Olympus' is not an IANA time zone/,
    );
    assert.throws(
      () => make({ limits: [{ requests: 1, period: 'day', burst: 3 }] }),
      /limits\/0: 'algorithm' and 'burst'/,
    );
    assert.throws(
      () => make({ limits: [{ requests: 1, per: '1s', algorithm: 'sliding-window', burst: 2 }] }),
      /'burst' applies to the gcra algorithm only/,
    );
    assert.throws(
      () =>
        make({
          limits: [
            { requests: 1, per: '1s' },
            { requests: 2, per: '1s' },
          ],
        }),
      /limits\/1: same counter as limits\/0 \('gcra:1s'\)/,
    );
  });
});

describe('rate-limit: through the gateway (memory store, injected clock)', () => {
  let up: Upstream;
  let clock: ManualClock;
  let t: TestGateway;
  const start = async (policies: unknown[]) => {
    clock = new ManualClock(T0);
    const auth = { name: 'fake-auth', mode: 'enforce', config: {} };
    t = await startGateway(config(up.url, [auth, ...policies]), { clock, policies: [fakeAuth] });
  };
  before(async () => {
    up = await startUpstream();
  });
  after(async () => {
    await up.close();
  });

  it('GCRA: a burst of 3 per second, headers on every answer, 429 with Retry-After, refill', async () => {
    await start([rl({ limits: [{ requests: 3, per: '1s' }] })]);
    try {
      const expected = ['"gcra:1s";r=2;t=1', '"gcra:1s";r=1;t=1', '"gcra:1s";r=0;t=1'];
      for (const e of expected) {
        const r = await call(`${t.url}/hello`);
        assert.equal(r.status, 200);
        assert.equal(r.headers['ratelimit-policy'], '"gcra:1s";q=3;w=1');
        assert.equal(r.headers.ratelimit, e);
      }
      const denied = await call(`${t.url}/hello`);
      assert.equal(denied.status, 429);
      assert.equal(denied.json.error.code, 'PCS_ERR_RATE_LIMITED');
      assert.equal(denied.headers['retry-after'], '1');
      assert.equal(denied.headers['ratelimit-policy'], '"gcra:1s";q=3;w=1');
      assert.equal(denied.headers.ratelimit, '"gcra:1s";r=0;t=1');
      assert.equal(up.seen.length, 3);
      // One unit comes back every 333.3 ms.
      clock.advance(333);
      const early = await call(`${t.url}/hello`);
      assert.equal(early.status, 429);
      clock.advance(1);
      const again = await call(`${t.url}/hello`);
      assert.equal(again.status, 200);
      assert.equal(again.headers.ratelimit, '"gcra:1s";r=0;t=1');
      assert.equal(rlDecision(await accessLineOf(t.access, early)).rule, 'gcra:1s');
    } finally {
      await t.stop();
      up.seen.length = 0;
    }
  });

  it('GCRA with a burst larger than the rate, and a cost per request', async () => {
    await start([rl({ limits: [{ requests: 2, per: '1s', burst: 6 }], cost: 2 })]);
    try {
      const seen = [];
      for (let i = 0; i < 4; i++) {
        const r = await call(`${t.url}/hello`);
        seen.push(`${r.status} ${r.headers.ratelimit}`);
      }
      assert.deepEqual(seen, [
        '200 "gcra:1s";r=4;t=1',
        '200 "gcra:1s";r=2;t=2',
        '200 "gcra:1s";r=0;t=3',
        '429 "gcra:1s";r=0;t=3',
      ]);
    } finally {
      await t.stop();
    }
  });

  it('two limits in one policy: a request denied by one is not counted by the other', async () => {
    await start([
      rl({
        limits: [
          { requests: 5, per: '1s' },
          { requests: 7, per: '1h', algorithm: 'sliding-window', name: 'hourly' },
        ],
      }),
    ]);
    try {
      const policy = '"gcra:1s";q=5;w=1, "hourly";q=7;w=3600';
      for (let i = 0; i < 5; i++) assert.equal((await call(`${t.url}/hello`)).status, 200);
      const d1 = await call(`${t.url}/hello`);
      assert.equal(d1.status, 429);
      assert.equal(d1.headers['ratelimit-policy'], policy);
      // The hourly window was not spent by the denied request: 2 left.
      assert.equal(d1.headers.ratelimit, '"gcra:1s";r=0;t=1, "hourly";r=2;t=7200');
      clock.advance(1000);
      assert.equal((await call(`${t.url}/hello`)).status, 200);
      const last = await call(`${t.url}/hello`);
      assert.equal(last.headers.ratelimit, '"gcra:1s";r=3;t=1, "hourly";r=0;t=7199');
      const d2 = await call(`${t.url}/hello`);
      assert.equal(d2.status, 429);
      assert.equal(d2.json.error.code, 'PCS_ERR_RATE_LIMITED');
      // All 7 are in the current hour: one more fits when, in the next hour, their weight is 6,
      // a seventh of the way in: 3599 s + 3600 / 7 s = 4113.3 s.
      assert.equal(d2.headers['retry-after'], '4114');
      assert.equal(rlDecision(await accessLineOf(t.access, d2)).rule, 'hourly');
    } finally {
      await t.stop();
    }
  });

  it('sliding window: the previous window counts by its overlap', async () => {
    await start([rl({ limits: [{ requests: 4, per: '1m', algorithm: 'sliding-window' }] })]);
    try {
      for (let i = 0; i < 4; i++) assert.equal((await call(`${t.url}/hello`)).status, 200);
      assert.equal((await call(`${t.url}/hello`)).status, 429);
      // 15 s into the next minute, the previous 4 weigh 4 * 45/60 = 3: one more fits.
      clock.advance(75_000);
      const ok = await call(`${t.url}/hello`);
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.ratelimit, '"sliding:1m";r=0;t=105');
      const d = await call(`${t.url}/hello`);
      assert.equal(d.status, 429);
      // The previous window must weigh <= 2: at 30 s into this minute, 15 s from now.
      assert.equal(d.headers['retry-after'], '15');
      clock.advance(15_000);
      assert.equal((await call(`${t.url}/hello`)).status, 200);
    } finally {
      await t.stop();
    }
  });

  it('calendar quota: a day in Europe/Paris, 23 hours long on the DST change', async () => {
    await start([rl({ limits: [{ requests: 2, period: 'day', timeZone: 'Europe/Paris' }] })]);
    try {
      // 2024-03-30 22:30 UTC is 23:30 in Paris (CET): the day ends in 30 minutes.
      clock.set(Date.UTC(2024, 2, 30, 22, 30));
      const a = await call(`${t.url}/hello`);
      assert.equal(a.headers['ratelimit-policy'], '"quota:day:Europe/Paris";q=2;w=86400');
      assert.equal(a.headers.ratelimit, '"quota:day:Europe/Paris";r=1;t=1800');
      assert.equal((await call(`${t.url}/hello`)).status, 200);
      const d = await call(`${t.url}/hello`);
      assert.equal(d.status, 429);
      assert.equal(d.headers['retry-after'], '1800');
      // Midnight in Paris: a new quota. 31 March 2024 has 23 hours (clocks go forward).
      clock.set(Date.UTC(2024, 2, 30, 23, 0));
      const n = await call(`${t.url}/hello`);
      assert.equal(n.status, 200);
      assert.equal(n.headers['ratelimit-policy'], '"quota:day:Europe/Paris";q=2;w=82800');
      assert.equal(n.headers.ratelimit, '"quota:day:Europe/Paris";r=1;t=82800');
    } finally {
      await t.stop();
    }
  });

  it('calendar quota: a month in UTC', async () => {
    await start([rl({ limits: [{ requests: 1, period: 'month' }] })]);
    try {
      clock.set(Date.UTC(2024, 1, 29, 23, 59, 0));
      const a = await call(`${t.url}/hello`);
      assert.equal(a.headers['ratelimit-policy'], '"quota:month:UTC";q=1;w=2505600');
      const d = await call(`${t.url}/hello`);
      assert.equal(d.status, 429);
      assert.equal(d.headers['retry-after'], '60');
      clock.set(Date.UTC(2024, 2, 1));
      assert.equal((await call(`${t.url}/hello`)).status, 200);
    } finally {
      await t.stop();
    }
  });

  it('keys: per consumer, per claim, per header and route (composite), missing parts fall back to the IP or skip', async () => {
    await start([
      rl(
        { limits: [{ requests: 1, per: '1m' }], key: ['consumer'] },
        { id: 'by-consumer', scope: { route: 'hello' } },
      ),
      rl(
        { limits: [{ requests: 1, per: '1m' }], key: [{ claim: 'tenant' }], onMissingKey: 'skip' },
        { id: 'by-tenant', scope: { route: 'other' } },
      ),
    ]);
    try {
      const as = (user: string, path = '/hello', tenant?: string) =>
        call(`${t.url}${path}`, { headers: { 'x-user': user, ...(tenant ? { 'x-tenant': tenant } : {}) } });
      assert.equal((await as('alice')).status, 200);
      assert.equal((await as('alice')).status, 429);
      assert.equal((await as('bob')).status, 200);
      // No consumer: the client IP stands in.
      assert.equal((await call(`${t.url}/hello`)).status, 200);
      assert.equal((await call(`${t.url}/hello`)).status, 429);
      // Per tenant claim on /other: alice and bob share tenant acme.
      assert.equal((await as('alice', '/other', 'acme')).status, 200);
      assert.equal((await as('bob', '/other', 'acme')).status, 429);
      assert.equal((await as('bob', '/other', 'globex')).status, 200);
      // No claim and onMissingKey skip: not limited, no headers.
      const skipped = await as('carol', '/other');
      assert.equal(skipped.status, 200);
      assert.equal(skipped.headers.ratelimit, undefined);
      assert.equal((await as('carol', '/other')).status, 200);
    } finally {
      await t.stop();
    }
    await start([rl({ limits: [{ requests: 1, per: '1m' }], key: [{ header: 'x-api-key' }, 'route'] })]);
    try {
      const h = (k: string, path: string) => call(`${t.url}${path}`, { headers: { 'x-api-key': k } });
      assert.equal((await h('k1', '/hello')).status, 200);
      assert.equal((await h('k1', '/hello')).status, 429);
      assert.equal((await h('k1', '/other')).status, 200);
      assert.equal((await h('k2', '/hello')).status, 200);
    } finally {
      await t.stop();
    }
  });

  it('two route-scoped instances with the same config keep separate counters', async () => {
    await start([
      rl({ limits: [{ requests: 1, per: '1m' }] }, { scope: { route: 'hello' } }),
      rl({ limits: [{ requests: 1, per: '1m' }] }, { scope: { route: 'other' } }),
    ]);
    try {
      assert.equal((await call(`${t.url}/hello`)).status, 200);
      assert.equal((await call(`${t.url}/hello`)).status, 429);
      assert.equal((await call(`${t.url}/other`)).status, 200);
    } finally {
      await t.stop();
    }
  });

  it('shadow: would-deny is logged and counted, the request passes, no headers; off: nothing', async () => {
    await start([rl({ limits: [{ requests: 1, per: '1m' }] }, { mode: 'shadow' })]);
    try {
      assert.equal((await call(`${t.url}/hello`)).status, 200);
      const r = await call(`${t.url}/hello`);
      assert.equal(r.status, 200);
      assert.equal(r.headers.ratelimit, undefined);
      assert.equal(r.headers['retry-after'], undefined);
      const d = rlDecision(await accessLineOf(t.access, r));
      assert.deepEqual([d.outcome, d.code, d.rule], ['would_deny', 'PCS_ERR_RATE_LIMITED', 'gcra:1m']);
      const metrics = (await call(`${t.admin}/metrics`)).text;
      assert.match(metrics, /portcullis_rate_limited_total\{policy="rate-limit",limit="gcra:1m"\} 1/);
    } finally {
      await t.stop();
    }
    await start([rl({ limits: [{ requests: 1, per: '1m' }] }, { mode: 'off' })]);
    try {
      for (let i = 0; i < 3; i++) {
        const r = await call(`${t.url}/hello`);
        assert.equal(r.status, 200);
        assert.equal(r.headers.ratelimit, undefined);
      }
    } finally {
      await t.stop();
    }
  });

  it('a new revision that changes a limit: counts carry over under the same key, never the old limit', async () => {
    await start([rl({ limits: [{ requests: 5, per: '1m', algorithm: 'sliding-window' }] })]);
    try {
      for (let i = 0; i < 5; i++) assert.equal((await call(`${t.url}/hello`)).status, 200);
      assert.equal((await call(`${t.url}/hello`)).status, 429);
      // Raised to 8: the 5 already counted stay, 3 more fit at once.
      const apply = async (limits: unknown[]) =>
        assert.equal((await adminCall(t, 'POST', '/config', config(up.url, [rl({ limits })]))).status, 201);
      await apply([{ requests: 8, per: '1m', algorithm: 'sliding-window' }]);
      const r = await call(`${t.url}/hello`);
      assert.equal(r.status, 200);
      assert.equal(r.headers['ratelimit-policy'], '"sliding:1m";q=8;w=60');
      assert.equal(r.headers.ratelimit, '"sliding:1m";r=2;t=120');
      assert.equal((await call(`${t.url}/hello`)).status, 200);
      assert.equal((await call(`${t.url}/hello`)).status, 200);
      assert.equal((await call(`${t.url}/hello`)).status, 429);
      // Lowered to 4: 8 counted, denied at once.
      await apply([{ requests: 4, per: '1m', algorithm: 'sliding-window' }]);
      const low = await call(`${t.url}/hello`);
      assert.equal(low.status, 429);
      assert.equal(low.headers['ratelimit-policy'], '"sliding:1m";q=4;w=60');
      // A different window is a different counter: it starts empty.
      await apply([{ requests: 4, per: '2m', algorithm: 'sliding-window' }]);
      assert.equal((await call(`${t.url}/hello`)).headers.ratelimit, '"sliding:2m";r=3;t=240');
    } finally {
      await t.stop();
    }
  });

  it('a new revision that changes a GCRA rate re-scales: the used share of the window carries over', async () => {
    await start([rl({ limits: [{ requests: 4, per: '1m', name: 'api' }] })]);
    try {
      for (let i = 0; i < 2; i++) assert.equal((await call(`${t.url}/hello`)).status, 200);
      // Half of the window used (2 of 4) -> half of the new limit used (4 of 8).
      const res = await adminCall(
        t,
        'POST',
        '/config',
        config(up.url, [rl({ limits: [{ requests: 8, per: '1m', name: 'api' }] })]),
      );
      assert.equal(res.status, 201);
      const r = await call(`${t.url}/hello`);
      assert.equal(r.headers['ratelimit-policy'], '"api";q=8;w=60');
      assert.equal(r.headers.ratelimit, '"api";r=3;t=38');
    } finally {
      await t.stop();
    }
  });

  it('counter store failure: fails open by default, closed with onStoreError deny, counted', async () => {
    const broken = new MemoryCounterStore(new ManualClock(T0));
    broken.limit = async () => {
      throw new CounterStoreUnavailableError('counter store (redis) limit: connection refused');
    };
    clock = new ManualClock(T0);
    t = await startGateway(
      config(up.url, [
        rl({ limits: [{ requests: 1, per: '1s' }] }, { scope: { route: 'hello' } }),
        rl(
          { limits: [{ requests: 1, per: '1s' }], onStoreError: 'deny' },
          { id: 'strict', scope: { route: 'other' } },
        ),
      ]),
      { clock, counters: broken },
    );
    try {
      let r: Reply | undefined;
      for (let i = 0; i < 3; i++) {
        r = await call(`${t.url}/hello`);
        assert.equal(r.status, 200);
      }
      const open = rlDecision(await accessLineOf(t.access, r!));
      assert.deepEqual([open.outcome, open.rule], ['allow', 'store-unavailable:open']);
      const closed = await call(`${t.url}/other`);
      assert.equal(closed.status, 503);
      assert.equal(closed.json.error.code, 'PCS_ERR_COUNTER_STORE_UNAVAILABLE');
      const metrics = (await call(`${t.admin}/metrics`)).text;
      assert.match(
        metrics,
        /portcullis_rate_limit_store_failures_total\{policy="rate-limit",action="allow"\} 3/,
      );
      assert.match(metrics, /portcullis_rate_limit_store_failures_total\{policy="strict",action="deny"\} 1/);
    } finally {
      await t.stop();
    }
  });
});
