import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../src/core/clock.js';
import { accessLine } from './helpers/access-log.js';
import { adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { aiConfig, headerConsumer, type MockLlm, startMockLlm } from './helpers/mock-llm.js';
import { startRedis, type TestRedis } from './helpers/redis.js';

const T0 = Date.UTC(2026, 11, 3, 12, 0, 0);

function chat(t: TestGateway, consumer: string, path = '/v1', id?: string) {
  return call(`${t.url}${path}/chat/completions`, {
    method: 'POST',
    headers: {
      'x-consumer': consumer,
      'content-type': 'application/json',
      ...(id ? { 'x-request-id': id } : {}),
    },
    body: JSON.stringify({ model: 'fast', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
  });
}

function budgetConfig(a: MockLlm, b: MockLlm, policies: unknown[]) {
  const cfg = aiConfig(a, b);
  cfg.policies.push(...(policies as never[]));
  return cfg;
}

describe('ai-budget: atomic, per instance, shadow-safe, store outages', () => {
  let a: MockLlm;
  let b: MockLlm;
  let redis: TestRedis;
  before(async () => {
    a = await startMockLlm();
    b = await startMockLlm();
    redis = await startRedis();
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await redis?.stop();
  });

  it('two gateways on one Redis, 40 concurrent calls against 10 requests a day: exactly 10 reach the provider', async () => {
    const cfg = budgetConfig(a, b, [
      {
        name: 'ai-budget',
        // Fail closed, with a generous command timeout: a slow Redis on a loaded machine must not
        // turn into calls admitted unmetered (that is onStoreError: allow, tested below).
        config: {
          onStoreError: 'deny',
          limits: [{ per: 'consumer', window: 'day', requests: 10, tokens: 100_000 }],
        },
      },
    ]);
    const clock = new ManualClock(T0);
    const opts = {
      policies: [headerConsumer],
      clock,
      redisUrl: redis.url,
      redisPrefix: 'atomic:',
      redisCommandTimeoutMs: 10_000,
    };
    const g1 = await startGateway(cfg, opts);
    const g2 = await startGateway(cfg, opts);
    try {
      const before = b.calls.length;
      const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => chat(i % 2 ? g1 : g2, 'zed')));
      const ok = replies.filter((r) => r.status === 200).length;
      const refused = replies.filter((r) => r.status === 429);
      assert.equal(ok, 10);
      assert.equal(refused.length, 30);
      assert.ok(refused.every((r) => r.json.error.code === 'PCS_ERR_AI_BUDGET_EXCEEDED'));
      assert.equal(b.calls.length - before, 10, 'the provider was called once per admitted call');
    } finally {
      await g1.stop();
      await g2.stop();
    }
  });

  it('two budgets on one consumer (one per route) count apart', async () => {
    const cfg = budgetConfig(a, b, [
      { name: 'ai-budget', scope: { route: 'openai' }, config: { limits: [{ window: 'day', requests: 2 }] } },
      { name: 'ai-budget', scope: { route: 'second' }, config: { limits: [{ window: 'day', requests: 2 }] } },
    ]);
    cfg.routes.push({ name: 'second', paths: ['/v2'], ai: { endpoint: 'openai' } } as never);
    const t = await startGateway(cfg, { policies: [headerConsumer], clock: new ManualClock(T0) });
    try {
      const first = [await chat(t, 'yan'), await chat(t, 'yan'), await chat(t, 'yan')].map((r) => r.status);
      assert.deepEqual(first, [200, 200, 429]);
      const second = [await chat(t, 'yan', '/v2'), await chat(t, 'yan', '/v2')].map((r) => r.status);
      assert.deepEqual(second, [200, 200], 'the second route has its own budget');
    } finally {
      await t.stop();
    }
  });

  it('shadow: counts on its own keys, records would_deny, and leaves the enforced budget untouched', async () => {
    const policy = (mode: string) => ({
      name: 'ai-budget',
      id: 'daily',
      mode,
      config: { limits: [{ window: 'day', requests: 1 }] },
    });
    const t = await startGateway(budgetConfig(a, b, [policy('shadow')]), {
      policies: [headerConsumer],
      clock: new ManualClock(T0),
      redisUrl: redis.url,
      redisPrefix: 'shadow:',
    });
    try {
      const statuses = [];
      for (const id of ['sh-1', 'sh-2', 'sh-3']) statuses.push((await chat(t, 'xia', '/v1', id)).status);
      assert.deepEqual(statuses, [200, 200, 200], 'a shadowed budget refuses nothing');
      const d1 = (await accessLine(t.access, 'sh-1')).decisions ?? [];
      const d2 = (await accessLine(t.access, 'sh-2')).decisions ?? [];
      assert.ok(!d1.some((d: any) => d.outcome === 'would_deny'));
      assert.ok(d2.some((d: any) => d.policy === 'ai-budget' && d.outcome === 'would_deny'));
      const keys = redis.cli('--scan', '--pattern', 'shadow:*').trim().split('\n');
      assert.ok(
        keys.length > 0 && keys.every((k) => k.startsWith('shadow:ai-budget:shadow:')),
        keys.join(','),
      );
      // Enforced now: the shadow's counts were never the enforced budget's.
      const r = await adminCall(t, 'POST', '/config', budgetConfig(a, b, [policy('enforce')]));
      assert.equal(r.status, 201, r.text);
      assert.deepEqual([(await chat(t, 'xia')).status, (await chat(t, 'xia')).status], [200, 429]);
    } finally {
      await t.stop();
    }
  });

  it('Redis down: onStoreError allow admits unmetered, deny answers 503; neither is a 500', async () => {
    const dead = 'redis://127.0.0.1:1';
    const make = (onStoreError: string) =>
      budgetConfig(a, b, [
        { name: 'ai-budget', config: { onStoreError, limits: [{ window: 'day', requests: 5 }] } },
      ]);
    const open = await startGateway(make('allow'), { policies: [headerConsumer], redisUrl: dead });
    const closed = await startGateway(make('deny'), { policies: [headerConsumer], redisUrl: dead });
    try {
      assert.equal((await chat(open, 'wu')).status, 200);
      const r = await chat(closed, 'wu');
      assert.equal(r.status, 503);
      assert.equal(r.json.error.code, 'PCS_ERR_COUNTER_STORE_UNAVAILABLE');
    } finally {
      await open.stop();
      await closed.stop();
    }
  });
});
