import { Type as T } from '@sinclair/typebox';
import type { PolicyContext } from '../../core/context.js';
import type { PolicyDeps, Rejection } from '../../core/policy.js';
import type { AiCallState } from '../call-state.js';
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
    description: `${description} JavaScript syntax, matched in linear time by RE2. Refused when the revision compiles if it is invalid, could backtrack catastrophically (nested quantifiers, repeated alternations, backreferences) or uses what RE2 lacks (lookarounds).`,
  });

export const streamsSchema = () =>
  T.Unsafe<'check-at-end' | 'refuse'>({
    type: 'string',
    enum: ['check-at-end', 'refuse'],
    default: 'check-at-end',
    description:
      'Streamed calls, when answers are checked: `check-at-end` (the answer is checked when the stream ends and the result recorded; sent bytes cannot be taken back) or `refuse` (`stream: true` is refused with 400, so every answer is checked before it is sent).',
  });

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
