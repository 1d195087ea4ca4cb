import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { ManualClock } from '../src/core/clock.js';
import { call, startGateway, type TestGateway } from './helpers/gateway.js';
import { aiConfig, headerConsumer, type MockLlm, startMockLlm } from './helpers/mock-llm.js';

describe('ai-budget through the gateway', () => {
  let a: MockLlm;
  let b: MockLlm;
  let t: TestGateway;
  before(async () => {
    a = await startMockLlm();
    b = await startMockLlm();
    const cfg = aiConfig(a, b);
    cfg.policies.push({
      name: 'ai-budget',
      config: { limits: [{ per: 'consumer', window: 'day', tokens: 60 }] },
    } as never);
    // The budget's windows come from the gateway's clock: a fixed day, not the test machine's.
    t = await startGateway(cfg, {
      policies: [headerConsumer],
      clock: new ManualClock(Date.UTC(2026, 11, 3, 23, 59)),
    });
  });
  after(async () => {
    await t?.stop();
    await a?.close();
    await b?.close();
  });

  it('reserves, reconciles with reported usage, and refuses a stream that would cross the budget before it starts', async () => {
    const oai = new OpenAI({
      apiKey: 'k',
      baseURL: `${t.url}/v1`,
      maxRetries: 0,
      defaultHeaders: { 'x-consumer': 'dora' },
    });
    // Three calls fit: each reserves ~20 tokens and settles at the 18 the provider reports.
    await oai.chat.completions.create({
      model: 'fast',
      max_tokens: 10,
      messages: [{ role: 'user', content: 'hi' }],
    });
    for (let i = 0; i < 2; i++) {
      const s = await oai.chat.completions.create({
        model: 'fast',
        max_tokens: 10,
        stream: true,
        messages: [{ role: 'user', content: 'hi' }],
      });
      for await (const _ of s);
    }
    const before = b.calls.length;
    const r = await call(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'x-consumer': 'dora' },
      body: JSON.stringify({
        model: 'fast',
        max_tokens: 10,
        stream: true,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    assert.equal(r.status, 429);
    assert.equal(r.json.error.code, 'PCS_ERR_AI_BUDGET_EXCEEDED');
    assert.ok(Number(r.headers['retry-after']) > 0);
    assert.equal(b.calls.length, before, 'the provider was never called');
    // Another consumer has its own budget; a failed call gives its reservation back.
    const other = await call(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'x-consumer': 'erin' },
      body: JSON.stringify({
        model: 'only-dead',
        max_tokens: 40,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    assert.equal(other.status, 502);
    const again = await oai.chat.completions.create(
      { model: 'fast', max_tokens: 40, messages: [{ role: 'user', content: 'hi' }] },
      { headers: { 'x-consumer': 'erin' } },
    );
    assert.equal(again.choices[0].message.content, 'Hello from the mock');
  });
});
