import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import type { TerminalCall } from '../../runtime/compile.js';
import type { PolicyContext } from '../../core/context.js';
import type { Exchange } from '../../proxy/exchange.js';
import type { ResponseCache } from '../cache.js';
import type { AiCallState } from '../call-state.js';
import type { DispatchDeps } from '../dispatch.js';
import { type AiError, type Format, sendAiError } from '../errors.js';
import type { ChatRequest } from '../protocols/types.js';
import type { AiModelConfig, AiRouteConfig } from '../../config/ai-schema.js';
import type { CompiledTemplate } from '../template.js';
import type { GenAiMetrics, PriceTable, UsageWriter } from '../usage.js';

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

/** One AI route, compiled once per revision. */
export interface AiRoute {
  readonly sh: AiShared;
  readonly ai: AiRouteConfig;
  /** The wire format the route's callers speak (template routes answer as OpenAI). */
  readonly format: Format;
  /** The aliases the route may call (`ai.models`); all when unset. */
  readonly allowed: ReadonlySet<string> | undefined;
  readonly template: CompiledTemplate | undefined;
}

/** The fields every usage record of a call starts with. */
export interface UsageBase {
  ts: number;
  requestId: string;
  consumer: string;
  route: string;
}

/**
 * One call through the AI terminal: created once the body is parsed and passed to every step
 * (guard, dispatch, stream, settle), which read and fill it in.
 */
export interface AiTurn {
  readonly route: AiRoute;
  readonly call: TerminalCall;
  readonly ctx: PolicyContext;
  readonly res: ServerResponse;
  readonly x: Exchange;
  readonly rid: string;
  readonly st: AiCallState;
  /** Monotonic time the terminal took the call. */
  readonly t0: number;
  readonly base: UsageBase;
  /** Aborts the upstream call when the client goes away. */
  readonly ac: AbortController;
  /** The alias asked for, and the request to send (rendered, for template routes). */
  alias: string;
  chat: ChatRequest | undefined;
  /** The provider and model of the last attempt ('' before any). */
  provider: string;
  providerModel: string;
}

/** Takes the call: from here on the terminal settles the AI policies' hooks. */
export function newTurn(route: AiRoute, call: TerminalCall, st: AiCallState): AiTurn {
  const { ctx } = call;
  st.started = true;
  const t0 = route.sh.clock.monotonic();
  const base: UsageBase = {
    ts: route.sh.clock.now(),
    requestId: ctx.requestId,
    consumer: ctx.consumer?.name ?? '',
    route: ctx.request.route,
  };
  return {
    route,
    call,
    ctx,
    res: call.res,
    x: call.exchange,
    rid: ctx.requestId,
    st,
    t0,
    base,
    ac: new AbortController(),
    alias: '',
    chat: undefined,
    provider: '',
    providerModel: '',
  };
}

/** Answers an error in the route's format. */
export function fail(route: AiRoute, call: TerminalCall, e: AiError): void {
  sendAiError(route.format, call.exchange, call.res, e, call.ctx.requestId);
}

/** Notes the target an attempt goes to (the access log's upstream, the usage record's provider). */
export function attempted(t: AiTurn, p: { cfg: { name: string } }, target: { model: string }): void {
  t.provider = p.cfg.name;
  t.providerModel = target.model;
  t.x.upstreamTarget = `${p.cfg.name}/${target.model}`;
}
