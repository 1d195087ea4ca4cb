import { aiCall, peekAiCall } from '../../ai/call-state.js';
import { inputTexts } from '../../ai/guards/texts.js';
import { estimateInput, estimateText, maxOutput } from '../../ai/tokens.js';
import type { PolicyContext } from '../../core/context.js';
import { definePolicy } from '../../core/policy.js';
import { AiBudgetSchema } from './schema.js';

const WINDOW_MS = { minute: 60_000, day: 86_400_000, month: 31 * 86_400_000 } as const;
const MICRO = 1_000_000;

function windowOf(kind: 'minute' | 'day' | 'month', now: number): { id: string; endsAt: number } {
  const d = new Date(now);
  if (kind === 'minute') {
    const start = Math.floor(now / 60_000) * 60_000;
    return { id: String(start), endsAt: start + 60_000 };
  }
  if (kind === 'day') {
    const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
    return { id: new Date(start).toISOString().slice(0, 10), endsAt: start + 86_400_000 };
  }
  const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  return {
    id: new Date(start).toISOString().slice(0, 7),
    endsAt: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1),
  };
}

/**
 * Token, request and cost budgets for AI routes. Before the call it reserves the estimated
 * tokens (gpt-tokenizer on the prompt + max_tokens) in the counter store and refuses when a
 * limit would be crossed — a stream included, before it starts. After the call the AI terminal
 * settles: the reservation is replaced by the usage the provider reported (or counted), and the
 * cost is charged. Same path for streamed and non-streamed calls and for every input format.
 */
export const aiBudget = definePolicy({
  name: 'ai-budget',
  description: 'Token, request and cost budgets per consumer, group or key, per minute, day or month.',
  schema: AiBudgetSchema,
  priority: 50,
  create(config, deps) {
    const { counters, clock, logger } = deps;
    const limits = config.limits;
    return {
      rateLimit: async function aiBudget(ctx: PolicyContext) {
        const st = await aiCall(ctx);
        if (st.kind === 'other' || st.parseError) return undefined;
        const input = st.request
          ? estimateInput(st.request)
          : inputTexts(st).reduce((n, t) => n + estimateText(t), 0);
        const reserve = input + (st.kind === 'embeddings' ? 0 : maxOutput(st.request, config.outputEstimate));
        const now = clock.now();
        const taken: { key: string; amount: number; ttl: number }[] = [];
        const undo = () => Promise.all(taken.map((t) => counters.incrBy(t.key, -t.amount, t.ttl)));
        const costKeys: { key: string; ttl: number }[] = [];
        for (const [i, l] of limits.entries()) {
          const subjects =
            l.per === 'global'
              ? ['*']
              : l.per === 'group'
                ? (ctx.consumer?.groups ?? [])
                : l.per === 'credential'
                  ? [ctx.identity?.credential ?? ctx.consumer?.name ?? 'anonymous']
                  : [ctx.consumer?.name ?? 'anonymous'];
          const w = windowOf(l.window, now);
          const ttl = Math.max(1000, w.endsAt - now + WINDOW_MS.minute);
          for (const who of subjects) {
            const base = `ai-budget:${ctx.currentPolicy}:${i}:${l.per}:${who}:${w.id}`;
            const checks: [string, number, number | undefined][] = [
              [`${base}:tokens`, reserve, l.tokens],
              [`${base}:requests`, 1, l.requests],
            ];
            for (const [key, amount, limit] of checks) {
              if (limit === undefined) continue;
              const v = await counters.incrBy(key, amount, ttl);
              taken.push({ key, amount, ttl });
              if (v > limit) {
                await undo();
                const retry = Math.ceil((w.endsAt - now) / 1000);
                return ctx.reject('PCS_ERR_AI_BUDGET_EXCEEDED', {
                  rule: `${l.per}:${l.window}:${key.endsWith('tokens') ? 'tokens' : 'requests'}`,
                  detail: `${who}: ${v} > ${limit}`,
                  headers: { 'retry-after': String(retry) },
                });
              }
            }
            if (l.cost !== undefined) {
              const key = `${base}:cost`;
              if ((await counters.get(key)) >= l.cost * MICRO) {
                await undo();
                return ctx.reject('PCS_ERR_AI_BUDGET_EXCEEDED', {
                  rule: `${l.per}:${l.window}:cost`,
                  headers: { 'retry-after': String(Math.ceil((w.endsAt - now) / 1000)) },
                });
              }
              costKeys.push({ key, ttl });
            }
          }
        }
        if (!ctx.acting) {
          await undo();
          return undefined;
        }
        const tokenKeys = taken.filter((t) => t.key.endsWith(':tokens'));
        st.settleHooks.push((u) => {
          const used = u.inputTokens + u.outputTokens;
          const ops = [
            ...tokenKeys.map((t) => counters.incrBy(t.key, used - t.amount, t.ttl)),
            ...(u.called
              ? []
              : taken
                  .filter((t) => t.key.endsWith(':requests'))
                  .map((t) => counters.incrBy(t.key, -1, t.ttl))),
            ...(u.cost > 0
              ? costKeys.map((c) => counters.incrBy(c.key, Math.round(u.cost * MICRO), c.ttl))
              : []),
          ];
          Promise.all(ops).catch((err) =>
            logger.warn({ err: (err as Error).message }, 'ai-budget reconcile failed'),
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
