import type { Clock } from '../core/clock.js';
import { type AiError, aiError } from './errors.js';
import {
  AnthropicStreamDecoder,
  fromAnthropicResponse,
  toAnthropicRequest,
} from './protocols/anthropic-wire.js';
import { fromGeminiResponse, GeminiStreamDecoder, toGeminiRequest } from './protocols/gemini-wire.js';
import type { ChatChunk, ChatRequest, ChatResponse } from './protocols/types.js';
import type { ProviderSpec } from './providers/index.js';
import type { AiModelConfig, AiProviderConfig, AiTargetConfig } from '../config/ai-schema.js';
import { callProvider, classify, type ProviderReply, poolFor, UpstreamFailure } from './upstream.js';

/** A provider as compiled: its config (secrets resolved), its spec, where it lives. */
export interface CompiledProvider {
  cfg: AiProviderConfig;
  spec: ProviderSpec;
  origin: string;
  basePath: string;
  poolKey: string;
  headers: Record<string, string>;
}

export interface Attempted {
  provider: CompiledProvider;
  target: AiTargetConfig;
}

export type Decoder = {
  decode(event: string, data: string): ChatChunk[] | { error: string };
  finish?(): ChatChunk | undefined;
};

export interface Opened extends Attempted {
  reply: ProviderReply;
  /** Turns provider SSE events into canonical chunks; undefined for OpenAI-protocol providers (chunks are canonical already). */
  decoder: Decoder | undefined;
}

export interface DispatchDeps {
  providers: ReadonlyMap<string, CompiledProvider>;
  clock: Clock;
  random: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
}

const RETRYABLE = (s: number) => s === 408 || s === 429 || s >= 500;

/** The targets of an alias in the order they are tried. */
export function order(model: AiModelConfig, random: () => number): AiTargetConfig[] {
  const t = model.targets;
  if (model.strategy === 'single') return [t[0]];
  if (model.strategy === 'fallback' || t.length === 1) return t;
  // weighted: draw without replacement by weight; zero-weight targets last, as fallbacks.
  const rest = t.filter((x) => x.weight > 0);
  const out: AiTargetConfig[] = [];
  while (rest.length) {
    const total = rest.reduce((a, x) => a + x.weight, 0);
    let r = random() * total;
    let i = 0;
    while (i < rest.length - 1 && r >= rest[i].weight) r -= rest[i++].weight;
    out.push(rest.splice(i, 1)[0]);
  }
  return [...out, ...t.filter((x) => x.weight === 0)];
}

function headersOf(p: CompiledProvider, stream: boolean): Record<string, string> {
  return {
    ...p.headers,
    'content-type': 'application/json',
    accept: stream ? 'text/event-stream' : 'application/json',
  };
}

function chatBody(p: CompiledProvider, req: ChatRequest, model: string, stream: boolean): string {
  if (p.spec.protocol === 'anthropic') return JSON.stringify(toAnthropicRequest({ ...req, stream }, model));
  if (p.spec.protocol === 'gemini') return JSON.stringify(toGeminiRequest(req));
  const out: ChatRequest = { ...req, model, stream };
  if (!stream) delete out.stream_options;
  else if (p.spec.streamUsage) out.stream_options = { ...req.stream_options, include_usage: true };
  return JSON.stringify(out);
}

/** A provider's error answer as a failure, with its message (never its headers or key). */
async function failureOf(r: ProviderReply): Promise<UpstreamFailure & { status?: number; info?: AiError }> {
  let text = '';
  try {
    text = (await r.body.text()).slice(0, 4000);
  } catch {
    // the message is a courtesy
  }
  let message = `provider answered ${r.status}`;
  try {
    const j = JSON.parse(text);
    const m = j?.error?.message ?? (Array.isArray(j) ? j[0]?.error?.message : undefined) ?? j?.message;
    if (typeof m === 'string') message = m;
  } catch {
    // not JSON
  }
  const f = new UpstreamFailure('status', message) as UpstreamFailure & { status?: number; info?: AiError };
  f.status = r.status;
  const retryAfter = r.headers['retry-after'];
  const headers = typeof retryAfter === 'string' ? { 'retry-after': retryAfter } : undefined;
  if (r.status === 429)
    f.info = aiError(
      'PCS_ERR_AI_PROVIDER_RATE_LIMITED',
      429,
      'rate_limit_error',
      'rate_limit_exceeded',
      message,
      headers,
    );
  else if (r.status >= 500)
    f.info = aiError(
      'PCS_ERR_AI_PROVIDER_UNAVAILABLE',
      502,
      'api_error',
      'provider_error',
      `provider error: ${message}`,
    );
  else
    f.info = aiError(
      'PCS_ERR_AI_PROVIDER_REJECTED',
      r.status === 401 || r.status === 403 ? 502 : r.status,
      'invalid_request_error',
      'provider_rejected',
      message,
    );
  return f;
}

