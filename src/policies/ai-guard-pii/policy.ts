import { aiCall, type OutputCheck, type StreamFilterFactory } from '../../ai/call-state.js';
import { guardSignals, refuseStream, streamCutter } from '../../ai/guards/common.js';
import { builtinDetectors, type Detector, scanPii, streamRedactor } from '../../ai/guards/pii.js';
import { compileGuardPattern } from '../../ai/guards/guard-pattern.js';
import { guardTexts, mapGuardTexts } from '../../ai/guards/texts.js';
import type { PolicyContext } from '../../core/context.js';
import { definePolicy } from '../../core/policy.js';
import { AiGuardPiiSchema } from './schema.js';

/**
 * PII in prompts and answers: emails, phone numbers, card numbers (Luhn), IBANs (mod-97), US
 * SSNs, UK NINOs and own patterns, redacted or refused. Runs in `transform`, after the threat
 * checks, so the provider only ever sees the redacted prompt.
 */
export const aiGuardPii = definePolicy({
  name: 'ai-guard-pii',
  description:
    'Finds personal data (emails, phones, cards, IBANs, national ids, own patterns) in AI prompts and answers; redacts or blocks.',
  schema: AiGuardPiiSchema,
  priority: 50,
  create(config, deps) {
    const own: Detector[] = config.custom.map((c, i) => ({
      name: c.name,
      re: compileGuardPattern(c.pattern, `custom/${i}/pattern`),
      replacement: c.replacement ?? config.replacement.replaceAll('{type}', c.name.toUpperCase()),
    }));
    const detectors = [...own, ...builtinDetectors(config.detect, config.replacement)];
    const roles = new Set(config.roles);
    const signals = guardSignals('ai-guard-pii', deps);

    const refuseStreams = config.output !== 'off' && config.streams === 'refuse';
    const fn = async function aiGuardPii(ctx: PolicyContext) {
      if (config.input === 'off' && !refuseStreams) return undefined;
      const st = await aiCall(ctx);
      if (st.kind === 'other' || st.parseError) return undefined;
      const streamed = refuseStreams ? refuseStream(ctx, st) : undefined;
      if (streamed) return streamed;
      if (config.input === 'off') return undefined;
      const found = new Set<string>();
      for (const t of guardTexts(st, roles)) for (const k of scanPii(t, detectors).kinds) found.add(k);
      if (found.size === 0) return undefined;
      const rule = `pii:${[...found].join(',')}`;
      signals.matched('input', rule);
      if (config.input === 'block') return ctx.reject('PCS_ERR_AI_GUARDRAIL_BLOCKED', { rule });
      // Shadow mode records what would have been redacted and leaves the prompt alone.
      if (ctx.acting) mapGuardTexts(st, roles, (t) => scanPii(t, detectors).text);
      return ctx.allow(`redacted:${rule}`);
    };

    if (config.output !== 'off') {
      const block = config.output === 'block';
      const aiOutput: OutputCheck = (text) => {
        const r = scanPii(text, detectors);
        if (r.kinds.length === 0) return undefined;
        const rule = `pii:${r.kinds.join(',')}`;
        signals.matched('output', rule);
        return block ? { block: { rule } } : { text: r.text, rule: `redacted:${rule}` };
      };
      Object.assign(fn, { aiOutput });
      if (block && config.streams === 'in-flight') {
        const aiStreamOutput: StreamFilterFactory = () =>
          streamCutter((held) => {
            const kinds = scanPii(held, detectors).kinds;
            if (kinds.length === 0) return undefined;
            const rule = `pii:${kinds.join(',')}`;
            signals.matched('output', rule);
            return rule;
          }, config.streamWindow);
        Object.assign(fn, { aiStreamOutput });
      }
      if (!block && config.streams === 'in-flight') {
        const aiStreamOutput: StreamFilterFactory = () => {
          const r = streamRedactor(detectors, config.streamWindow);
          return {
            push: (t) => r.push(t),
            end: () => r.end(),
            rule: () => {
              if (r.kinds.size === 0) return undefined;
              const rule = `pii:${[...r.kinds].join(',')}`;
              signals.matched('output', rule);
              return `redacted:${rule}`;
            },
          };
        };
        Object.assign(fn, { aiStreamOutput });
      }
    }
    return { transform: fn };
  },
});
