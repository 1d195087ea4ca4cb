import type { Opened } from '../dispatch.js';
import { openChat, withStrategy } from '../dispatch.js';
import { type Guard, runGuards, streamGuards } from '../output-guards.js';
import type { ChatRequest } from '../protocols/types.js';
import type { AiModelConfig } from '../../config/ai-schema.js';
import { pumpStream, type StreamResult } from '../stream.js';
import { estimateText } from '../tokens.js';
import { failed, record } from './settle.js';
import { type AiTurn, attempted } from './turn.js';

/**
 * Stream: a streamed chat call. Dispatched until a provider answers 2xx, then the SSE headers go
 * out and the provider's events are pumped to the client, through the enforced guards in flight.
 */
export async function streamChat(
  t: AiTurn,
  model: AiModelConfig,
  chat: ChatRequest,
  estimate: number,
  guards: Guard[],
): Promise<void> {
  const { ctx, res, x } = t;
  const { clock } = t.route.sh;
  let opened: Opened;
  try {
    opened = await withStrategy(t.route.sh.dispatch, {
      model,
      signal: t.ac.signal,
      attempt: (p, target, s) => {
        attempted(t, p, target);
        return openChat(p, target, chat, true, s, clock);
      },
    });
  } catch (err) {
    return failed(t, err, true);
  }
  x.upstreamStatus = opened.reply.status;
  x.status = 200;
  res.writeHead(200, {
    ...ctx.responseHeaders,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no',
    'x-request-id': t.rid,
  });
  res.flushHeaders();
  // Enforced guards check, rewrite or cut the streamed text in flight.
  const inFlight = streamGuards(guards);
  const s = await pumpStream({
    opened,
    filter: inFlight.filter,
    res,
    x,
    format: t.route.format,
    alias: t.alias,
    clientWantsUsage: chat.stream_options?.include_usage === true,
    estimateInput: estimate,
    messageId: `msg_${t.rid.replace(/[^A-Za-z0-9]/g, '').slice(0, 24)}`,
    monotonic: () => clock.monotonic(),
    signal: t.ac.signal,
  });
  if (s.ended === 'client' || s.ended === 'blocked') opened.reply.body.destroy();
  inFlight.record(ctx, s);
  endStream(t, s, estimate, guards);
}

/** Notes how the stream ended, runs the guards that watch the whole answer, counts it, ends the response. */
function endStream(t: AiTurn, s: StreamResult, estimate: number, guards: Guard[]): void {
  const { x } = t;
  if (s.ended === 'blocked') {
    x.code = 'PCS_ERR_AI_OUTPUT_BLOCKED';
    x.detail = s.blocked?.message;
  }
  const estimated = !s.usage;
  const inputTokens = s.usage?.prompt_tokens ?? estimate;
  const outputTokens = s.usage?.completion_tokens ?? estimateText(s.text) + estimateText(s.toolArgs);
  if (guards.length && s.ended === 'ok') runGuards(t.ctx, guards, s.text);
  const status =
    s.ended === 'client' ? 499 : s.ended === 'provider' ? 502 : s.ended === 'blocked' ? 422 : 200;
  if (s.ended === 'provider') {
    x.code = 'PCS_ERR_AI_PROVIDER_UNAVAILABLE';
    x.detail = s.error;
  }
  record(t, {
    inputTokens,
    outputTokens,
    status,
    stream: true,
    estimated,
    ttftMs: s.firstByteAt ? s.firstByteAt - t.t0 : null,
  });
  if (!t.res.destroyed) t.res.end();
}
