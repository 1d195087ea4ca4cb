import type { ServerResponse } from 'node:http';
import type { Exchange } from '../proxy/exchange.js';
import { StreamBlocked, type StreamTextFilter } from './call-state.js';
import type { Opened } from './dispatch.js';
import { AnthropicStreamEncoder } from './protocols/anthropic-input.js';
import type { ChatChunk, ToolCallDelta, Usage } from './protocols/types.js';
import { SseParser } from './sse.js';
import { UpstreamFailure } from './upstream.js';

/**
 * Pumps a provider's SSE stream to the client, event by event as bytes arrive: no timer, no
 * batching. OpenAI-protocol providers going to OpenAI callers are passed through event by event
 * (parsed only to follow usage and text); everything else is decoded to canonical chunks and
 * encoded in the caller's format.
 */
export interface StreamResult {
  usage: Usage | undefined;
  text: string;
  toolArgs: string;
  /** Monotonic time of the first byte written to the client. */
  firstByteAt: number;
  /** Why the stream ended early: the client left, the provider failed, a guard cut it. */
  ended: 'ok' | 'client' | 'provider' | 'blocked';
  error?: string;
  /** With `blocked`: the guard's rule. */
  blocked?: StreamBlocked;
}

export interface PumpOptions {
  opened: Opened;
  res: ServerResponse;
  x: Exchange;
  format: 'openai' | 'anthropic';
  alias: string;
  /** The caller asked for `stream_options.include_usage` (OpenAI format). */
  clientWantsUsage: boolean;
  estimateInput: number;
  messageId: string;
  monotonic: () => number;
  signal: AbortSignal;
  /** Rewrites answer text in flight (guards); turns pass-through off. */
  filter?: StreamTextFilter;
}

function waitDrain(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

export async function pumpStream(o: PumpOptions): Promise<StreamResult> {
  const { res, x } = o;
  const out: StreamResult = { usage: undefined, text: '', toolArgs: '', firstByteAt: 0, ended: 'ok' };
  const parser = new SseParser();
  const decoder = o.opened.decoder;
  const filter = o.filter;
  const passthrough = !decoder && o.format === 'openai' && !filter;
  let lastChunk: ChatChunk | undefined;
  const enc =
    o.format === 'anthropic' ? new AnthropicStreamEncoder(o.alias, o.messageId, o.estimateInput) : undefined;

  const follow = (c: ChatChunk) => {
    if (c.usage) out.usage = c.usage;
    const d = c.choices[0]?.delta;
    if (d?.content) out.text += d.content;
    if (d?.tool_calls)
      for (const t of d.tool_calls as ToolCallDelta[]) out.toolArgs += t.function?.arguments ?? '';
  };
  const write = async (s: string) => {
    if (!s || res.destroyed) return;
    if (!out.firstByteAt) out.firstByteAt = o.monotonic();
    x.bytesOut += Buffer.byteLength(s);
    if (!res.write(s)) await waitDrain(res);
  };
  /** Encodes one chunk for the client; `filtered` text (released by the filter) skips it. */
  const emit = (c: ChatChunk, filtered = false): string => {
    const ch = c.choices[0];
    if (filter && ch && !filtered) {
      lastChunk = c;
      const d = ch.delta;
      let text = d.content ? filter.push(d.content) : '';
      // Held text goes out before a tool call or the end of the answer, in order.
      if (ch.finish_reason || d.tool_calls?.length) text += filter.end();
      if (text || d.content) d.content = text;
    }
    follow(c);
    if (enc) return enc.encode(c);
    if (c.choices.length === 0 && c.usage && !o.clientWantsUsage) return '';
    return `data: ${JSON.stringify({ ...c, model: o.alias })}\n\n`;
  };

  try {
    for await (const buf of o.opened.reply.body) {
      for (const ev of parser.push(buf as Buffer)) {
        if (ev.data === '[DONE]') continue;
        if (passthrough) {
          const c = JSON.parse(ev.data) as ChatChunk & { error?: { message?: string } };
          if (c.error) throw new UpstreamFailure('status', c.error.message ?? 'provider stream error');
          follow(c);
          if (c.choices?.length === 0 && c.usage && !o.clientWantsUsage) continue;
          await write(`data: ${ev.data}\n\n`);
          continue;
        }
        const r = decoder ? decoder.decode(ev.event, ev.data) : [JSON.parse(ev.data) as ChatChunk];
        if (!Array.isArray(r)) throw new UpstreamFailure('status', r.error);
        let s = '';
        for (const c of r) s += emit(c);
        await write(s);
      }
    }
    for (const ev of parser.end())
      if (ev.data !== '[DONE]' && passthrough) await write(`data: ${ev.data}\n\n`);
    const last = decoder?.finish?.();
    let tail = last ? emit(last) : '';
    // A stream that ended without a finish reason still releases what the filter held.
    const rest = filter?.end();
    if (rest && lastChunk)
      tail =
        emit(
          {
            ...lastChunk,
            usage: undefined,
            choices: [{ index: 0, delta: { content: rest }, finish_reason: null }],
          },
          true,
        ) + tail;
    tail += enc ? enc.end() : 'data: [DONE]\n\n';
    await write(tail);
  } catch (err) {
    if (o.signal.aborted || res.destroyed) out.ended = 'client';
    else if (err instanceof StreamBlocked) {
      out.ended = 'blocked';
      out.blocked = err;
      const msg = 'The model answer was blocked by a guardrail';
      await write(
        enc
          ? enc.error(msg, 'invalid_request_error')
          : `data: ${JSON.stringify({ error: { message: msg, type: 'invalid_request_error', code: 'output_blocked' } })}\n\n`,
      );
    } else {
      out.ended = 'provider';
      out.error = (err as Error).message;
      const msg = 'The AI provider stream failed';
      await write(
        enc
          ? enc.error(msg)
          : `data: ${JSON.stringify({ error: { message: msg, type: 'api_error', code: 'provider_stream_error' } })}\n\n`,
      );
    }
  }
  return out;
}
