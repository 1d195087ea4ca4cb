import type { Terminal, TerminalCall } from '../runtime/compile.js';
import type { AiRouteConfig } from '../config/ai-schema.js';
import { guard } from './steps/guard.js';
import { isModelList, listModels } from './steps/models.js';
import { parse } from './steps/parse.js';
import { run } from './steps/run.js';
import { type AiRoute, type AiShared, newTurn } from './steps/turn.js';
import type { CompiledTemplate } from './template.js';

export type { AiShared };

/**
 * The terminal of one AI route. A call goes through named steps, each in `steps/`, with the
 * call's state (`AiTurn`) passed to each: parse the body, guard (operation, body, model),
 * dispatch (`run`: embeddings, chat, or stream), settle (usage, budgets' hooks, metrics).
 */
export function makeTerminal(
  sh: AiShared,
  ai: AiRouteConfig,
  template: CompiledTemplate | undefined,
): Terminal {
  const route: AiRoute = {
    sh,
    ai,
    format: ai.endpoint === 'anthropic' ? 'anthropic' : 'openai',
    allowed: ai.models ? new Set(ai.models) : undefined,
    template,
  };

  return async function aiTerminal(call: TerminalCall): Promise<void> {
    if (isModelList(route, call)) return listModels(route, call);
    const st = await parse(route, call);
    if (!st) return;
    const t = newTurn(route, call, st);
    const model = guard(t);
    if (!model) return;
    await run(t, model);
  };
}
