import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Type as T } from '@sinclair/typebox';
import { definePolicy } from '../../src/core/policy.js';

/**
 * A loopback LLM provider speaking the real wire formats: OpenAI chat completions (JSON and SSE
 * with `[DONE]`, tool-call deltas, usage in the last chunk with stream_options), Anthropic
 * messages (JSON and SSE events), Gemini generateContent / streamGenerateContent, OpenAI
 * embeddings, and error bodies with rate-limit headers. `behave` sets what the next calls do.
 */
export type Behaviour = 'ok' | '500' | '429' | 'slow-headers' | 'slow-stream' | 'reset';

export interface MockCall {
  path: string;
  headers: IncomingMessage['headers'];
  body: any;
  /** The client (the gateway) closed the request before the answer ended. */
  aborted: boolean;
}

export interface MockLlm {
  url: string;
  calls: MockCall[];
  behave(b: Behaviour): void;
  /** The answer text of the next chat calls (streamed word by word); undefined restores the default. */
  reply(text: string | undefined): void;
  close(): Promise<void>;
}

export interface MockOptions {
  /** Mistral's way: usage in the last streamed chunk (with `finish_reason`), asked or not. */
  usageInFinalChunk?: boolean;
}

interface Answer {
  slow: boolean;
  text: string[];
  usageInFinalChunk: boolean;
}

const TEXT = ['Hello', ' from', ' the', ' mock'];
const TOOLS = [
  { id: 'call_a', name: 'get_weather', args: ['{"city":', '"Paris"}'] },
  { id: 'call_b', name: 'get_time', args: ['{"tz":"', 'CET"}'] },
];

function sse(res: ServerResponse, data: unknown, event?: string): void {
  res.write(
    `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`,
  );
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const s = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(s)),
    ...headers,
  });
  res.end(s);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function openai(
  req: any,
  res: ServerResponse,
  call: MockCall,
  { slow, text: TEXT, usageInFinalChunk }: Answer,
) {
  const tools = Array.isArray(req.tools) && req.tools.length > 0;
  const usage = { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 };
  const base = { id: 'chatcmpl-mock', created: 1700000000, model: req.model };
  if (!req.stream) {
    const message: any = {
      role: 'assistant',
      content: tools ? null : req.response_format?.type === 'json_object' ? '{"ok":true}' : TEXT.join(''),
    };
    if (tools)
      message.tool_calls = TOOLS.map((t) => ({
        id: t.id,
        type: 'function',
        function: { name: t.name, arguments: t.args.join('') },
      }));
    return json(res, 200, {
      ...base,
      object: 'chat.completion',
      choices: [{ index: 0, message, finish_reason: tools ? 'tool_calls' : 'stop', logprobs: null }],
      usage,
    });
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const chunk = (delta: any, finish: string | null = null) => ({
    ...base,
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
  });
  const frames: unknown[] = [chunk({ role: 'assistant', content: '' })];
  if (tools)
    TOOLS.forEach((t, index) => {
      frames.push(
        chunk({
          tool_calls: [{ index, id: t.id, type: 'function', function: { name: t.name, arguments: '' } }],
        }),
      );
      for (const a of t.args) frames.push(chunk({ tool_calls: [{ index, function: { arguments: a } }] }));
    });
  else
    for (const t of slow ? Array.from({ length: 200 }, () => ' tick') : TEXT)
      frames.push(chunk({ content: t }));
  frames.push(
    usageInFinalChunk
      ? { ...chunk({}, tools ? 'tool_calls' : 'stop'), usage }
      : chunk({}, tools ? 'tool_calls' : 'stop'),
  );
  if (req.stream_options?.include_usage)
    frames.push({ ...base, object: 'chat.completion.chunk', choices: [], usage });
  frames.push('[DONE]');
  void (async () => {
    for (const f of frames) {
      if (call.aborted) return;
      sse(res, f);
      if (slow) await sleep(20);
    }
    res.end();
  })();
}

function anthropic(req: any, res: ServerResponse, call: MockCall, { slow, text: TEXT }: Answer) {
  const tools = Array.isArray(req.tools) && req.tools.length > 0;
  const usage = { input_tokens: 13, output_tokens: 9 };
  if (!req.stream) {
    const content = tools
      ? TOOLS.map((t) => ({ type: 'tool_use', id: t.id, name: t.name, input: JSON.parse(t.args.join('')) }))
      : [{ type: 'text', text: TEXT.join('') }];
    return json(res, 200, {
      id: 'msg_mock',
      type: 'message',
      role: 'assistant',
      model: req.model,
      content,
      stop_reason: tools ? 'tool_use' : 'end_turn',
      stop_sequence: null,
      usage,
    });
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const ev: [string, unknown][] = [
    [
      'message_start',
      {
        type: 'message_start',
        message: {
          id: 'msg_mock',
          type: 'message',
          role: 'assistant',
          model: req.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: 13, output_tokens: 1 },
        },
      },
    ],
  ];
  if (tools)
    TOOLS.forEach((t, i) => {
      ev.push([
        'content_block_start',
        {
          type: 'content_block_start',
          index: i,
          content_block: { type: 'tool_use', id: t.id, name: t.name, input: {} },
        },
      ]);
      for (const a of t.args)
        ev.push([
          'content_block_delta',
          { type: 'content_block_delta', index: i, delta: { type: 'input_json_delta', partial_json: a } },
        ]);
      ev.push(['content_block_stop', { type: 'content_block_stop', index: i }]);
    });
  else {
    ev.push([
      'content_block_start',
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    ]);
    for (const t of slow ? Array.from({ length: 200 }, () => ' tick') : TEXT)
      ev.push([
        'content_block_delta',
        { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: t } },
      ]);
    ev.push(['content_block_stop', { type: 'content_block_stop', index: 0 }]);
  }
  ev.push([
    'message_delta',
    {
      type: 'message_delta',
      delta: { stop_reason: tools ? 'tool_use' : 'end_turn', stop_sequence: null },
      usage: { output_tokens: 9 },
    },
  ]);
  ev.push(['message_stop', { type: 'message_stop' }]);
  void (async () => {
    for (const [name, data] of ev) {
      if (call.aborted) return;
      sse(res, data, name);
      if (slow) await sleep(20);
    }
    res.end();
  })();
}

