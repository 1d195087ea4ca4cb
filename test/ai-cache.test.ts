import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../src/core/clock.js';
import { adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { headerConsumer, type MockLlm, startMockLlm } from './helpers/mock-llm.js';

const T0 = Date.UTC(2026, 0, 5, 12);
const TTL = 60_000;

function config(llm: MockLlm, maxEntries = 10) {
  return {
    services: [],
    routes: [
      { name: 'cached', paths: ['/cached'], ai: { endpoint: 'openai', cache: true } },
      { name: 'plain', paths: ['/plain'], ai: { endpoint: 'openai' } },
    ],
    policies: [
      { name: 'test-header-consumer' },
      { name: 'ai-guard-pii', scope: { consumer: 'eve' }, config: { input: 'off' } },
    ],
    ai: {
      providers: [{ name: 'p', kind: 'openai-compatible', baseUrl: `${llm.url}/v1` }],
      models: [{ name: 'fast', targets: [{ provider: 'p', model: 'gpt-4o-mini' }] }],
      prices: [{ model: 'gpt-4o-mini', inputPerMillion: 1000, outputPerMillion: 2000 }],
      cache: { ttlMs: TTL, maxEntries },
    },
  };
}

describe('exact-match response cache', () => {
  let llm: MockLlm;
  let t: TestGateway;
  const clock = new ManualClock(T0);
  before(async () => {
    llm = await startMockLlm();
    t = await startGateway(config(llm), { policies: [headerConsumer], clock });
  });
  after(async () => {
    await t?.stop();
    await llm?.close();
  });

  const chat = (route: string, content: string, extra: Record<string, unknown> = {}) =>
    call(`${t.url}/${route}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-consumer': 'dan' },
      body: JSON.stringify({ model: 'fast', messages: [{ role: 'user', content }], ...extra }),
    });

  it('serves an identical non-streamed request from the cache, recorded with cost 0', async () => {
    const n = llm.calls.length;
    const first = await chat('cached', 'capital of France?');
    assert.equal(first.status, 200);
    assert.equal(first.headers['x-portcullis-cache'], 'miss');
    const second = await chat('cached', 'capital of France?');
    assert.equal(second.status, 200);
    assert.equal(second.headers['x-portcullis-cache'], 'hit');
    assert.deepEqual(second.json, first.json);
    assert.equal(llm.calls.length, n + 1);
    const recs = (await adminCall(t, 'GET', '/ai/usage/records?consumer=dan&limit=2')).json.records;
    assert.deepEqual(
      recs.map((r: any) => [r.cached, r.cost, r.inputTokens, r.outputTokens]),
      [
        [true, 0, 11, 7],
        [false, 0.025, 11, 7],
      ],
    );
  });

  it('misses on any difference in the request: text, parameters', async () => {
    const n = llm.calls.length;
    assert.equal((await chat('cached', 'capital of Spain?')).headers['x-portcullis-cache'], 'miss');
    const warm = await chat('cached', 'capital of France?', { temperature: 0.5 });
    assert.equal(warm.headers['x-portcullis-cache'], 'miss');
    assert.equal(llm.calls.length, n + 2);
  });

  it('expires entries after the TTL, by the injected clock', async () => {
    await chat('cached', 'ttl question');
    clock.advance(TTL - 1);
    assert.equal((await chat('cached', 'ttl question')).headers['x-portcullis-cache'], 'hit');
    clock.advance(1);
    const n = llm.calls.length;
    assert.equal((await chat('cached', 'ttl question')).headers['x-portcullis-cache'], 'miss');
    assert.equal(llm.calls.length, n + 1);
  });

  it('is per route: a route without `cache: true` always calls the provider', async () => {
    const n = llm.calls.length;
    for (let i = 0; i < 2; i++) {
      const r = await chat('plain', 'capital of France?');
      assert.equal(r.status, 200);
      assert.equal(r.headers['x-portcullis-cache'], undefined);
    }
    assert.equal(llm.calls.length, n + 2);
  });

  it('never serves or stores streams', async () => {
    await chat('cached', 'stream me');
    const n = llm.calls.length;
    for (let i = 0; i < 2; i++) {
      const s = await chat('cached', 'stream me', { stream: true });
      assert.equal(s.status, 200);
      assert.match(String(s.headers['content-type']), /^text\/event-stream/);
      assert.equal(s.headers['x-portcullis-cache'], undefined);
      assert.match(s.text, /data: \[DONE\]/);
    }
    assert.equal(llm.calls.length, n + 2);
  });

  it('does not store errors', async () => {
    llm.behave('500');
    try {
      assert.equal((await chat('cached', 'flaky')).status, 502);
    } finally {
      llm.behave('ok');
    }
    const r = await chat('cached', 'flaky');
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-portcullis-cache'], 'miss');
  });

  it('does not hand an answer cached for one caller to a caller whose output guards differ', async () => {
    llm.reply('Mail it to ops@example.com');
    try {
      const dan = await chat('cached', 'where do I send it?');
      assert.equal(dan.json.choices[0].message.content, 'Mail it to ops@example.com');
      const eve = await call(`${t.url}/cached/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-consumer': 'eve' },
        body: JSON.stringify({ model: 'fast', messages: [{ role: 'user', content: 'where do I send it?' }] }),
      });
      assert.equal(eve.headers['x-portcullis-cache'], 'miss');
      assert.equal(eve.json.choices[0].message.content, 'Mail it to [EMAIL]');
    } finally {
      llm.reply(undefined);
    }
  });

  it('belongs to the revision: a new revision starts empty', async () => {
    await chat('cached', 'per revision');
    assert.equal((await chat('cached', 'per revision')).headers['x-portcullis-cache'], 'hit');
    assert.equal((await adminCall(t, 'POST', '/config', config(llm, 20))).status, 201);
    assert.equal((await chat('cached', 'per revision')).headers['x-portcullis-cache'], 'miss');
  });
});
