import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { Terminal, TerminalCall } from '../core/compile.js';
import type { AiRouteConfig } from './schema.js';
import type { AiModelConfig } from './schema.js';
import { BodyTooLargeError } from '../proxy/body-limit.js';
import type { Exchange } from '../proxy/exchange.js';
import type { AiUsageRecord } from '../store/store.js';
import { ResponseCache } from './cache.js';
import { type AiCallState, aiCall, settle } from './call-state.js';
import {
  type DispatchDeps,
  openChat,
  openEmbeddings,
  readChat,
  toAiError,
  withStrategy,
} from './dispatch.js';
import { type AiError, aiError, type Format, sendAiError, sendJson } from './errors.js';
import { outputGuards, runGuards, streamGuards } from './output-guards.js';
import { toAnthropicOutput } from './protocols/anthropic-input.js';
import type { ChatRequest, ChatResponse } from './protocols/types.js';
import { pumpStream } from './stream.js';
import { type CompiledTemplate, TemplateInputError } from './template.js';
import { estimateInput, estimateText } from './tokens.js';
import { UpstreamFailure } from './upstream.js';
import type { GenAiMetrics, PriceTable, UsageWriter } from './usage.js';

/** What one revision's AI terminals share. */
export interface AiShared {
  dispatch: DispatchDeps;
  models: ReadonlyMap<string, AiModelConfig>;
  directModels: boolean;
  prices: PriceTable;
  templates: ReadonlyMap<string, CompiledTemplate>;
  cache: ResponseCache | undefined;
  usage: UsageWriter;
  metrics: GenAiMetrics;
  clock: Clock;
  logger: Logger;
}

const badRequest = (m: string) =>
  aiError('PCS_ERR_AI_BAD_REQUEST', 400, 'invalid_request_error', 'invalid_request', m);

