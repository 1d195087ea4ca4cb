import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { validator } from '../src/config/ajv.js';
import { ConcurrencyLimitSchema } from '../src/policies/concurrency-limit/schema.js';
import { accessLineOf } from './helpers/access-log.js';
import { adminCall, call, type Reply, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

/** An upstream that holds every answer until `release()`. */
async function heldUpstream() {
  const held: ServerResponse[] = [];
  const waiters: (() => void)[] = [];
  const up = await startUpstream((_req, res) => {
    held.push(res);
    for (const w of waiters.splice(0)) w();
  });
  return {
    up,
    held,
    /** Resolves once `n` requests reached the upstream. */
    async reached(n: number) {
      while (held.length < n) await new Promise<void>((r) => waiters.push(r));
    },
    release(n = held.length) {
      for (const res of held.splice(0, n)) res.end('ok');
    },
  };
}

function config(upstream: string, policy: Record<string, unknown>) {
  return {
    services: [{ name: 'echo', targets: [{ url: upstream }] }],
    routes: [{ name: 'hello', service: 'echo', paths: ['/hello'] }],
    policies: [{ name: 'concurrency-limit', mode: 'enforce', ...policy }],
  };
}

const tick = () => new Promise((r) => setTimeout(r, 30));

describe('concurrency-limit: schema', () => {
  const valid = validator(ConcurrencyLimitSchema);
  it('accepts max, key, queue, timeout and status; refuses the rest', () => {
    assert.equal(valid({ max: 2, key: ['consumer'], queue: 5, queueTimeoutMs: 100, status: 503 }), true);
    assert.equal(valid({}), false);
    assert.equal(valid({ max: 0 }), false);
    assert.equal(valid({ max: 1, status: 500 }), false);
    assert.equal(valid({ max: 1, wait: 1 }), false);
  });
});

describe('concurrency-limit: through the gateway', () => {
  let h: Awaited<ReturnType<typeof heldUpstream>>;
  let t: TestGateway;
  before(async () => {
    h = await heldUpstream();
  });
  after(async () => {
    h.release();
    await h.up.close();
  });

  it('refuses at once over max with 429 (or 503), and frees the slot when the answer is sent', async () => {
    t = await startGateway(config(h.up.url, { config: { max: 2 } }));
    try {
      const a = call(`${t.url}/hello`);
      const b = call(`${t.url}/hello`);
      await h.reached(2);
      const c = await call(`${t.url}/hello`);
      assert.equal(c.status, 429);
      assert.equal(c.json.error.code, 'PCS_ERR_CONCURRENCY_LIMITED');
      h.release(1);
      assert.equal((await a).status, 200);
      const d = call(`${t.url}/hello`);
      await h.reached(2);
      h.release();
      assert.deepEqual([(await b).status, (await d).status], [200, 200]);
      const metrics = (await call(`${t.admin}/metrics`)).text;
      assert.match(metrics, /portcullis_concurrency_inflight\{policy="concurrency-limit"\} 0/);
    } finally {
      await t.stop();
    }
    t = await startGateway(config(h.up.url, { config: { max: 1, status: 503 } }));
    try {
      const a = call(`${t.url}/hello`);
      await h.reached(1);
      assert.equal((await call(`${t.url}/hello`)).status, 503);
      h.release();
      assert.equal((await a).status, 200);
    } finally {
      await t.stop();
    }
  });

  it('queues up to `queue` requests in order, refuses past it, and times out waiters', async () => {
    t = await startGateway(config(h.up.url, { config: { max: 1, queue: 2, queueTimeoutMs: 300 } }));
    try {
      const first = call(`${t.url}/hello`);
      await h.reached(1);
      const q1 = call(`${t.url}/hello`);
      const q2 = call(`${t.url}/hello`);
      await tick();
      const over = await call(`${t.url}/hello`);
      assert.equal(over.status, 429);
      h.release(1);
      assert.equal((await first).status, 200);
      await h.reached(1); // q1 got the slot
      h.release(1);
      assert.equal((await q1).status, 200);
      await h.reached(1);
      h.release(1);
      assert.equal((await q2).status, 200);
      // Waiting longer than queueTimeoutMs: refused.
      const hold = call(`${t.url}/hello`);
      await h.reached(1);
      const late: Reply = await call(`${t.url}/hello`);
      assert.equal(late.status, 429);
      const line = await accessLineOf(t.access, late);
      assert.match(line.detail, /waited 300 ms in the queue/);
      h.release();
      assert.equal((await hold).status, 200);
    } finally {
      await t.stop();
    }
  });

  it('per key: each client IP header value has its own slots; shadow lets everything through', async () => {
    t = await startGateway(config(h.up.url, { config: { max: 1, key: [{ header: 'x-tenant' }] } }));
    try {
      const a = call(`${t.url}/hello`, { headers: { 'x-tenant': 'a' } });
      await h.reached(1);
      const b = call(`${t.url}/hello`, { headers: { 'x-tenant': 'b' } });
      await h.reached(2);
      assert.equal((await call(`${t.url}/hello`, { headers: { 'x-tenant': 'a' } })).status, 429);
      h.release();
      assert.deepEqual([(await a).status, (await b).status], [200, 200]);
    } finally {
      await t.stop();
    }
    t = await startGateway(config(h.up.url, { mode: 'shadow', config: { max: 1 } }));
    try {
      const a = call(`${t.url}/hello`);
      const b = call(`${t.url}/hello`);
      await h.reached(2);
      h.release();
      assert.deepEqual([(await a).status, (await b).status], [200, 200]);
      const lines = [await accessLineOf(t.access, await a), await accessLineOf(t.access, await b)];
      const outcomes = lines.map((l) => (l as { decisions: { outcome: string }[] }).decisions[0].outcome);
      assert.deepEqual(outcomes.sort(), ['allow', 'would_deny']);
    } finally {
      await t.stop();
    }
  });

  it('a new revision raising max applies to the requests already in flight', async () => {
    t = await startGateway(config(h.up.url, { config: { max: 1 } }));
    try {
      const a = call(`${t.url}/hello`);
      await h.reached(1);
      assert.equal((await call(`${t.url}/hello`)).status, 429);
      const r = await adminCall(t, 'POST', '/config', config(h.up.url, { config: { max: 2 } }));
      assert.equal(r.status, 201);
      const b = call(`${t.url}/hello`);
      await h.reached(2);
      // Two in flight (one from the old revision): the third is refused.
      assert.equal((await call(`${t.url}/hello`)).status, 429);
      h.release();
      assert.deepEqual([(await a).status, (await b).status], [200, 200]);
      assert.match(
        (await call(`${t.admin}/metrics`)).text,
        /portcullis_concurrency_inflight\{policy="concurrency-limit"\} 0/,
      );
    } finally {
      await t.stop();
    }
  });
});