function gemini(stream: boolean, res: ServerResponse) {
  const piece = (text: string, finish?: string) => ({
    candidates: [
      { content: { role: 'model', parts: [{ text }] }, ...(finish ? { finishReason: finish } : {}) },
    ],
    ...(finish
      ? { usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 4, totalTokenCount: 9 } }
      : {}),
  });
  if (!stream) return json(res, 200, piece(TEXT.join(''), 'STOP'));
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  TEXT.forEach((t, i) => {
    sse(res, piece(t, i === TEXT.length - 1 ? 'STOP' : undefined));
  });
  res.end();
}

export async function startMockLlm(opts: MockOptions = {}): Promise<MockLlm> {
  const calls: MockCall[] = [];
  let mode: Behaviour = 'ok';
  let text = TEXT;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const path = req.url ?? '';
      let body: any = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      } catch {
        body = {};
      }
      const call: MockCall = { path, headers: req.headers, body, aborted: false };
      calls.push(call);
      res.on('close', () => {
        if (!res.writableFinished) call.aborted = true;
      });
      if (mode === 'reset') return req.socket.destroy();
      if (mode === '500')
        return json(res, 500, { error: { message: 'upstream exploded', type: 'server_error' } });
      if (mode === '429')
        return json(
          res,
          429,
          { error: { message: 'Rate limit reached', type: 'rate_limit_error' } },
          {
            'retry-after': '2',
            'x-ratelimit-remaining-requests': '0',
          },
        );
      if (mode === 'slow-headers') await sleep(2000);
      const answer: Answer = {
        slow: mode === 'slow-stream',
        text,
        usageInFinalChunk: opts.usageInFinalChunk === true,
      };
      if (path.includes('/embeddings'))
        return json(res, 200, {
          object: 'list',
          data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2, 0.3] }],
          model: body.model,
          usage: { prompt_tokens: 3, total_tokens: 3 },
        });
      if (path.includes('/chat/completions')) return openai(body, res, call, answer);
      if (path.endsWith('/v1/messages')) return anthropic(body, res, call, answer);
      if (path.includes(':streamGenerateContent')) return gemini(true, res);
      if (path.includes(':generateContent')) return gemini(false, res);
      json(res, 404, { error: { message: 'no such endpoint' } });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    behave: (b) => {
      mode = b;
    },
    reply: (t) => {
      text = t === undefined ? TEXT : t.split(/(?= )/);
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Test-only auth: the consumer named by `x-consumer`. */
export const headerConsumer = definePolicy({
  name: 'test-header-consumer',
  description: 'test only',
  schema: T.Object({}),
  priority: 0,
  create: () => ({
    auth: function testHeaderConsumer(ctx) {
      const name = ctx.request.headers['x-consumer'];
      if (typeof name === 'string') ctx.setConsumer({ id: name, name, groups: ['team'], metadata: {} });
      return undefined;
    },
  }),
});

export function aiConfig(a: MockLlm, b: MockLlm) {
  return {
    services: [],
    routes: [
      { name: 'openai', paths: ['/v1'], ai: { endpoint: 'openai' } },
      { name: 'anthropic', paths: ['/anthropic'], ai: { endpoint: 'anthropic' } },
    ],
    policies: [{ name: 'test-header-consumer' }],
    ai: {
      providers: [
        { name: 'a', kind: 'openai-compatible', baseUrl: `${a.url}/v1`, apiKey: 'sk-a' },
        { name: 'b', kind: 'openai-compatible', baseUrl: `${b.url}/v1`, apiKey: 'sk-b' },
        { name: 'claude', kind: 'anthropic', baseUrl: b.url, apiKey: 'sk-ant' },
        { name: 'gem', kind: 'gemini', baseUrl: b.url, apiKey: 'g-key' },
        { name: 'dead', kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:1/v1' },
      ],
      models: [
        { name: 'fast', targets: [{ provider: 'b', model: 'gpt-4o-mini' }] },
        { name: 'sonnet', targets: [{ provider: 'claude', model: 'claude-sonnet-4' }] },
        { name: 'gemini', targets: [{ provider: 'gem', model: 'gemini-2.0-flash' }] },
        { name: 'emb', embeddings: true, targets: [{ provider: 'b', model: 'text-embedding-3-small' }] },
        {
          name: 'chain',
          strategy: 'fallback',
          targets: [
            { provider: 'a', model: 'primary', timeoutMs: 300 },
            { provider: 'b', model: 'secondary' },
          ],
        },
        {
          name: 'only-a',
          retries: { attempts: 2, backoffMs: 1 },
          targets: [{ provider: 'a', model: 'x', timeoutMs: 300 }],
        },
        { name: 'only-dead', targets: [{ provider: 'dead', model: 'x' }] },
      ],
      prices: [{ model: 'gpt-4o-mini', inputPerMillion: 1000, outputPerMillion: 2000 }],
    },
  };
}
