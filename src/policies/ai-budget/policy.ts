import { aiCall, peekAiCall } from '../../ai/call-state.js';
import { inputTexts } from '../../ai/guards/texts.js';
import { estimateInput, estimateText, maxOutput } from '../../ai/tokens.js';
import type { PolicyContext } from '../../core/context.js';
import { definePolicy } from '../../core/policy.js';
import { CounterStoreUnavailableError } from '../../counters/counter-store.js';
import { namespace } from '../rate-limit/key.js';
import { type BudgetItem, budgetItems, MICRO } from './items.js';
import { AiBudgetSchema } from './schema.js';

/**
 * Token, request and cost budgets for AI routes. Before the call it reserves the estimated
 * tokens (gpt-tokenizer on the prompt + max_tokens) and one request in every limit in one atomic
 * counter-store operation (all or nothing, so concurrent calls cannot overshoot), refusing when
 * a limit would be crossed — a stream included, before it starts. After the call the AI
 * terminal settles: the reservation is replaced by the usage the provider reported (or
 * counted), and the cost is charged. Counters are namespaced by the policy instance
 * (`id@scope`); in shadow mode by `shadow:id@scope`, so a shadowed budget never touches the
 * enforced counters.
 */
export const aiBudget = definePolicy({
  name: 'ai-budget',
  description: 'Token, request and cost budgets per consumer, group or key, per minute, day or month.',
  schema: AiBudgetSchema,
  priority: 50,
  create(config, deps) {
    const { counters, clock, logger } = deps;
    const ns = namespace(deps.instance, 'ai-budget');
    const label = deps.instance?.id ?? 'ai-budget';
    const failClosed = config.onStoreError === 'deny';
    const storeFailures = deps.metrics.counter(
      'portcullis_ai_budget_store_failures_total',
      'AI budget checks the counter store could not make, by policy.',
      ['policy'],
    );

    function refuse(ctx: PolicyContext, item: BudgetItem, current: number, now: number) {
      const shown = item.unit === 'cost' ? current / MICRO : current;
      return ctx.reject('PCS_ERR_AI_BUDGET_EXCEEDED', {
        rule: item.rule,
        detail: `${item.who}: ${shown} used of ${item.unit === 'cost' ? item.limit / MICRO : item.limit}`,
        headers: { 'retry-after': String(Math.max(1, Math.ceil((item.endsAt - now) / 1000))) },
      });
    }

    return {
      rateLimit: async function aiBudget(ctx: PolicyContext) {
        const st = await aiCall(ctx);
        if (st.kind === 'other' || st.parseError) return undefined;
        const input = st.request
          ? estimateInput(st.request)
          : inputTexts(st).reduce((n, t) => n + estimateText(t), 0);
        const reserve = input + (st.kind === 'embeddings' ? 0 : maxOutput(st.request, config.outputEstimate));
        const now = clock.now();
        // A shadowed budget counts on its own keys: it can tell "would deny", and never spends
        // (or is spent by) the enforced budget of the same instance.
        const items = budgetItems(config.limits, ctx, ctx.acting ? ns : `shadow:${ns}`, reserve, now);
        try {
          const r = await counters.reserve(items);
          if (!r.ok) return refuse(ctx, items[r.index], r.current, now);
        } catch (err) {
          if (!(err instanceof CounterStoreUnavailableError)) throw err;
          storeFailures.labels(label).inc();
          if (!failClosed) return ctx.allow('store-unavailable:open');
          return ctx.reject('PCS_ERR_COUNTER_STORE_UNAVAILABLE', {
            rule: 'store-unavailable:closed',
            detail: err.message,
          });
        }
        st.settleHooks.push((u) => {
          const used = u.inputTokens + u.outputTokens;
          const ops = items.flatMap((it) => {
            if (it.unit === 'tokens') return [counters.incrBy(it.key, used - it.amount, it.ttlMs)];
            if (it.unit === 'requests') return u.called ? [] : [counters.incrBy(it.key, -1, it.ttlMs)];
            return u.cost > 0 ? [counters.incrBy(it.key, Math.round(u.cost * MICRO), it.ttlMs)] : [];
          });
          Promise.all(ops).catch((err) =>
            logger.warn({ err: (err as Error).message, policy: label }, 'ai-budget settle failed'),
          );
        });
        return undefined;
      },
      log: function aiBudgetRelease(ctx: PolicyContext) {
        // Refused after the reservation, before the AI terminal took the call: give it back.
        const st = peekAiCall(ctx);
        if (st && !st.started && !st.settled) {
          st.settled = true;
          for (const h of st.settleHooks)
            h({ model: '', provider: '', inputTokens: 0, outputTokens: 0, cost: 0, called: false });
        }
        return undefined;
      },
    };
  },
});
