import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { validator } from '../src/config/ajv.js';
import { Config } from '../src/config/schema.js';
import { ManualClock } from '../src/core/clock.js';
import { definePolicy } from '../src/core/policy.js';
import type { RequestLogRecord } from '../src/reqlog/types.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

const T0 = Date.parse('2026-03-02T09:00:00Z');

/** A test policy that reads the body, as WAF or schema validation would. */
const bodyReader = definePolicy({
  name: 'test-body-reader',
  description: 'reads the body',
  schema: { type: 'object' } as never,
  priority: 0,
  create: () => ({
    validate: async function readsBody(ctx) {
      await ctx.readBody();
      return undefined;
    },
  }),
});

function config(upstream: string, requestLog: object, policies: unknown[] = []) {
  return {
    services: [{ name: 'echo', targets: [{ url: upstream }] }],
    routes: [
      { name: 'hello', service: 'echo', paths: ['/hello'] },
      { name: 'submit', service: 'echo', paths: ['/submit'], methods: ['POST'] },
    ],
    policies,
    gateway: { requestLog: { enabled: true, ...requestLog } },
  };
}

const records = async (t: TestGateway, q = '') =>
  (await adminCall(t, 'GET', `/request-log?since=1h${q}`)).json.records as (RequestLogRecord & {
    id: number;
  })[];

const metric = async (t: TestGateway, name: string) => {
  const text = (await call(`${t.admin}/metrics`)).text;
  return text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .reduce((a, l) => a + Number(l.split(' ').pop()), 0);
};

let up: Upstream;
before(async () => {
  up = await startUpstream();
});
after(() => up.close());

describe('request log: schema', () => {
  const valid = validator(Config);
  it('accepts the section with defaults and refuses bad rates, unknown keys and bad patterns', () => {
    const base = { services: [], routes: [], policies: [] };
    const c = { ...base, gateway: { requestLog: { enabled: true } } } as Record<string, any>;
    assert.equal(valid(c), true);
    assert.equal(c.gateway.requestLog.sampleRate, 1);
    assert.equal(c.gateway.requestLog.queueSize, 10000);
    assert.deepEqual(c.gateway.requestLog.headers.includes('authorization'), false);
    assert.equal(valid({ ...base, gateway: { requestLog: { sampleRate: 2 } } }), false);
    assert.equal(valid({ ...base, gateway: { requestLog: { retain: 1 } } }), false);
    assert.equal(
      valid({ ...base, gateway: { requestLog: { captureBody: { maskPatterns: ['(['] } } } }),
      false,
    );
  });
});

describe('request log: what a record holds', () => {
  let t: TestGateway;
  const clock = new ManualClock(T0);
  before(async () => {
    t = await startGateway(
      config(
        up.url,
        {
          headers: ['user-agent', 'authorization', 'x-trace'],
          captureBody: { enabled: true, maskPatterns: ['\\b\\d{16}\\b'], maxBodyBytes: 80 },
        },
        [
          { name: 'ip-restriction', mode: 'shadow', config: { deny: ['127.0.0.0/8'] } },
          { name: 'test-body-reader', scope: { route: 'submit' } },
        ],
      ),
      { clock, policies: [bodyReader] },
    );
  });
  after(() => t.stop());

  it('records method, path, query, route, selected headers (credentials masked), status and decisions', async () => {
    const r = await call(`${t.url}/hello?page=2&api_key=s3cret`, {
      headers: {
        'user-agent': 'ua/1',
        authorization: 'Bearer abc',
        cookie: 'sid=1',
        'x-api-key': 'k',
        'x-trace': 't1',
      },
    });
    assert.equal(r.status, 200);
    const [rec] = await records(t);
    assert.equal(rec.method, 'GET');
    assert.equal(rec.path, '/hello');
    assert.equal(rec.query, 'page=2&api_key=***');
    assert.equal(rec.route, 'hello');
    assert.equal(rec.service, 'echo');
    assert.equal(rec.status, 200);
    assert.equal(rec.ts, T0);
    assert.equal(rec.clientIp, '127.0.0.1');
    assert.ok(rec.revision! > 0);
    assert.deepEqual(rec.headers, { 'user-agent': 'ua/1', authorization: '***', 'x-trace': 't1' });
    assert.deepEqual(
      rec.decisions.map((d) => [d.policy, d.phase, d.mode, d.outcome, d.rule]),
      [['ip-restriction', 'request', 'shadow', 'would_deny', 'deny:127.0.0.0/8']],
    );
    assert.equal(rec.body, null);
  });

  it('records unrouted requests with their gateway error', async () => {
    assert.equal((await call(`${t.url}/nowhere`)).status, 404);
    const [rec] = await records(t);
    assert.equal(rec.path, '/nowhere');
    assert.equal(rec.route, null);
    assert.equal(rec.status, 404);
    assert.equal(rec.error, 'PCS_ERR_ROUTE_NOT_FOUND');
  });

  it('keeps a body a policy read, masked by field names and patterns, then capped', async () => {
    const body = JSON.stringify({
      user: 'ann',
      password: 'hunter2',
      card: '4111111111111111',
      note: 'x'.repeat(100),
    });
    const r = await call(`${t.url}/submit`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.json.body).password, 'hunter2', 'the upstream gets the body unmasked');
    const [rec] = await records(t, '&route=submit');
    assert.equal(rec.bodyBytes, Buffer.byteLength(body));
    assert.equal(rec.bodyTruncated, true);
    const masked = JSON.stringify({ user: 'ann', password: '***', card: '***', note: 'x'.repeat(100) });
    assert.equal(rec.body, masked.slice(0, 80));
    assert.equal(Buffer.byteLength(rec.body!), 80);
  });

  it('summarises shadow would-denies by policy, rule, consumer and route', async () => {
    const s = (await adminCall(t, 'GET', '/shadow?since=1h&policy=ip-restriction')).json;
    assert.equal(s.requests, 3);
    assert.equal(s.policies.length, 1);
    const p = s.policies[0];
    assert.equal(p.policy, 'ip-restriction');
    assert.equal(p.shadowNow, true);
    // The unrouted request ran no policy.
    assert.equal(p.wouldDeny, 2);
    // The metric counts every request since the process started, sampled or not: the same two here.
    assert.equal(p.wouldDenyMetric, 2);
    assert.deepEqual(p.byRule, [{ key: 'deny:127.0.0.0/8', count: 2 }]);
    assert.deepEqual(p.byConsumer, [{ key: '(anonymous)', count: 2 }]);
    assert.deepEqual(
      p.byRoute.map((r: { key: string }) => r.key),
      ['hello', 'submit'],
    );
    const none = (await adminCall(t, 'GET', '/shadow?since=1h&policy=waf')).json;
    assert.deepEqual(none.policies, []);
    assert.equal((await adminCall(t, 'GET', '/shadow?since=soon')).status, 400);
  });
});

