import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, startGateway, type TestGateway } from './helpers/gateway.js';
import { headerConsumer, type MockLlm, startMockLlm } from './helpers/mock-llm.js';

describe('ai-models: which models each consumer may use', () => {
  let llm: MockLlm;
  let t: TestGateway;
  before(async () => {
    llm = await startMockLlm();
    t = await startGateway(
      {
        services: [],
        routes: [{ name: 'llm', paths: ['/v1'], ai: { endpoint: 'openai' } }],
        policies: [
          { name: 'test-header-consumer' },
          // Everyone in the group: the cheap model only. One consumer: both.
          { name: 'ai-models', scope: { group: 'team' }, config: { allow: ['fast'] } },
          { name: 'ai-models', scope: { consumer: 'boss' }, config: { allow: ['fast', 'smart'] } },
        ],
        ai: {
          providers: [{ name: 'p', kind: 'openai-compatible', baseUrl: `${llm.url}/v1` }],
          models: [
            { name: 'fast', targets: [{ provider: 'p', model: 'small-model' }] },
            { name: 'smart', targets: [{ provider: 'p', model: 'big-model' }] },
          ],
        },
      },
      { policies: [headerConsumer] },
    );
  });
  after(async () => {
    await t.stop();
    await llm.close();
  });

  const chat = (who: string, model: string) =>
    call(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-consumer': who },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
    });

  it('lets a group member use the allowed model and refuses the other before any provider call', async () => {
    assert.equal((await chat('carol', 'fast')).status, 200);
    const before = llm.calls.length;
    const r = await chat('carol', 'smart');
    assert.equal(r.status, 403);
    assert.equal(r.json.error.code, 'PCS_ERR_AI_MODEL_NOT_ALLOWED');
    assert.equal(llm.calls.length, before, 'the provider was not called');
  });

  it('gives a consumer-scoped list precedence over the group list', async () => {
    const r = await chat('boss', 'smart');
    assert.equal(r.status, 200);
    assert.equal(llm.calls.at(-1)!.body.model, 'big-model');
  });
});
