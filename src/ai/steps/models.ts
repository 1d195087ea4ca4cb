import type { TerminalCall } from '../../runtime/compile.js';
import { type AiError, aiError, sendJson } from '../errors.js';
import type { AiModelConfig } from '../../config/ai-schema.js';
import type { AiRoute, AiShared } from './turn.js';

/** `GET …/models` on an OpenAI route lists the aliases it may call. */
export function isModelList(route: AiRoute, call: TerminalCall): boolean {
  const { request } = call.ctx;
  return (
    route.format === 'openai' &&
    !route.template &&
    request.path.endsWith('/models') &&
    request.method === 'GET'
  );
}

export function listModels(route: AiRoute, call: TerminalCall): void {
  const { allowed } = route;
  const data = [...route.sh.models.values()]
    .filter((m) => !allowed || allowed.has(m.name))
    .map((m) => ({ id: m.name, object: 'model', created: 0, owned_by: 'portcullis' }));
  sendJson(call.exchange, call.res, 200, { object: 'list', data });
}

/** The alias's model, or the error to answer: no such alias, or not on this route. */
export function resolveModel(route: AiRoute, name: string): AiModelConfig | AiError {
  const model = route.sh.models.get(name) ?? directModel(route.sh, name);
  if (!model)
    return aiError(
      'PCS_ERR_AI_MODEL_NOT_FOUND',
      404,
      'invalid_request_error',
      'model_not_found',
      `The model \`${name}\` does not exist`,
    );
  if (route.allowed && !route.allowed.has(name))
    return aiError(
      'PCS_ERR_AI_MODEL_NOT_ALLOWED',
      403,
      'permission_error',
      'model_not_allowed',
      `The model \`${name}\` is not available on this route`,
    );
  return model;
}

/** With `directModels`, `provider/model` names a model of a configured provider. */
function directModel(sh: AiShared, name: string): AiModelConfig | undefined {
  if (!sh.directModels) return undefined;
  const i = name.indexOf('/');
  if (i <= 0 || !sh.dispatch.providers.has(name.slice(0, i))) return undefined;
  return {
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
