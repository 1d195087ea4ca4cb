import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { aiConfig, headerConsumer, type MockLlm, startMockLlm } from './helpers/mock-llm.js';

const TOOLS = [
  {
    type: 'function' as const,
    function: {
      name: 'get_weather',
      parameters: { type: 'object', properties: { city: { type: 'string' } } },
    },
  },
  {
    type: 'function' as const,
    function: { name: 'get_time', parameters: { type: 'object', properties: { tz: { type: 'string' } } } },
  },
];

describe('AI gateway through the official clients', () => {
  let a: MockLlm;
  let b: MockLlm;
  let t: TestGateway;
  let oai: OpenAI;
  let ant: Anthropic;
  before(async () => {
    a = await startMockLlm();
    b = await startMockLlm();
    t = await startGateway(aiConfig(a, b), { policies: [headerConsumer] });
    oai = new OpenAI({
      apiKey: 'pcs-key',
      baseURL: `${t.url}/v1`,
      maxRetries: 0,
      defaultHeaders: { 'x-consumer': 'alice' },
    });
    ant = new Anthropic({
      apiKey: 'pcs-key',
      baseURL: `${t.url}/anthropic`,
      maxRetries: 0,
      defaultHeaders: { 'x-consumer': 'bob' },
    });
  });
  after(async () => {
    await t?.stop();
    await a?.close();
    await b?.close();
  });

  it('chat completion, not streamed, with the alias in the answer and the key of the provider upstream', async () => {
    const r = await oai.chat.completions.create({
      model: 'fast',
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.equal(r.choices[0].message.content, 'Hello from the mock');
    assert.equal(r.model, 'fast');
    assert.deepEqual(r.usage, { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 });
    const seen = b.calls.at(-1)!;
    assert.equal(seen.body.model, 'gpt-4o-mini');
    assert.equal(seen.headers.authorization, 'Bearer sk-b');
  });

  it('streams chunk by chunk, with usage when asked', async () => {
    const s = await oai.chat.completions.create({
      model: 'fast',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: unknown;
    for await (const c of s) {
      text += c.choices[0]?.delta?.content ?? '';
      if (c.usage) usage = c.usage;
    }
    assert.equal(text, 'Hello from the mock');
    assert.deepEqual(usage, { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 });
  });

  it('streams several tool calls (OpenAI in, OpenAI provider)', async () => {
    const s = oai.chat.completions.stream({
      model: 'fast',
      messages: [{ role: 'user', content: 'weather and time' }],
      tools: TOOLS,
    });
    const final = await s.finalChatCompletion();
    const calls = final.choices[0].message.tool_calls!.map(
      (c) => c.type === 'function' && [c.id, c.function.name, c.function.arguments],
    );
    assert.deepEqual(calls, [
      ['call_a', 'get_weather', '{"city":"Paris"}'],
      ['call_b', 'get_time', '{"tz":"CET"}'],
    ]);
    assert.equal(final.choices[0].finish_reason, 'tool_calls');
  });

  it('translates OpenAI in to an Anthropic provider, streamed tool calls and plain text', async () => {
    const s = oai.chat.completions.stream({
      model: 'sonnet',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'x' },
      ],
      tools: TOOLS,
    });
    const final = await s.finalChatCompletion();
    assert.deepEqual(
      final.choices[0].message.tool_calls!.map(
        (c) => c.type === 'function' && [c.function.name, JSON.parse(c.function.arguments)],
      ),
      [
        ['get_weather', { city: 'Paris' }],
        ['get_time', { tz: 'CET' }],
      ],
    );
    assert.equal(final.choices[0].finish_reason, 'tool_calls');
    const sent = b.calls.at(-1)!;
    assert.equal(sent.path, '/v1/messages');
    assert.equal(sent.body.system, 'be brief');
    assert.equal(sent.headers['x-api-key'], 'sk-ant');
    assert.equal(sent.body.tools[0].name, 'get_weather');
    const r = await oai.chat.completions.create({
      model: 'sonnet',
      messages: [{ role: 'user', content: 'x' }],
    });
    assert.equal(r.choices[0].message.content, 'Hello from the mock');
    assert.deepEqual(r.usage, { prompt_tokens: 13, completion_tokens: 9, total_tokens: 22 });
  });

  it('serves the Anthropic Messages API over an OpenAI provider, streamed with tools and not', async () => {
    const m = await ant.messages.create({
      model: 'fast',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.equal(m.content[0].type === 'text' && m.content[0].text, 'Hello from the mock');
    assert.equal(m.stop_reason, 'end_turn');
    assert.deepEqual(m.usage.input_tokens, 11);
    const stream = ant.messages.stream({
      model: 'fast',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'weather and time' }],
      tools: TOOLS.map((x) => ({
        name: x.function.name,
        input_schema: x.function.parameters as { type: 'object' },
      })),
    });
    const final = await stream.finalMessage();
    assert.deepEqual(
      final.content.map((c) => c.type === 'tool_use' && [c.id, c.name, c.input]),
      [
        ['call_a', 'get_weather', { city: 'Paris' }],
        ['call_b', 'get_time', { tz: 'CET' }],
      ],
    );
    assert.equal(final.stop_reason, 'tool_use');
    assert.equal(final.usage.output_tokens, 7);
    const text = await ant.messages
      .stream({ model: 'sonnet', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] })
      .finalText();
    assert.equal(text, 'Hello from the mock');
  });

  it('JSON mode, Gemini, models list and embeddings', async () => {
    const j = await oai.chat.completions.create({
      model: 'fast',
      messages: [{ role: 'user', content: 'json' }],
      response_format: { type: 'json_object' },
    });
    assert.deepEqual(JSON.parse(j.choices[0].message.content!), { ok: true });
    const g = await oai.chat.completions.create({
      model: 'gemini',
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.equal(g.choices[0].message.content, 'Hello from the mock');
    assert.equal(b.calls.at(-1)!.headers['x-goog-api-key'], 'g-key');
    let gs = '';
    for await (const c of await oai.chat.completions.create({
      model: 'gemini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    }))
      gs += c.choices[0]?.delta?.content ?? '';
    assert.equal(gs, 'Hello from the mock');
    const list = await oai.models.list();
    assert.ok(list.data.map((x) => x.id).includes('fast'));
    const e = await oai.embeddings.create({ model: 'emb', input: 'hello', encoding_format: 'float' });
    assert.deepEqual(e.data[0].embedding, [0.1, 0.2, 0.3]);
  });

  it('falls back on 5xx, 429 and timeout; errors in the OpenAI shape with 502, 504, 429', async () => {
    for (const mode of ['500', '429', 'slow-headers'] as const) {
      a.behave(mode);
      const r = await oai.chat.completions.create({
        model: 'chain',
        messages: [{ role: 'user', content: 'hi' }],
      });
      assert.equal(r.choices[0].message.content, 'Hello from the mock', mode);
      assert.equal(b.calls.at(-1)!.body.model, 'secondary');
    }
    a.behave('500');
    const before = a.calls.length;
    const e500 = await call(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'only-a', messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.equal(e500.status, 502);
    assert.equal(e500.json.error.type, 'api_error');
    assert.equal(a.calls.length - before, 3, 'one call and two retries');
    a.behave('429');
    await assert.rejects(
      oai.chat.completions.create({ model: 'only-a', messages: [{ role: 'user', content: 'x' }] }),
      (err: any) => err.status === 429 && err.headers.get('retry-after') === '2',
    );
    a.behave('slow-headers');
    const e504 = await call(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'only-a', stream: true, messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.equal(e504.status, 504);
    assert.equal(e504.json.error.code, 'provider_timeout');
    a.behave('ok');
    const dead = await call(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'only-dead', messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.equal(dead.status, 502);
    assert.equal(dead.json.error.code, 'provider_unreachable');
    const unknown = await call(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.error.code, 'model_not_found');
    const bad = await call(`${t.url}/anthropic/v1/messages`, { method: 'POST', body: '{nope' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.type, 'error');
    assert.equal(bad.json.error.type, 'invalid_request_error');
  });

  it('cancels the provider call when the client disconnects mid-stream, and still records usage', async () => {
    a.behave('slow-stream');
    const ac = new AbortController();
    const r = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-consumer': 'carol' },
      body: JSON.stringify({ model: 'only-a', stream: true, messages: [{ role: 'user', content: 'count' }] }),
      signal: ac.signal,
    });
    const reader = r.body!.getReader();
    await reader.read();
    await reader.read();
    ac.abort();
    const upstream = a.calls.at(-1)!;
    for (let i = 0; i < 100 && !upstream.aborted; i++) await new Promise((res) => setTimeout(res, 20));
    assert.equal(upstream.aborted, true, 'provider request cancelled');
    a.behave('ok');
    let rec: any;
    for (let i = 0; i < 50 && !rec; i++) {
      const recs = await adminCall(t, 'GET', '/ai/usage/records?consumer=carol');
      rec = recs.json.records[0];
      if (!rec) await new Promise((res) => setTimeout(res, 20));
    }
    assert.equal(rec.status, 499);
    assert.equal(rec.stream, true);
    assert.ok(rec.inputTokens > 0 && rec.outputTokens > 0, 'estimated tokens recorded');
    assert.equal(rec.estimated, true);
  });

  it('records usage and cost by consumer, model and day', async () => {
    const r = await adminCall(t, 'GET', '/ai/usage?groupBy=consumer,model,day&consumer=alice&model=fast');
    assert.equal(r.status, 200);
    const row = r.json.rows[0];
    assert.equal(row.consumer, 'alice');
    assert.equal(row.model, 'fast');
    assert.match(row.day, /^\d{4}-\d{2}-\d{2}$/);
    assert.ok(row.requests >= 4);
    assert.ok(row.cost > 0);
    const recs = await adminCall(t, 'GET', '/ai/usage/records?consumer=alice&model=fast&limit=1');
    assert.equal(recs.json.records[0].provider, 'b');
    const bad = await adminCall(t, 'GET', '/ai/usage?groupBy=color');
    assert.equal(bad.status, 400);
  });
});
