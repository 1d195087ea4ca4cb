import { aiCall, type OutputCheck, type StreamFilterFactory } from '../../ai/call-state.js';
import { guardSignals, refuseStream, streamCutter } from '../../ai/guards/common.js';
import { normalise } from '../../ai/guards/injection.js';
import { compileGuardPattern, PatternError } from '../../ai/guards/guard-pattern.js';
import { guardTexts } from '../../ai/guards/texts.js';
import type { PolicyContext } from '../../core/context.js';
import { definePolicy } from '../../core/policy.js';
import { AiGuardDenySchema } from './schema.js';

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** One alternation of whole words (Unicode letters and digits as word characters); spaces match any run of spaces. */
function wordsRegex(words: readonly string[]): RegExp {
  const alts = [...new Set(words.map((w) => normalise(w).trim()))]
    .sort((a, b) => b.length - a.length)
    .map((w) => escapeRe(w).replace(/ +/g, '\\s+'));
  return new RegExp(`(?<![\\p{L}\\p{N}_])(?:${alts.join('|')})(?![\\p{L}\\p{N}_])`, 'giu');
}

interface Matcher {
  rule: string;
  test(normalised: string): boolean;
}

/** Deny-lists of words, topics (marker terms) and own patterns, on prompts and answers. */
export const aiGuardDeny = definePolicy({
  name: 'ai-guard-deny',
  description: 'Refuses AI prompts or answers that contain denied words, topics or patterns.',
  schema: AiGuardDenySchema,
  priority: 75,
  create(config, deps) {
    if (!config.words.length && !config.topics.length && !config.patterns.length)
      throw new PatternError('needs at least one of `words`, `topics` or `patterns`', '');
    const matchers: Matcher[] = [];
    if (config.words.length) {
      const re = wordsRegex(config.words);
      matchers.push({
        rule: 'word',
        test: (t) => {
          re.lastIndex = 0;
          return re.test(t);
        },
      });
    }
    for (const topic of config.topics) {
      const terms = [...new Set(topic.terms.map((x) => normalise(x).trim()))].map((x) => wordsRegex([x]));
      matchers.push({
        rule: `topic:${topic.name}`,
        test: (t) => {
          let n = 0;
          for (const re of terms) {
            re.lastIndex = 0;
            if (re.test(t) && ++n >= topic.minMatches) return true;
          }
          return false;
        },
      });
    }
    config.patterns.forEach((p, i) => {
      const re = compileGuardPattern(p.pattern, `patterns/${i}/pattern`);
      matchers.push({ rule: `pattern:${p.name}`, test: (t) => re.test(t) });
    });
    const roles = new Set(config.roles);
    const signals = guardSignals('ai-guard-deny', deps);

    const check = (texts: readonly string[]): string | undefined => {
      for (const raw of texts) {
        const t = normalise(raw);
        for (const m of matchers) if (m.test(t)) return m.rule;
      }
      return undefined;
    };

    const refuseStreams = config.output && config.streams === 'refuse';
    const fn = async function aiGuardDeny(ctx: PolicyContext) {
      if (!config.input && !refuseStreams) return undefined;
      const st = await aiCall(ctx);
      if (st.kind === 'other' || st.parseError) return undefined;
      const streamed = refuseStreams ? refuseStream(ctx, st) : undefined;
      if (streamed) return streamed;
      if (!config.input) return undefined;
      const rule = check(guardTexts(st, roles));
      if (!rule) return undefined;
      signals.matched('input', rule);
      return ctx.reject('PCS_ERR_AI_GUARDRAIL_BLOCKED', { rule });
    };
    if (config.output) {
      const aiOutput: OutputCheck = (text) => {
        const rule = check([text]);
        if (!rule) return undefined;
        signals.matched('output', rule);
        return { block: { rule } };
      };
      Object.assign(fn, { aiOutput });
      if (config.streams === 'cut') {
        const aiStreamOutput: StreamFilterFactory = () =>
          streamCutter((held) => {
            const rule = check([held]);
            if (rule) signals.matched('output', rule);
            return rule;
          }, config.streamWindow);
        Object.assign(fn, { aiStreamOutput });
      }
    }
    return { validate: fn };
  },
});
