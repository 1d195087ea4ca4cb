import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { accessLineOf } from './helpers/access-log.js';
import { adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { headerConsumer, type MockLlm, startMockLlm } from './helpers/mock-llm.js';

/** Wire formats of Mistral and Azure OpenAI, against loopback mocks that speak them. */
describe('Mistral and Azure OpenAI wire formats', () => {
  let mistral: MockLlm;
  let azure: MockLlm;
  let t: TestGateway;
  let oai: OpenAI;
  before(async () => {
    mistral = await startMockLlm({ usageInFinalChunk: true });
    azure = await startMockLlm();
    t = await startGateway(
      {
        services: [],
        routes: [{ name: 'llm', paths: ['/v1'], ai: { endpoint: 'openai' } }],
        policies: [{ name: 'test-header-consumer' }],
        ai: {
          providers: [
            { name: 'mistral', kind: 'mistral', baseUrl: `${mistral.url}/v1`, apiKey: 'mistral-secret-key' },
            {
              name: 'azure',
              kind: 'azure-openai',
              baseUrl: azure.url,
              apiKey: 'azure-secret-key',
              apiVersion: '2024-10-21',
            },
            {
              name: 'azure-default',
              kind: 'azure-openai',
              baseUrl: `${azure.url}/`,
              apiKey: 'azure-secret-key',
            },
          ],
          models: [
            { name: 'mistral-small', targets: [{ provider: 'mistral', model: 'mistral-small-latest' }] },
            {
              name: 'mistral-embed',
              embeddings: true,
              targets: [{ provider: 'mistral', model: 'mistral-embed' }],
            },
            { name: 'gpt4o', targets: [{ provider: 'azure', model: 'prod gpt-4o' }] },
            { name: 'gpt4o-default', targets: [{ provider: 'azure-default', model: 'gpt4o' }] },
            {
              name: 'azure-embed',
              embeddings: true,
              targets: [{ provider: 'azure', model: 'embed-3-small' }],
            },
          ],
        },
      },
      { policies: [headerConsumer] },
    );
    oai = new OpenAI({
      apiKey: 'pcs-key',
      baseURL: `${t.url}/v1`,
      maxRetries: 0,
      defaultHeaders: { 'x-consumer': 'frank' },
    });
  });
  after(async () => {
    await t?.stop();
    await mistral?.close();
    await azure?.close();
  });

  const records = async (n: number) =>
    (await adminCall(t, 'GET', `/ai/usage/records?consumer=frank&limit=${n}`)).json.records as any[];

  it('Mistral: bearer key, /v1/chat/completions, the alias in the answer', async () => {
    const r = await oai.chat.completions.create({
      model: 'mistral-small',
      messages: [{ role: 'user', content: 'bonjour' }],
    });
    assert.equal(r.choices[0].message.content, 'Hello from the mock');
    assert.equal(r.model, 'mistral-small');
    const seen = mistral.calls.at(-1)!;
    assert.equal(seen.path, '/v1/chat/completions');
    assert.equal(seen.headers.authorization, 'Bearer mistral-secret-key');
    assert.equal(seen.body.model, 'mistral-small-latest');
  });

  it('Mistral streams: no stream_options sent, usage read from the final chunk and recorded as reported', async () => {
    const s = await oai.chat.completions.create({
      model: 'mistral-small',
      messages: [{ role: 'user', content: 'bonjour' }],
      stream: true,
    });
    let text = '';
    for await (const c of s) text += c.choices[0]?.delta?.content ?? '';
    assert.equal(text, 'Hello from the mock');
    const seen = mistral.calls.at(-1)!;
    assert.equal(seen.body.stream, true);
    assert.equal(seen.body.stream_options, undefined);
    const [rec] = await records(1);
    assert.deepEqual(
      [rec.provider, rec.providerModel, rec.stream, rec.inputTokens, rec.outputTokens, rec.estimated],
      ['mistral', 'mistral-small-latest', true, 11, 7, false],
    );
  });

  it('Mistral embeddings at /v1/embeddings', async () => {
    const e = await oai.embeddings.create({ model: 'mistral-embed', input: 'x', encoding_format: 'float' });
    assert.deepEqual(e.data[0].embedding, [0.1, 0.2, 0.3]);
    assert.equal(mistral.calls.at(-1)!.path, '/v1/embeddings');
    assert.equal(mistral.calls.at(-1)!.body.model, 'mistral-embed');
  });

  it('Azure: the deployment in the path (encoded), api-version in the query, the key in `api-key`', async () => {
    const r = await oai.chat.completions.create({
      model: 'gpt4o',
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.equal(r.choices[0].message.content, 'Hello from the mock');
    assert.equal(r.model, 'gpt4o');
    const seen = azure.calls.at(-1)!;
    assert.equal(seen.path, '/openai/deployments/prod%20gpt-4o/chat/completions?api-version=2024-10-21');
    assert.equal(seen.headers['api-key'], 'azure-secret-key');
    assert.equal(seen.headers.authorization, undefined);
    await oai.chat.completions.create({
      model: 'gpt4o-default',
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.equal(
      azure.calls.at(-1)!.path,
      '/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21',
    );
  });

  it('Azure streams ask for usage in the last chunk and hide it from a client that did not ask', async () => {
    const s = await oai.chat.completions.create({
      model: 'gpt4o',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    let text = '';
    let sawUsage = false;
    for await (const c of s) {
      text += c.choices[0]?.delta?.content ?? '';
      if (c.usage) sawUsage = true;
    }
    assert.equal(text, 'Hello from the mock');
    assert.equal(sawUsage, false);
    assert.deepEqual(azure.calls.at(-1)!.body.stream_options, { include_usage: true });
    const [rec] = await records(1);
    assert.deepEqual(
      [rec.provider, rec.inputTokens, rec.outputTokens, rec.estimated],
      ['azure', 11, 7, false],
    );
  });

  it('Azure embeddings under the deployment', async () => {
    await oai.embeddings.create({ model: 'azure-embed', input: ['a', 'b'] });
    assert.equal(
      azure.calls.at(-1)!.path,
      '/openai/deployments/embed-3-small/embeddings?api-version=2024-10-21',
    );
  });

  it('passes a provider 429 on with Retry-After, in the OpenAI error shape, and never logs a provider key', async () => {
    azure.behave('429');
    try {
      const r = await call(`${t.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-consumer': 'frank' },
        body: JSON.stringify({ model: 'gpt4o', messages: [{ role: 'user', content: 'hi' }] }),
      });
      assert.equal(r.status, 429);
      assert.equal(r.headers['retry-after'], '2');
      assert.equal(r.json.error.code, 'rate_limit_exceeded');
      await accessLineOf(t.access, r); // written, so the check below sees it
    } finally {
      azure.behave('ok');
    }
    const logged = JSON.stringify([...t.access.lines, ...t.logs.lines]);
    assert.doesNotMatch(logged, /azure-secret-key|mistral-secret-key/);
  });
});
