import { aiCall } from '../../ai/call-state.js';
import type { OutputCheck } from '../../ai/call-state.js';
import { type Classifier, cachedClassifier, makeClassifier } from '../../ai/guards/classifier.js';
import { guardSignals, refuseStream } from '../../ai/guards/common.js';
import { INJECTION_RULES, type InjectionRule, scoreInjection } from '../../ai/guards/injection.js';
import { compileGuardPattern, PatternError } from '../../ai/guards/guard-pattern.js';
import { guardTexts } from '../../ai/guards/texts.js';
import type { PolicyContext } from '../../core/context.js';
import { definePolicy } from '../../core/policy.js';
import { AiGuardInjectionSchema } from './schema.js';

/**
 * Prompt-injection detection on AI routes: heuristics (instruction overrides, jailbreak
 * personas, system-prompt exfiltration, delimiter and chat-token attacks, encoded payloads,
 * authority claims) scored per text, and optionally an HTTP classifier asked when the
 * heuristics let the text through.
 */
export const aiGuardInjection = definePolicy({
  name: 'ai-guard-injection',
  description:
    'Detects prompt injection and jailbreak attempts in AI prompts (heuristics and an optional classifier).',
  schema: AiGuardInjectionSchema,
  priority: 70,
  create(config, deps) {
    const known = new Set(INJECTION_RULES.map((r) => r.id));
    config.disabledRules.forEach((id, i) => {
      if (!known.has(id)) throw new PatternError(`no built-in rule '${id}'`, `disabledRules/${i}`);
    });
    const own: InjectionRule[] = config.rules.map((r, i) => ({
      id: `custom.${r.id}`,
      technique: 'custom',
      weight: r.weight,
      re: compileGuardPattern(r.pattern, `rules/${i}/pattern`),
    }));
    const rules = [...INJECTION_RULES.filter((r) => !config.disabledRules.includes(r.id)), ...own];
    const roles = new Set(config.roles);
    const threshold = config.threshold;
    const signals = guardSignals('ai-guard-injection', deps);
    const classifier: Classifier | undefined =
      config.classifier &&
      cachedClassifier(makeClassifier(config.classifier), config.classifier.cacheTtlMs, () =>
        deps.clock.now(),
      );
    const cls = config.classifier;
    const unavailable = deps.metrics.counter(
      'portcullis_ai_guard_classifier_failures_total',
      'Calls to a prompt-injection classifier that failed or timed out.',
      ['policy'],
    );

    const refuseStreams = config.output && config.streams === 'refuse';
    const worst = (texts: string[]) => {
      let best = { score: 0, rules: [] as string[] };
      for (const t of texts) {
        const v = scoreInjection(t, rules);
        if (v.score > best.score) best = v;
      }
      return best;
    };

    const fn = async function aiGuardInjection(ctx: PolicyContext) {
      const st = await aiCall(ctx);
      if (st.kind === 'other' || st.parseError) return undefined;
      const streamed = refuseStreams ? refuseStream(ctx, st) : undefined;
      if (streamed) return streamed;
      const texts = guardTexts(st, roles);
      if (texts.length === 0) return undefined;
      const v = worst(texts);
      let rule: string | undefined;
      let detail = '';
      if (v.score >= threshold) {
        rule = `heuristic:${v.rules.join(',')}`;
        detail = `score ${v.score} >= ${threshold}`;
      } else if (classifier && cls) {
        try {
          const s = Math.max(...(await Promise.all(texts.map((t) => classifier.score(t)))));
          if (s >= cls.threshold) {
            rule = 'classifier';
            detail = `classifier score ${s} >= ${cls.threshold}`;
          }
        } catch (err) {
          unavailable.inc({ policy: ctx.currentPolicy });
          deps.logger.warn(
            { err: (err as Error).message, policy: ctx.currentPolicy, failClosed: cls.failClosed },
            'prompt-injection classifier unavailable',
          );
          if (cls.failClosed)
            return ctx.reject('PCS_ERR_AI_GUARD_UNAVAILABLE', {
              rule: 'classifier-unavailable',
              detail: (err as Error).message,
            });
        }
      }
      if (!rule) return undefined;
      signals.matched('input', rule);
      deps.events.emit({
        type: 'ai.prompt_injection',
        subject: ctx.consumer?.name ?? ctx.request.clientIp,
        policy: ctx.currentPolicy,
        route: ctx.request.route,
        requestId: ctx.requestId,
        detail: { rule, score: v.score, enforced: ctx.acting },
      });
      return ctx.reject('PCS_ERR_AI_GUARDRAIL_BLOCKED', { rule, detail });
    };

    if (config.output) {
      const aiOutput: OutputCheck = (text) => {
        const o = scoreInjection(text, rules);
        if (o.score < threshold) return undefined;
        const rule = `heuristic:${o.rules.join(',')}`;
        signals.matched('output', rule);
        return { block: { rule, detail: `score ${o.score}` } };
      };
      Object.assign(fn, { aiOutput });
    }
    return { validate: fn };
  },
});
