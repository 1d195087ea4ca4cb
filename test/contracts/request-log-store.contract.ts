import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RequestLogRecord } from '../../src/reqlog/types.js';
import type { AiUsageRecord, RequestLogStore } from '../../src/store/request-log-store.js';
import { type MakeStore, withStore } from './harness.js';

const T0 = Date.UTC(2024, 0, 1);

export function requestRecord(n: number, over: Partial<RequestLogRecord> = {}): RequestLogRecord {
  return {
    ts: T0 + n * 1000,
    requestId: `req-${n}`,
    method: 'GET',
    host: 'api.example',
    path: `/items/${n}`,
    query: 'a=1',
    route: 'items',
    service: 'backend',
    headers: { 'user-agent': 'test', authorization: '[masked]' },
    clientIp: '10.0.0.1',
    consumer: 'acme',
    identity: { method: 'key-auth', credential: 'k1', scopes: ['read'] },
    status: 200,
    latencyMs: 1.5,
    revision: 3,
    decisions: [
      {
        policy: 'key-auth',
        id: 'key-auth',
        scope: 'global',
        phase: 'auth',
        mode: 'enforce',
        outcome: 'allow',
      },
    ],
    body: null,
    bodyBytes: null,
    bodyTruncated: false,
    error: null,
    ...over,
  };
}

const wouldDeny: RequestLogRecord['decisions'] = [
  {
    policy: 'waf',
    id: 'waf',
    scope: 'global',
    phase: 'validate',
    mode: 'shadow',
    outcome: 'would_deny',
    rule: 'sqli',
    code: 'PCS_ERR_WAF',
  },
];

function usage(n: number, over: Partial<AiUsageRecord> = {}): AiUsageRecord {
  return {
    ts: T0 + n * 3_600_000,
    requestId: `ai-${n}`,
    consumer: 'acme',
    route: 'chat',
    model: 'fast',
    provider: 'openai',
    providerModel: 'gpt-4o-mini',
    inputTokens: 10,
    outputTokens: 20,
    cost: 0.5,
    latencyMs: 100,
    ttftMs: null,
    status: 200,
    stream: false,
    cached: false,
    estimated: false,
    ...over,
  };
}