export function makeTerminal(
  sh: AiShared,
  ai: AiRouteConfig,
  template: CompiledTemplate | undefined,
): Terminal {
  const format: Format = ai.endpoint === 'anthropic' ? 'anthropic' : 'openai';
  const allowed = ai.models ? new Set(ai.models) : undefined;
  const { clock } = sh;

  function resolve(name: string): { model?: AiModelConfig; error?: AiError } {
    let model = sh.models.get(name);
    if (!model && sh.directModels) {
      const i = name.indexOf('/');
      if (i > 0 && sh.dispatch.providers.has(name.slice(0, i)))
        model = {
          name,
          strategy: 'single',
          embeddings: false,
          targets: [
            {
              provider: name.slice(0, i),
              model: name.slice(i + 1),
              weight: 1,
              timeoutMs: 60000,
              idleTimeoutMs: 120000,
            },
          ],
        };
    }
    if (!model)
      return {
        error: aiError(
          'PCS_ERR_AI_MODEL_NOT_FOUND',
          404,
          'invalid_request_error',
          'model_not_found',
          `The model \`${name}\` does not exist`,
        ),
      };
    if (allowed && !allowed.has(name))
      return {
        error: aiError(
          'PCS_ERR_AI_MODEL_NOT_ALLOWED',
          403,
          'permission_error',
          'model_not_allowed',
          `The model \`${name}\` is not available on this route`,
        ),
      };
    return { model };
  }

  function listModels(x: Exchange, res: ServerResponse): void {
    const data = [...sh.models.values()]
      .filter((m) => !allowed || allowed.has(m.name))
      .map((m) => ({ id: m.name, object: 'model', created: 0, owned_by: 'portcullis' }));
    sendJson(x, res, 200, { object: 'list', data });
  }

  return async function aiTerminal(call: TerminalCall): Promise<void> {
    const { ctx, res, exchange: x } = call;
    const rid = ctx.requestId;
    const fail = (e: AiError) => sendAiError(format, x, res, e, rid);
    const path = ctx.request.path;
    if (format === 'openai' && !template && path.endsWith('/models') && ctx.request.method === 'GET')
      return listModels(x, res);

    let st: AiCallState;
    try {
      st = await aiCall(ctx);
    } catch (err) {
      if (err instanceof BodyTooLargeError)
        return fail(
          aiError(
            'PCS_ERR_BODY_TOO_LARGE',
            413,
            'invalid_request_error',
            'request_too_large',
            'Request body too large',
          ),
        );
      throw err;
    }
    st.started = true;
    const t0 = clock.monotonic();
    const consumer = ctx.consumer?.name ?? '';
    const base = { ts: clock.now(), requestId: rid, consumer, route: ctx.request.route };
    const zero = (model = '', provider = '') =>
      settle(st, { model, provider, inputTokens: 0, outputTokens: 0, cost: 0, called: false });

    const ok = template
      ? st.kind !== 'other'
      : format === 'anthropic'
        ? st.kind === 'messages'
        : st.kind === 'chat' || st.kind === 'embeddings';
    if (ctx.request.method !== 'POST' || !ok) {
      zero();
      return fail(
        aiError(
          'PCS_ERR_ROUTE_NOT_FOUND',
          404,
          'invalid_request_error',
          'not_found',
          `No AI operation at ${ctx.request.method} ${path}`,
        ),
      );
    }
    if (st.parseError) {
      zero();
      return fail(badRequest(st.parseError));
    }
    let req: ChatRequest | undefined = st.request;
    if (template) {
      try {
        req = template.render(st.body ?? {});
      } catch (err) {
        zero();
        if (err instanceof TemplateInputError) return fail(badRequest(err.message));
        throw err;
      }
    }
    const alias = String(req?.model ?? st.body?.model ?? '');
    const r = resolve(alias);
    if (!r.model) {
      zero(alias);
      return fail(r.error!);
    }
    const model = r.model;

    const ac = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) ac.abort(new UpstreamFailure('aborted', 'client went away'));
    };
    res.on('close', onClose);
    x.abort = () => ac.abort(new UpstreamFailure('aborted', 'client went away'));
    x.upstreamStart = t0;
    let provider = '';
    let providerModel = '';
    const attempted = (p: { cfg: { name: string } }, t: { model: string }) => {
      provider = p.cfg.name;
      providerModel = t.model;
      x.upstreamTarget = `${p.cfg.name}/${t.model}`;
    };
    const record = (
      u: Partial<AiUsageRecord> & {
        inputTokens: number;
        outputTokens: number;
        status: number;
        stream: boolean;
      },
    ) => {
      const cost = u.cached ? 0 : sh.prices.cost(provider, providerModel, u.inputTokens, u.outputTokens);
      const latencyMs = clock.monotonic() - t0;
      sh.usage.add({
        ...base,
        model: alias,
        provider,
        providerModel,
        cost,
        latencyMs,
        ttftMs: null,
        cached: false,
        estimated: false,
        ...u,
      });
      settle(st, {
        model: alias,
        provider,
        inputTokens: u.inputTokens,
        outputTokens: u.outputTokens,
        cost,
        called: provider !== '' && !u.cached,
      });
      const labels = {
        gen_ai_operation_name: st.kind === 'embeddings' ? 'embeddings' : 'chat',
        gen_ai_provider_name: provider || 'none',
        gen_ai_request_model: alias,
        gen_ai_response_model: providerModel || 'none',
      };
      if (u.status < 400) {
        sh.metrics.tokens.labels({ ...labels, gen_ai_token_type: 'input' }).observe(u.inputTokens);
        sh.metrics.tokens.labels({ ...labels, gen_ai_token_type: 'output' }).observe(u.outputTokens);
      }
      sh.metrics.duration
        .labels({ ...labels, error_type: u.status < 400 ? '' : String(u.status) })
        .observe(latencyMs / 1000);
      if (u.ttftMs != null) sh.metrics.ttft.labels(labels).observe(u.ttftMs / 1000);
    };
    const failed = (err: unknown, stream: boolean) => {
      const e = toAiError(err);
      const gone = (err as UpstreamFailure)?.kind === 'aborted';
      record({ inputTokens: 0, outputTokens: 0, status: gone ? 499 : e.status, stream });
      if (gone) {
        x.code = 'PCS_ERR_CLIENT_ABORTED';
        return;
      }
      x.upstreamStatus = (err as { status?: number }).status ?? 0;
      fail(e);
    };

    try {
      if (st.kind === 'embeddings') {
        try {
          const reply = await withStrategy(sh.dispatch, {
            model,
            signal: ac.signal,
            attempt: (p, t, s) => {
              attempted(p, t);
              return openEmbeddings(p, t, st.body, s);
            },
          });
          x.upstreamStatus = reply.status;
          const body = (await reply.body.json()) as { usage?: { prompt_tokens?: number }; model?: string };
          const input = body.usage?.prompt_tokens ?? 0;
          record({ inputTokens: input, outputTokens: 0, status: 200, stream: false });
          return sendJson(x, res, 200, { ...body, model: alias });
        } catch (err) {
          return failed(err, false);
        }
      }

      const chat = req as ChatRequest;
      const stream = chat.stream === true;
      const estimate = estimateInput(chat);
      const guards = outputGuards(call.chain);

      if (!stream) {
        // The output guards are part of the key: a consumer- or group-scoped guard must not be
        // bypassed by an answer cached for a caller it does not apply to.
        const cacheKey =
          ai.cache && sh.cache
            ? ResponseCache.key([
                format,
                alias,
                chat,
                guards.map((g) => `${g.label}@${g.scope}:${g.enforce}`),
              ])
            : undefined;
        const hit = cacheKey ? sh.cache!.get(cacheKey, clock.now()) : undefined;
        if (hit) {
          provider = hit.provider;
          providerModel = hit.providerModel;
          record({
            inputTokens: hit.inputTokens,
            outputTokens: hit.outputTokens,
            status: 200,
            stream: false,
            cached: true,
          });
          return sendJson(x, res, 200, JSON.parse(hit.body), { 'x-portcullis-cache': 'hit' });
        }
        let resp: ChatResponse;
        try {
          resp = await withStrategy(sh.dispatch, {
            model,
            signal: ac.signal,
            attempt: async (p, t, s) => {
              attempted(p, t);
              const o = await openChat(p, t, chat, false, s, clock);
              x.upstreamStatus = o.reply.status;
              return readChat(o, alias, clock, s);
            },
          });
        } catch (err) {
          return failed(err, false);
        }
        const msg = resp.choices[0]?.message;
        const estimated = !resp.usage;
        const inputTokens = resp.usage?.prompt_tokens ?? estimate;
        const outputTokens = resp.usage?.completion_tokens ?? estimateText(msg?.content ?? '');
        if (guards.length && msg) {
          const g = runGuards(ctx, guards, msg.content ?? '');
          if (g.blocked) {
            record({ inputTokens, outputTokens, status: 422, stream: false, estimated });
            return fail(g.blocked);
          }
          if (msg.content != null) msg.content = g.text;
        }
        const outBody = format === 'anthropic' ? toAnthropicOutput(resp, alias) : resp;
        record({ inputTokens, outputTokens, status: 200, stream: false, estimated });
        if (cacheKey)
          sh.cache!.set(cacheKey, {
            body: JSON.stringify(outBody),
            expires: clock.now() + sh.cache!.ttlMs,
            inputTokens,
            outputTokens,
            provider,
            providerModel,
          });
        return sendJson(x, res, 200, outBody, cacheKey ? { 'x-portcullis-cache': 'miss' } : {});
      }

      let opened: Awaited<ReturnType<typeof openChat>>;
      try {
        opened = await withStrategy(sh.dispatch, {
          model,
          signal: ac.signal,
          attempt: (p, t, s) => {
            attempted(p, t);
            return openChat(p, t, chat, true, s, clock);
          },
        });
      } catch (err) {
        return failed(err, true);
      }
      x.upstreamStatus = opened.reply.status;
      x.status = 200;
      res.writeHead(200, {
        ...ctx.responseHeaders,
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        'x-accel-buffering': 'no',
        'x-request-id': rid,
      });
      res.flushHeaders();
      // Enforced guards check, rewrite or cut the streamed text in flight.
      const inFlight = streamGuards(guards);
      const s = await pumpStream({
        opened,
        filter: inFlight.filter,
        res,
        x,
        format,
        alias,
        clientWantsUsage: chat.stream_options?.include_usage === true,
        estimateInput: estimate,
        messageId: `msg_${rid.replace(/[^A-Za-z0-9]/g, '').slice(0, 24)}`,
        monotonic: () => clock.monotonic(),
        signal: ac.signal,
      });
      if (s.ended === 'client' || s.ended === 'blocked') opened.reply.body.destroy();
      inFlight.record(ctx, s);
      if (s.ended === 'blocked') {
        x.code = 'PCS_ERR_AI_OUTPUT_BLOCKED';
        x.detail = s.blocked?.message;
      }
      const estimated = !s.usage;
      const inputTokens = s.usage?.prompt_tokens ?? estimate;
      const outputTokens = s.usage?.completion_tokens ?? estimateText(s.text) + estimateText(s.toolArgs);
      if (guards.length && s.ended === 'ok') runGuards(ctx, guards, s.text);
      const status =
        s.ended === 'client' ? 499 : s.ended === 'provider' ? 502 : s.ended === 'blocked' ? 422 : 200;
      if (s.ended === 'provider') {
        x.code = 'PCS_ERR_AI_PROVIDER_UNAVAILABLE';
        x.detail = s.error;
      }
      record({
        inputTokens,
        outputTokens,
        status,
        stream: true,
        estimated,
        ttftMs: s.firstByteAt ? s.firstByteAt - t0 : null,
      });
      if (!res.destroyed) res.end();
    } finally {
      res.off('close', onClose);
      x.upstreamMs = clock.monotonic() - t0;
      if (!st.settled) zero(alias, provider);
    }
  };
}