/** The failure a client is told about, from the last attempt's failure. */
export function toAiError(err: unknown): AiError {
  const f = err as UpstreamFailure & { info?: AiError };
  if (f?.info) return f.info;
  if (f instanceof UpstreamFailure && f.kind === 'timeout')
    return aiError(
      'PCS_ERR_AI_PROVIDER_TIMEOUT',
      504,
      'timeout_error',
      'provider_timeout',
      'The AI provider did not answer in time',
    );
  return aiError(
    'PCS_ERR_AI_PROVIDER_UNAVAILABLE',
    502,
    'api_error',
    'provider_unreachable',
    'The AI provider could not be reached',
  );
}

function isRetryable(err: unknown): boolean {
  const f = err as UpstreamFailure & { status?: number };
  if (!(f instanceof UpstreamFailure)) return false;
  if (f.kind === 'aborted') return false;
  if (f.kind === 'status') return RETRYABLE(f.status ?? 0);
  return true;
}

export interface RunOptions<T> {
  model: AiModelConfig;
  signal: AbortSignal;
  /** One attempt: resolves when the provider answered 2xx, rejects with a classified failure. */
  attempt(p: CompiledProvider, t: AiTargetConfig, signal: AbortSignal): Promise<T>;
  onAttemptFailed?(p: CompiledProvider, t: AiTargetConfig, err: unknown): void;
}

/** Runs a call through the alias's strategy: retries with backoff and jitter, then the next target. */
export async function withStrategy<T>(d: DispatchDeps, o: RunOptions<T>): Promise<T> {
  const retries = o.model.retries;
  let last: unknown;
  for (const t of order(o.model, d.random)) {
    const p = d.providers.get(t.provider)!;
    for (let n = 0; n <= (retries?.attempts ?? 0); n++) {
      if (n > 0 && retries) {
        const cap = Math.min(retries.maxBackoffMs, retries.backoffMs * 2 ** (n - 1));
        await d.sleep(d.random() * cap, o.signal);
      }
      if (o.signal.aborted) throw new UpstreamFailure('aborted', 'client went away');
      try {
        return await o.attempt(p, t, o.signal);
      } catch (err) {
        last = err;
        o.onAttemptFailed?.(p, t, err);
        if (!isRetryable(err)) throw err;
      }
    }
  }
  throw last;
}

/** Opens a chat call on one target: 2xx headers received, body not read. */
export async function openChat(
  p: CompiledProvider,
  t: AiTargetConfig,
  req: ChatRequest,
  stream: boolean,
  signal: AbortSignal,
  clock: Clock,
): Promise<Opened> {
  const reply = await callProvider(poolFor(p.poolKey, p.cfg, p.origin), {
    path: p.basePath + p.spec.chatPath(t.model, stream, p.cfg),
    headers: headersOf(p, stream),
    body: chatBody(p, req, t.model, stream),
    signal,
    headersTimeout: t.timeoutMs,
    bodyTimeout: t.idleTimeoutMs,
  });
  if (reply.status >= 300) throw await failureOf(reply);
  const created = Math.floor(clock.now() / 1000);
  const id = `chatcmpl-${Math.floor(clock.now()).toString(36)}${Math.random().toString(36).slice(2, 10)}`;
  let decoder: Decoder | undefined;
  if (stream && p.spec.protocol === 'anthropic') decoder = new AnthropicStreamDecoder(req.model, created);
  else if (stream && p.spec.protocol === 'gemini') decoder = new GeminiStreamDecoder(req.model, created, id);
  return { provider: p, target: t, reply, decoder };
}

/** Reads a non-streamed answer into a canonical response. */
export async function readChat(
  o: Opened,
  alias: string,
  clock: Clock,
  signal: AbortSignal,
): Promise<ChatResponse> {
  let body: any;
  try {
    body = await o.reply.body.json();
  } catch (err) {
    if (err instanceof SyntaxError) throw new UpstreamFailure('connect', 'provider sent invalid JSON');
    throw classify(err, signal);
  }
  const created = Math.floor(clock.now() / 1000);
  if (o.provider.spec.protocol === 'anthropic') return fromAnthropicResponse(body, alias, created);
  if (o.provider.spec.protocol === 'gemini')
    return fromGeminiResponse(body, alias, created, `chatcmpl-${created}`);
  return { ...body, model: alias } as ChatResponse;
}

/** Opens an embeddings call (OpenAI-protocol providers only). */
export async function openEmbeddings(
  p: CompiledProvider,
  t: AiTargetConfig,
  body: Record<string, unknown>,
  signal: AbortSignal,
): Promise<ProviderReply> {
  if (!p.spec.embeddingsPath)
    throw Object.assign(new UpstreamFailure('status', 'no embeddings'), {
      info: aiError(
        'PCS_ERR_AI_UNSUPPORTED',
        400,
        'invalid_request_error',
        'unsupported_operation',
        `provider '${p.cfg.name}' does not serve embeddings`,
      ),
    });
  const reply = await callProvider(poolFor(p.poolKey, p.cfg, p.origin), {
    path: p.basePath + p.spec.embeddingsPath(t.model, p.cfg),
    headers: headersOf(p, false),
    body: JSON.stringify({ ...body, model: t.model }),
    signal,
    headersTimeout: t.timeoutMs,
    bodyTimeout: t.idleTimeoutMs,
  });
  if (reply.status >= 300) throw await failureOf(reply);
  return reply;
}
