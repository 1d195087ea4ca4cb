import { Type as T } from '@sinclair/typebox';
import type { PolicyDeps } from '../../core/policy.js';
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
    description: `${description} Refused when the revision compiles if it is invalid or could backtrack catastrophically (nested quantifiers, backreferences, repeated multi-character alternatives).`,
  });

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
