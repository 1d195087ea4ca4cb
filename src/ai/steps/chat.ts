import { ResponseCache } from '../cache.js';
import { openChat, openEmbeddings, readChat, withStrategy } from '../dispatch.js';
import { sendJson } from '../errors.js';
import { type Guard, runGuards } from '../output-guards.js';
import { toAnthropicOutput } from '../protocols/anthropic-input.js';
import type { ChatRequest, ChatResponse } from '../protocols/types.js';
import type { AiModelConfig } from '../../config/ai-schema.js';
import { estimateText } from '../tokens.js';
import { failed, record } from './settle.js';
import { type AiTurn, attempted, fail } from './turn.js';

/** An embeddings call: dispatched, counted, answered with the alias as the model. */
export async function embeddings(t: AiTurn, model: AiModelConfig): Promise<void> {
  try {
    const reply = await withStrategy(t.route.sh.dispatch, {
      model,
      signal: t.ac.signal,
      attempt: (p, target, s) => {
        attempted(t, p, target);
        return openEmbeddings(p, target, t.st.body, s);
      },
    });
    t.x.upstreamStatus = reply.status;
    const body = (await reply.body.json()) as { usage?: { prompt_tokens?: number }; model?: string };
    const input = body.usage?.prompt_tokens ?? 0;
    record(t, { inputTokens: input, outputTokens: 0, status: 200, stream: false });
    return sendJson(t.x, t.res, 200, { ...body, model: t.alias });
  } catch (err) {
    return failed(t, err, false);
  }
}

/** A non-streamed chat call: from the cache when the route has one, else dispatched and guarded. */
export async function answerChat(
  t: AiTurn,
  model: AiModelConfig,
  chat: ChatRequest,
  estimate: number,
  guards: Guard[],
): Promise<void> {
  const { sh } = t.route;
  // The output guards are part of the key: a consumer- or group-scoped guard must not be
  // bypassed by an answer cached for a caller it does not apply to.
  const cacheKey =
    t.route.ai.cache && sh.cache
      ? ResponseCache.key([
          t.route.format,
          t.alias,
          chat,
          guards.map((g) => `${g.label}@${g.scope}:${g.enforce}`),
        ])
      : undefined;
  if (cacheKey && fromCache(t, cacheKey)) return;
  let resp: ChatResponse;
  try {
    resp = await withStrategy(sh.dispatch, {
      model,
      signal: t.ac.signal,
      attempt: async (p, target, s) => {
        attempted(t, p, target);
        const o = await openChat(p, target, chat, false, s, sh.clock);
        t.x.upstreamStatus = o.reply.status;
        return readChat(o, t.alias, sh.clock, s);
      },
    });
  } catch (err) {
    return failed(t, err, false);
  }
  deliver(t, resp, estimate, guards, cacheKey);
}

/** Answers a cache hit; false when there is none. */
function fromCache(t: AiTurn, key: string): boolean {
  const cache = t.route.sh.cache!;
  const hit = cache.get(key, t.route.sh.clock.now());
  if (!hit) return false;
  t.provider = hit.provider;
  t.providerModel = hit.providerModel;
  record(t, {
    inputTokens: hit.inputTokens,
    outputTokens: hit.outputTokens,
    status: 200,
    stream: false,
    cached: true,
  });
  sendJson(t.x, t.res, 200, JSON.parse(hit.body), { 'x-portcullis-cache': 'hit' });
  return true;
}

/** Checks the answer with the output guards, counts it, caches it and sends it in the caller's format. */
function deliver(
  t: AiTurn,
  resp: ChatResponse,
  estimate: number,
  guards: Guard[],
  cacheKey: string | undefined,
): void {
  const { sh, format } = t.route;
  const msg = resp.choices[0]?.message;
  const estimated = !resp.usage;
  const inputTokens = resp.usage?.prompt_tokens ?? estimate;
  const outputTokens = resp.usage?.completion_tokens ?? estimateText(msg?.content ?? '');
  if (guards.length && msg) {
    const g = runGuards(t.ctx, guards, msg.content ?? '');
    if (g.blocked) {
      record(t, { inputTokens, outputTokens, status: 422, stream: false, estimated });
      fail(t.route, t.call, g.blocked);
      return;
    }
    if (msg.content != null) msg.content = g.text;
  }
  const outBody = format === 'anthropic' ? toAnthropicOutput(resp, t.alias) : resp;
  record(t, { inputTokens, outputTokens, status: 200, stream: false, estimated });
  if (cacheKey)
    sh.cache!.set(cacheKey, {
      body: JSON.stringify(outBody),
      expires: sh.clock.now() + sh.cache!.ttlMs,
      inputTokens,
      outputTokens,
      provider: t.provider,
      providerModel: t.providerModel,
    });
  sendJson(t.x, t.res, 200, outBody, cacheKey ? { 'x-portcullis-cache': 'miss' } : {});
}