describe('request log: sampling and retention', () => {
  it('records only the sampled share', async () => {
    let n = 0;
    const seq = [0.1, 0.9, 0.3, 0.7];
    const t = await startGateway(config(up.url, { sampleRate: 0.5 }), {
      random: () => seq[n++ % seq.length],
    });
    try {
      for (let i = 0; i < 4; i++) assert.equal((await call(`${t.url}/hello`)).status, 200);
      assert.equal((await records(t)).length, 2);
    } finally {
      await t.stop();
    }
  });

  it('deletes by age and keeps at most maxRows, in the background task', async () => {
    const clock = new ManualClock(T0);
    const t = await startGateway(config(up.url, { retention: { maxAgeHours: 1, maxRows: 3 } }), { clock });
    try {
      for (let i = 0; i < 5; i++) {
        clock.set(T0 + i * 60_000);
        await call(`${t.url}/hello?i=${i}`);
      }
      await t.gw.requestLog.flush();
      // Newest first, paged with `before`.
      const page1 = (await adminCall(t, 'GET', '/request-log?limit=2')).json.records;
      assert.deepEqual(
        page1.map((r: RequestLogRecord) => r.query),
        ['i=4', 'i=3'],
      );
      const page2 = (await adminCall(t, 'GET', `/request-log?limit=2&before=${page1[1].id}`)).json.records;
      assert.deepEqual(
        page2.map((r: RequestLogRecord) => r.query),
        ['i=2', 'i=1'],
      );
      assert.equal((await adminCall(t, 'GET', '/request-log?before=x')).status, 400);
      assert.equal(await t.gw.requestLog.prune(), 2);
      const kept = await t.gw.store.queryRequestLog({});
      assert.deepEqual(
        kept.map((r) => r.query),
        ['i=2', 'i=3', 'i=4'],
      );
      clock.set(T0 + 3 * 60_000 + 3_600_001);
      assert.equal(await t.gw.requestLog.prune(), 2);
      assert.deepEqual(
        (await t.gw.store.queryRequestLog({})).map((r) => r.query),
        ['i=4'],
      );
    } finally {
      await t.stop();
    }
  });

  it('records nothing when disabled', async () => {
    const t = await startGateway(config(up.url, { enabled: false }));
    try {
      await call(`${t.url}/hello`);
      const r = await adminCall(t, 'GET', '/request-log');
      assert.equal(r.json.enabled, false);
      assert.deepEqual(r.json.records, []);
    } finally {
      await t.stop();
    }
  });
});

/** A store whose request-log writes take a long time: the writer falls behind. */
class SlowStore extends SqliteStore {
  writes = 0;
  override async insertRequestLog(records: readonly RequestLogRecord[]): Promise<void> {
    this.writes++;
    await new Promise((r) => setTimeout(r, 300));
    return super.insertRequestLog(records);
  }
}

describe('request log: backpressure', () => {
  it('drops and counts records when the queue is full, never requests', async () => {
    const store = new SlowStore(join(mkdtempSync(join(tmpdir(), 'pcs-reqlog-')), 'db.sqlite'));
    const t = await startGateway(config(up.url, { queueSize: 4 }), { store });
    try {
      const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => call(`${t.url}/hello?i=${i}`)));
      assert.deepEqual(
        replies.map((r) => r.status),
        replies.map(() => 200),
      );
      await t.gw.requestLog.flush();
      const written = (await store.queryRequestLog({ limit: 100 })).length;
      const dropped = await metric(t, 'portcullis_request_log_dropped_total{reason="queue_full"}');
      assert.ok(dropped > 0, 'some records were dropped');
      assert.equal(written + dropped, 40);
      assert.equal(await metric(t, 'portcullis_request_log_written_total'), written);
    } finally {
      await t.stop();
    }
  });
});
