import type { AiUsageRecord } from '../../store/store.js';
import { type AiCallState, settle } from '../call-state.js';
import { toAiError } from '../dispatch.js';
import type { UpstreamFailure } from '../upstream.js';
import { type AiTurn, fail } from './turn.js';

/** What a step reports about the call it ends; the rest of the usage record comes from the turn. */
export type UsageReport = Partial<AiUsageRecord> & {
  inputTokens: number;
  outputTokens: number;
  status: number;
  stream: boolean;
};

/** Settles a call the provider never saw (refused, or failed before any attempt). */
export function zero(st: AiCallState, model = '', provider = ''): void {
  settle(st, { model, provider, inputTokens: 0, outputTokens: 0, cost: 0, called: false });
}

/** Settle: writes the usage record, fires the AI policies' settle hooks, observes the metrics. */
export function record(t: AiTurn, u: UsageReport): void {
  const { sh } = t.route;
  const cost = u.cached ? 0 : sh.prices.cost(t.provider, t.providerModel, u.inputTokens, u.outputTokens);
  const latencyMs = sh.clock.monotonic() - t.t0;
  sh.usage.add({
    ...t.base,
    model: t.alias,
    provider: t.provider,
    providerModel: t.providerModel,
    cost,
    latencyMs,
    ttftMs: null,
    cached: false,
    estimated: false,
    ...u,
  });
  settle(t.st, {
    model: t.alias,
    provider: t.provider,
    inputTokens: u.inputTokens,
    outputTokens: u.outputTokens,
    cost,
    called: t.provider !== '' && !u.cached,
  });
  observe(t, u, latencyMs);
}

/** The OpenTelemetry GenAI metrics of one call. */
function observe(t: AiTurn, u: UsageReport, latencyMs: number): void {
  const { metrics } = t.route.sh;
  const labels = {
    gen_ai_operation_name: t.st.kind === 'embeddings' ? 'embeddings' : 'chat',
    gen_ai_provider_name: t.provider || 'none',
    gen_ai_request_model: t.alias,
    gen_ai_response_model: t.providerModel || 'none',
  };
  if (u.status < 400) {
    metrics.tokens.labels({ ...labels, gen_ai_token_type: 'input' }).observe(u.inputTokens);
    metrics.tokens.labels({ ...labels, gen_ai_token_type: 'output' }).observe(u.outputTokens);
  }
  metrics.duration
    .labels({ ...labels, error_type: u.status < 400 ? '' : String(u.status) })
    .observe(latencyMs / 1000);
  if (u.ttftMs != null) metrics.ttft.labels(labels).observe(u.ttftMs / 1000);
}

/** Settles a call whose dispatch failed and answers the failure (nothing, if the client left). */
export function failed(t: AiTurn, err: unknown, stream: boolean): void {
  const e = toAiError(err);
  const gone = (err as UpstreamFailure)?.kind === 'aborted';
  record(t, { inputTokens: 0, outputTokens: 0, status: gone ? 499 : e.status, stream });
  if (gone) {
    t.x.code = 'PCS_ERR_CLIENT_ABORTED';
    return;
  }
  t.x.upstreamStatus = (err as { status?: number }).status ?? 0;
  fail(t.route, t.call, e);
}