/** What every RequestLogStore backend must do: the request log and AI usage. */
export function requestLogStoreContract(name: string, make: MakeStore<RequestLogStore>): void {
  const run = (fn: (s: RequestLogStore) => Promise<void>) => () => withStore(make, fn);

  describe(`RequestLogStore contract: ${name}`, () => {
    it(
      'reads request records back exactly as written, with increasing ids',
      run(async (s) => {
        const a = requestRecord(1);
        const b = requestRecord(2, {
          route: null,
          service: null,
          consumer: null,
          identity: null,
          status: 403,
          decisions: wouldDeny,
          body: '{"q":"x"}',
          bodyBytes: 9000,
          bodyTruncated: true,
          error: 'PCS_ERR_WAF',
        });
        await s.insertRequestLog([a, b]);
        const got = await s.queryRequestLog({});
        assert.equal(got.length, 2);
        assert.ok(got[1].id > got[0].id);
        assert.deepEqual(got, [
          { id: got[0].id, ...a },
          { id: got[1].id, ...b },
        ]);
      }),
    );

    it(
      'writes an empty batch as nothing',
      run(async (s) => {
        await s.insertRequestLog([]);
        assert.equal(await s.countRequestLog({}), 0);
        assert.deepEqual(await s.queryRequestLog({}), []);
      }),
    );

    it(
      'filters by time range (from inclusive, to exclusive), route, consumer and would-deny',
      run(async (s) => {
        await s.insertRequestLog([
          requestRecord(1),
          requestRecord(2, { route: 'other', decisions: wouldDeny }),
          requestRecord(3, { consumer: 'beta' }),
          requestRecord(4, { decisions: wouldDeny }),
        ]);
        const ids = async (q: Parameters<RequestLogStore['queryRequestLog']>[0]) =>
          (await s.queryRequestLog(q)).map((r) => r.requestId);
        assert.deepEqual(await ids({ from: T0 + 2000, to: T0 + 4000 }), ['req-2', 'req-3']);
        assert.deepEqual(await ids({ route: 'items' }), ['req-1', 'req-3', 'req-4']);
        assert.deepEqual(await ids({ consumer: 'beta' }), ['req-3']);
        assert.deepEqual(await ids({ wouldDeny: true }), ['req-2', 'req-4']);
        assert.deepEqual(await ids({ wouldDeny: true, route: 'items' }), ['req-4']);
        assert.equal(await s.countRequestLog({ wouldDeny: true }), 2);
        assert.equal(await s.countRequestLog({ from: T0 + 2000, to: T0 + 4000 }), 2);
        assert.equal(await s.countRequestLog({}), 4);
      }),
    );

    it(
      'pages by id in both orders, and counts ignore the page',
      run(async (s) => {
        await s.insertRequestLog(Array.from({ length: 5 }, (_, i) => requestRecord(i + 1)));
        const asc = await s.queryRequestLog({ limit: 2 });
        assert.deepEqual(
          asc.map((r) => r.requestId),
          ['req-1', 'req-2'],
        );
        assert.deepEqual(
          (await s.queryRequestLog({ afterId: asc[1].id, limit: 2 })).map((r) => r.requestId),
          ['req-3', 'req-4'],
        );
        const desc = await s.queryRequestLog({ order: 'desc', limit: 2 });
        assert.deepEqual(
          desc.map((r) => r.requestId),
          ['req-5', 'req-4'],
        );
        assert.deepEqual(
          (await s.queryRequestLog({ order: 'desc', afterId: desc[1].id })).map((r) => r.requestId),
          ['req-3', 'req-2', 'req-1'],
        );
        assert.equal(await s.countRequestLog({ afterId: asc[1].id, limit: 1 }), 5);
      }),
    );

    it(
      'prunes by age and by row count, keeping the newest, and says how many went',
      run(async (s) => {
        await s.insertRequestLog(Array.from({ length: 6 }, (_, i) => requestRecord(i + 1)));
        assert.equal(await s.pruneRequestLog({ before: T0 + 3000 }), 2);
        assert.deepEqual(
          (await s.queryRequestLog({})).map((r) => r.requestId),
          ['req-3', 'req-4', 'req-5', 'req-6'],
        );
        assert.equal(await s.pruneRequestLog({ maxRows: 3 }), 1);
        assert.deepEqual(
          (await s.queryRequestLog({})).map((r) => r.requestId),
          ['req-4', 'req-5', 'req-6'],
        );
        assert.equal(await s.pruneRequestLog({ maxRows: 3 }), 0);
        assert.equal(await s.pruneRequestLog({}), 0);
        assert.equal(await s.countRequestLog({}), 3);
      }),
    );

    it(
      'reads AI usage back newest first, filtered and limited',
      run(async (s) => {
        const a = usage(1);
        const b = usage(2, {
          consumer: 'beta',
          model: 'smart',
          ttftMs: 12,
          stream: true,
          cached: true,
          estimated: true,
        });
        const c = usage(3);
        await s.insertAiUsage([a, b]);
        await s.insertAiUsage([c]);
        assert.deepEqual(await s.listAiUsage({}), [c, b, a]);
        assert.deepEqual(await s.listAiUsage({ limit: 1 }), [c]);
        assert.deepEqual(await s.listAiUsage({ consumer: 'beta' }), [b]);
        assert.deepEqual(await s.listAiUsage({ model: 'fast' }), [c, a]);
        await s.insertAiUsage([]);
        assert.equal((await s.listAiUsage({})).length, 3);
      }),
    );

    it(
      'sums AI usage by group and by inclusive UTC day range',
      run(async (s) => {
        assert.deepEqual(await s.aiUsageSummary({}), [], 'no usage, no rows');
        const day2 = 24 + 1; // hours: the second day
        await s.insertAiUsage([
          usage(1),
          usage(2, { model: 'smart', inputTokens: 5, outputTokens: 5, cost: 1 }),
          usage(3, { consumer: 'beta' }),
          usage(day2, { cost: 2 }),
        ]);
        assert.deepEqual(await s.aiUsageSummary({}), [
          { requests: 4, inputTokens: 35, outputTokens: 65, cost: 4 },
        ]);
        assert.deepEqual(await s.aiUsageSummary({ groupBy: ['consumer'] }), [
          { consumer: 'acme', requests: 3, inputTokens: 25, outputTokens: 45, cost: 3.5 },
          { consumer: 'beta', requests: 1, inputTokens: 10, outputTokens: 20, cost: 0.5 },
        ]);
        assert.deepEqual(await s.aiUsageSummary({ groupBy: ['day', 'model'] }), [
          { day: '2024-01-01', model: 'fast', requests: 2, inputTokens: 20, outputTokens: 40, cost: 1 },
          { day: '2024-01-01', model: 'smart', requests: 1, inputTokens: 5, outputTokens: 5, cost: 1 },
          { day: '2024-01-02', model: 'fast', requests: 1, inputTokens: 10, outputTokens: 20, cost: 2 },
        ]);
        assert.deepEqual(await s.aiUsageSummary({ from: '2024-01-02', to: '2024-01-02' }), [
          { requests: 1, inputTokens: 10, outputTokens: 20, cost: 2 },
        ]);
        assert.deepEqual(
          await s.aiUsageSummary({ to: '2024-01-01', consumer: 'acme', groupBy: ['provider'] }),
          [{ provider: 'openai', requests: 2, inputTokens: 15, outputTokens: 25, cost: 1.5 }],
        );
        assert.deepEqual(await s.aiUsageSummary({ from: '2024-02-01' }), []);
      }),
    );
  });
}
