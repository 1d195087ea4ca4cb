import { aiCall } from '../../ai/call-state.js';
import type { PolicyContext } from '../../core/context.js';
import { definePolicy } from '../../core/policy.js';
import { AiModelsSchema } from './schema.js';

/**
 * Which models a caller may use: attach it to a consumer or a group (`scope: { group: interns }`)
 * to give each its own list, or to a route. Runs in `authz`, when the consumer is known, on AI
 * routes only; template routes choose their own model and are not checked.
 */
export const aiModels = definePolicy({
  name: 'ai-models',
  description: 'Allow or deny the model aliases a consumer, group or route may request on AI routes.',
  schema: AiModelsSchema,
  priority: 40,
  create(config) {
    if (!config.allow && !config.deny) throw new Error('set allow, deny or both');
    const allow = config.allow ? new Set(config.allow) : undefined;
    const deny = new Set(config.deny ?? []);
    return {
      authz: async function aiModels(ctx: PolicyContext) {
        const call = await aiCall(ctx);
        if (call.kind !== 'chat' && call.kind !== 'messages' && call.kind !== 'embeddings') return undefined;
        const model = typeof call.body?.model === 'string' ? call.body.model : undefined;
        if (model === undefined) return undefined; // the terminal answers a missing model itself
        if (deny.has(model))
          return ctx.reject('PCS_ERR_AI_MODEL_NOT_ALLOWED', {
            rule: `deny:${model}`,
            detail: `model ${model}`,
          });
        if (allow && !allow.has(model))
          return ctx.reject('PCS_ERR_AI_MODEL_NOT_ALLOWED', { rule: 'allow:none', detail: `model ${model}` });
        return allow ? ctx.allow(`allow:${model}`) : undefined;
      },
    };
  },
});
