import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { Agent, request } from 'undici';
import { ManualClock } from '../src/core/clock.js';
import { CounterStoreUnavailableError, type LimitCheck } from '../src/counters/counter-store.js';
import { MemoryCounterStore } from '../src/counters/memory.js';
import { RedisCounterStore } from '../src/counters/redis.js';
import { MemorySink } from '../src/observability/logger.js';
import type { GatewayMetrics } from '../src/observability/metrics.js';
import { call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

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

let redis: TestRedis;
let up: Upstream;
before(async () => {
  redis = await startRedis();
  up = await startUpstream();
});
after(async () => {
  await redis?.stop();
  await up?.close();
});

function store(clock: ManualClock, logs?: MemorySink, metrics?: GatewayMetrics, prefix = 'pcs:') {
  return new RedisCounterStore({
    url: redis.url,
    prefix,
    clock,
    logger: pino({ level: 'warn' }, logs ?? new MemorySink()),
    metrics,
  });
}

describe('redis counter store: the Lua script decides like the memory store', () => {
  it('same results on the same sequence of GCRA, sliding and fixed checks', async () => {
    const clock = new ManualClock(T0);
    const mem = new MemoryCounterStore(clock);
    const red = store(clock, undefined, undefined, 'parity:');
    assert.equal(await red.ready(), true);
    try {
      const checks = (i: number): LimitCheck[] => [
        { kind: 'gcra', key: '{p}:g', cost: 1 + (i % 2), emissionMs: 1000 / 3, burst: 5 },
        { kind: 'sliding', key: '{p}:s', cost: 1, limit: 7, windowMs: 10_000 },
        { kind: 'fixed', key: '{p}:f', cost: 1, limit: 20, windowStart: T0, windowEnd: T0 + 60_000 },
      ];
      let allowed = 0;
      for (let i = 0; i < 60; i++) {
        clock.advance([0, 120, 333, 700, 2500][i % 5]);
        const now = clock.now();
        const a = await mem.limit(checks(i), now);
        const b = await red.limit(checks(i), now);
        assert.deepEqual(b, a, `step ${i} at +${now - T0} ms`);
        if (a.allowed) allowed++;
      }
      assert.ok(allowed > 5 && allowed < 55, `a mix of allowed and denied (${allowed})`);
      // Bans: until-keys with the gateway's clock, listed by prefix.
      await red.setUntil('ban:ip=1.2.3.4', 'reason', clock.now() + 5000);
      await red.setUntil('ban:ip=5.6.7.8', 'other', clock.now() + 1000);
      assert.deepEqual(await red.getUntil('ban:ip=1.2.3.4'), {
        value: 'reason',
        untilMs: clock.now() + 5000,
      });
      assert.equal((await red.scanUntil('ban:')).length, 2);
      clock.advance(1000);
      assert.deepEqual(
        (await red.scanUntil('ban:')).map((b) => b.key),
        ['ban:ip=1.2.3.4'],
      );
      await red.delete('ban:ip=1.2.3.4');
      assert.equal(await red.getUntil('ban:ip=1.2.3.4'), undefined);
      assert.equal(await red.incrBy('n', 2, 60_000), 2);
      assert.equal(await red.incrBy('n', 3, 60_000), 5);
      assert.equal(await red.get('n'), 5);
    } finally {
      await red.close();
      await mem.close();
    }
  });
});

describe('rate-limit with the Redis store through the gateway', () => {
  it('GCRA and headers as with the memory store; keys live under the prefix', async () => {
    const clock = new ManualClock(T0);
    const t = await startGateway(
      config(up.url, [
        { name: 'rate-limit', mode: 'enforce', config: { limits: [{ requests: 3, per: '1s' }] } },
      ]),
      { clock, redisUrl: redis.url, redisPrefix: 'gw1:' },
    );
    try {
      const seen: string[] = [];
      for (let i = 0; i < 4; i++) {
        const r = await call(`${t.url}/hello`);
        seen.push(`${r.status} ${r.headers.ratelimit} ${r.headers['retry-after'] ?? '-'}`);
      }
      assert.deepEqual(seen, [
        '200 "gcra:1s";r=2;t=1 -',
        '200 "gcra:1s";r=1;t=1 -',
        '200 "gcra:1s";r=0;t=1 -',
        '429 "gcra:1s";r=0;t=1 1',
      ]);
      assert.match(
        redis.cli('--scan', '--pattern', 'gw1:*'),
        /^gw1:rl:\{rate-limit@global\|ip=127\.0\.0\.1\}:gcra:1s$/m,
      );
    } finally {
      await t.stop();
    }
  });

  it('Redis stopped mid-test: fail open and fail closed as configured, logged once per interval, counted, then recovers', async () => {
    const clock = new ManualClock(T0);
    const t: TestGateway = await startGateway(
      config(up.url, [
        {
          name: 'rate-limit',
          mode: 'enforce',
          scope: { route: 'hello' },
          config: { limits: [{ requests: 2, per: '1m' }] },
        },
        {
          name: 'rate-limit',
          id: 'strict',
          mode: 'enforce',
          scope: { route: 'other' },
          config: { limits: [{ requests: 2, per: '1m' }], onStoreError: 'deny' },
        },
      ]),
      { clock, redisUrl: redis.url, redisPrefix: 'outage:' },
    );
    try {
      assert.equal((await call(`${t.url}/hello`)).status, 200);
      assert.equal((await call(`${t.url}/other`)).status, 200);
      await redis.stop();
      for (let i = 0; i < 5; i++) assert.equal((await call(`${t.url}/hello`)).status, 200);
      const closed = await call(`${t.url}/other`);
      assert.equal(closed.status, 503);
      assert.equal(closed.json.error.code, 'PCS_ERR_COUNTER_STORE_UNAVAILABLE');
      const warnings = () =>
        t.logs.lines.filter(
          (l) => l.msg === 'counter store unavailable: policies fail open or closed as configured',
        );
      assert.equal(warnings().length, 1, 'logged once in the interval');
      const metrics = (await call(`${t.admin}/metrics`)).text;
      assert.match(metrics, /portcullis_counter_store_errors_total\{op="limit"\} 6/);
      assert.match(metrics, /portcullis_counter_store_degraded 1/);
      assert.match(
        metrics,
        /portcullis_rate_limit_store_failures_total\{policy="rate-limit",action="allow"\} 5/,
      );
      assert.match(metrics, /portcullis_rate_limit_store_failures_total\{policy="strict",action="deny"\} 1/);
      clock.advance(10_000);
      assert.equal((await call(`${t.url}/hello`)).status, 200);
      assert.equal(warnings().length, 2, 'logged again after the interval');
      assert.equal(warnings()[1].suppressed, 5, 'the failures in between are counted in the next line');

      await redis.restart();
      await t.gw.services.counters.ready?.(5000);
      // A new Redis has no counters: the limit starts over, and is enforced again.
      assert.equal((await call(`${t.url}/other`)).status, 200);
      assert.equal((await call(`${t.url}/other`)).status, 200);
      assert.equal((await call(`${t.url}/other`)).status, 429);
      assert.ok(t.logs.lines.some((l) => l.msg === 'counter store recovered'));
      assert.match((await call(`${t.admin}/metrics`)).text, /portcullis_counter_store_degraded 0/);
    } finally {
      await t.stop();
    }
  });

  it('a store that cannot answer in time is an outage too (paused Redis)', async () => {
    const clock = new ManualClock(T0);
    const logs = new MemorySink();
    const red = store(clock, logs, undefined, 'slow:');
    assert.equal(await red.ready(), true);
    try {
      redis.cli('CLIENT', 'PAUSE', '1000', 'ALL');
      await assert.rejects(
        red.limit([{ kind: 'gcra', key: 'k', cost: 1, emissionMs: 100, burst: 1 }], clock.now()),
        CounterStoreUnavailableError,
      );
    } finally {
      await new Promise((r) => setTimeout(r, 1100));
      await red.close();
    }
  });
});

/** Starts `portcullis start` as a child process and resolves with its proxy port. */
function startProcess(cfgFile: string, redisUrl: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'start',
      '-c',
      cfgFile,
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--admin-port',
      '0',
      '--data-dir',
      mkdtempSync(join(tmpdir(), 'portcullis-proc-')),
      '--no-watch',
      '--redis-url',
      redisUrl,
    ],
    {
      env: { ...process.env, PORTCULLIS_ADMIN_TOKEN: 'proc-token-0123456789' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr?.on('data', (b: Buffer) => {
      err += b.toString();
      const m = /proxy on [^:]+:(\d+)/.exec(err);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.once('exit', (code) => reject(new Error(`gateway exited ${code}: ${err}`)));
    setTimeout(() => reject(new Error(`gateway did not start: ${err}`)), 30_000).unref();
  });
}

describe('two gateway processes sharing one Redis', () => {
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) c.kill('SIGTERM');
  });

  it('admit the configured limit in total, within 1%', async () => {
    const limit = 1000;
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-2proc-'));
    const cfgFile = join(dir, 'gateway.json');
    writeFileSync(
      cfgFile,
      JSON.stringify(
        config(up.url, [
          {
            name: 'rate-limit',
            mode: 'enforce',
            scope: { route: 'hello' },
            config: { limits: [{ requests: limit, per: '1h', algorithm: 'sliding-window' }], key: ['route'] },
          },
          {
            name: 'rate-limit',
            id: 'bucket',
            mode: 'enforce',
            scope: { route: 'other' },
            config: { limits: [{ requests: limit, per: '1h' }], key: ['route'] },
          },
        ]),
      ),
    );
    const [a, b] = await Promise.all([startProcess(cfgFile, redis.url), startProcess(cfgFile, redis.url)]);
    children.push(a.child, b.child);
    const agent = new Agent({ connections: 32 });
    try {
      for (const path of ['/hello', '/other']) {
        let admitted = 0;
        let denied = 0;
        const worker = async (port: number, n: number) => {
          for (let i = 0; i < n; i++) {
            const r = await request(`http://127.0.0.1:${port}${path}`, { dispatcher: agent });
            await r.body.dump();
            if (r.statusCode === 200) admitted++;
            else if (r.statusCode === 429) denied++;
            else throw new Error(`unexpected status ${r.statusCode}`);
          }
        };
        // 32 concurrent clients, half on each process, 3000 requests in all.
        await Promise.all(
          Array.from({ length: 32 }, (_, i) => worker(i % 2 ? a.port : b.port, i < 24 ? 94 : 93)),
        );
        const error = Math.abs(admitted - limit) / limit;
        process.stdout.write(
          `# two processes, ${path === '/hello' ? 'sliding window' : 'GCRA'} ${limit}/h: admitted ${admitted} of ${admitted + denied} (error ${(error * 100).toFixed(2)}%)\n`,
        );
        assert.equal(admitted + denied, 3000);
        assert.ok(error <= 0.01, `admitted ${admitted}, limit ${limit}`);
      }
    } finally {
      await agent.close();
    }
  });
});
