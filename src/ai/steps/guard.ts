import type { AiCallKind } from '../call-state.js';
import { aiError } from '../errors.js';
import type { AiModelConfig } from '../../config/ai-schema.js';
import { TemplateInputError } from '../template.js';
import { resolveModel } from './models.js';
import { zero } from './settle.js';
import { type AiRoute, type AiTurn, fail } from './turn.js';

const badRequest = (m: string) =>
  aiError('PCS_ERR_AI_BAD_REQUEST', 400, 'invalid_request_error', 'invalid_request', m);

/** The operations a route serves: its endpoint's, or any AI call on a template route. */
function serves(route: AiRoute, kind: AiCallKind): boolean {
  if (route.template) return kind !== 'other';
  if (route.format === 'anthropic') return kind === 'messages';
  return kind === 'chat' || kind === 'embeddings';
}

/**
 * Guard: refuses what the route does not serve (operation, bad body, template input, model),
 * answering and settling the call at zero; otherwise sets the turn's alias and request and gives
 * the model to call. A template's own failure (not the caller's input) propagates.
 */
export function guard(t: AiTurn): AiModelConfig | undefined {
  const { route, call, st } = t;
  const { method, path } = t.ctx.request;
  if (method !== 'POST' || !serves(route, st.kind)) {
    zero(st);
    const m = `No AI operation at ${method} ${path}`;
    fail(route, call, aiError('PCS_ERR_ROUTE_NOT_FOUND', 404, 'invalid_request_error', 'not_found', m));
    return undefined;
  }
  if (st.parseError) {
    zero(st);
    fail(route, call, badRequest(st.parseError));
    return undefined;
  }
  let req = st.request;
  if (route.template) {
    try {
      req = route.template.render(st.body ?? {});
    } catch (err) {
      zero(st);
      if (!(err instanceof TemplateInputError)) throw err;
      fail(route, call, badRequest(err.message));
      return undefined;
    }
  }
  t.chat = req;
  t.alias = String(req?.model ?? st.body?.model ?? '');
  const r = resolveModel(route, t.alias);
  if ('pcs' in r) {
    zero(st, t.alias);
    fail(route, call, r);
    return undefined;
  }
  return r;
}
