import { Type as T } from '@sinclair/typebox';
import type { PolicyContext } from '../../core/context.js';
import type { PolicyDeps, Rejection } from '../../core/policy.js';
import { type AiCallState, StreamBlocked, type StreamTextFilter } from '../call-state.js';
import type { GuardRole } from './texts.js';

/** Pieces shared by the `ai-guard-*` policies: schema fragments, metrics and events. */
export const ROLES = ['system', 'user', 'assistant', 'tool'] as const;

export const rolesSchema = (def: GuardRole[], what: string) =>
  T.Array(T.Unsafe<GuardRole>({ type: 'string', enum: [...ROLES] }), {
    default: def,
    uniqueItems: true,
    description: `Messages of chat and messages calls that ${what}, by role (\`developer\` counts as \`system\`). Embeddings inputs and template variables are always read.`,
  });

export const patternSchema = (description: string) =>
  T.String({
    minLength: 1,
    maxLength: 1000,
    description: `${description} JavaScript syntax, matched in linear time by RE2 (see docs/hardening.md). Refused when the revision compiles if it is invalid or uses what RE2 lacks (backreferences, lookarounds).`,
  });

export type StreamsMode = 'check-at-end' | 'refuse' | 'cut';

export const streamsSchema = (cut = true) =>
  T.Unsafe<StreamsMode>({
    type: 'string',
    enum: cut ? ['check-at-end', 'refuse', 'cut'] : ['check-at-end', 'refuse'],
    default: 'check-at-end',
    description: `Streamed calls, when answers are checked: \`check-at-end\` (the answer is checked when the stream ends and the result recorded; sent bytes cannot be taken back), \`refuse\` (\`stream: true\` is refused with 400, so every answer is checked before it is sent)${cut ? ', or `cut` (the text is checked as it flows, held back by `streamWindow` characters; on a match the stream ends with an `output_blocked` error event before the match is sent, and the provider call is cancelled)' : ''}.`,
  });

export const streamWindowSchema = (what: string) =>
  T.Integer({
    minimum: 16,
    maximum: 4096,
    default: 96,
    description: `Characters of a streamed answer held back while ${what}, so that a match split across chunks is caught whole. Must exceed the longest match.`,
  });

/**
 * A stream filter that cuts the stream (throws StreamBlocked) when `check` finds something in
 * the text not yet sent; text leaves only once it is `window` characters from the end.
 */
export function streamCutter(check: (held: string) => string | undefined, window: number): StreamTextFilter {
  let held = '';
  const test = () => {
    const rule = check(held);
    if (rule) throw new StreamBlocked(rule);
  };
  return {
    push(text) {
      held += text;
      test();
      const cut = held.length - window;
      if (cut <= 0) return '';
      const out = held.slice(0, cut);
      held = held.slice(cut);
      return out;
    },
    end() {
      test();
      const out = held;
      held = '';
      return out;
    },
    rule: () => undefined,
  };
}

/** With `streams: refuse`: the rejection of a call that asks for a streamed answer. */
export function refuseStream(ctx: PolicyContext, st: AiCallState): Rejection | undefined {
  const body = st.body as { stream?: unknown } | undefined;
  if (body?.stream !== true) return undefined;
  return ctx.reject('PCS_ERR_AI_GUARDRAIL_BLOCKED', {
    rule: 'stream',
    message: 'Streaming is not allowed on this route: its answers are checked before they are sent',
  });
}

export type Direction = 'input' | 'output';

export interface GuardSignals {
  matched(direction: Direction, rule: string): void;
}

export function guardSignals(policy: string, deps: PolicyDeps): GuardSignals {
  const c = deps.metrics.counter(
    'portcullis_ai_guard_matches_total',
    'AI guardrail matches, by policy, direction (input, output) and kind of rule; decisions in the access log say enforce or shadow.',
    ['policy', 'direction', 'kind'],
  );
  return {
    matched(direction, rule) {
      c.inc({ policy, direction, kind: rule.split(/[:.,]/)[0] });
    },
  };
}
