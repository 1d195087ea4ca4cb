import type { Chain } from '../core/chain.js';
import type { PolicyContext } from '../core/context.js';
import type { Decision } from '../core/policy.js';
import {
  type OutputCheck,
  StreamBlocked,
  type StreamFilterFactory,
  type StreamTextFilter,
} from './call-state.js';
import { type AiError, aiError } from './errors.js';
import type { StreamResult } from './stream.js';

/**
 * The answer side of the guard policies, for the AI terminal: the checks they attach to their
 * per-request functions (`fn.aiOutput`, `fn.aiStreamOutput`), run on a whole answer or in flight
 * on a stream, each result recorded as a decision naming the policy and the rule.
 */
export interface Guard {
  check: OutputCheck;
  /** Filters a streamed answer in flight (enforced guards only). */
  stream?: StreamFilterFactory;
  label: string;
  scope: string;
  enforce: boolean;
}

/** Output checks offered by guard policies in the request's chain. */
export function outputGuards(chain: Chain): Guard[] {
  const out: Guard[] = [];
  for (const phase of chain)
    for (const e of phase) {
      const { aiOutput: check, aiStreamOutput: stream } = e.fn as {
        aiOutput?: OutputCheck;
        aiStreamOutput?: StreamFilterFactory;
      };
      if (check && e.instance.mode !== 'off')
        out.push({
          check,
          stream,
          label: e.instance.label,
          scope: e.instance.scopeText,
          enforce: e.instance.mode === 'enforce',
        });
    }
  return out;
}

function decide(
  ctx: PolicyContext,
  g: Guard,
  outcome: Decision['outcome'],
  rule: string | undefined,
  code?: string,
): void {
  const [policy, id] = g.label.split('#');
  ctx.decisions.push({
    policy,
    id: id ?? g.label,
    scope: g.scope,
    phase: 'response',
    mode: g.enforce ? 'enforce' : 'shadow',
    outcome,
    rule,
    code,
  });
}

export const outputBlocked = (): AiError =>
  aiError(
    'PCS_ERR_AI_OUTPUT_BLOCKED',
    422,
    'invalid_request_error',
    'output_blocked',
    'The model answer was blocked by a guardrail',
  );

/** Runs output checks on a whole answer; records decisions; returns the block or the rewritten text. */
export function runGuards(
  ctx: PolicyContext,
  guards: Guard[],
  text: string,
): { blocked?: AiError; text: string } {
  for (const g of guards) {
    const v = g.check(text);
    if (!v) continue;
    if (v.block) {
      decide(ctx, g, g.enforce ? 'deny' : 'would_deny', v.block.rule, 'PCS_ERR_AI_OUTPUT_BLOCKED');
      if (g.enforce) return { blocked: outputBlocked(), text };
    }
    if (v.text !== undefined && g.enforce) {
      text = v.text;
      if (v.rule) decide(ctx, g, 'allow', v.rule);
    }
  }
  return { text };
}

/**
 * The in-flight filter of a streamed answer: the enforced guards' filters chained (the output of
 * one is the input of the next), or undefined when none applies. `record` writes the decisions
 * once the stream is over: the guard that cut it, and what was rewritten.
 */
export function streamGuards(guards: Guard[]): {
  filter?: StreamTextFilter;
  record(ctx: PolicyContext, s: StreamResult): void;
} {
  const filters = guards.filter((g) => g.enforce && g.stream).map((g) => ({ g, f: g.stream!() }));
  if (filters.length === 0) return { record() {} };
  let cutBy: Guard | undefined;
  const guarded = <T>(g: Guard, run: () => T): T => {
    try {
      return run();
    } catch (err) {
      if (err instanceof StreamBlocked) cutBy = g;
      throw err;
    }
  };
  return {
    filter: {
      push: (t) => filters.reduce((acc, { g, f }) => guarded(g, () => f.push(acc)), t),
      end: () => filters.reduce((acc, { g, f }) => guarded(g, () => f.push(acc) + f.end()), ''),
      rule: () => undefined,
    },
    record(ctx, s) {
      if (s.ended === 'blocked' && cutBy)
        decide(ctx, cutBy, 'deny', s.blocked?.rule, 'PCS_ERR_AI_OUTPUT_BLOCKED');
      for (const { g, f } of filters) {
        const rule = f.rule();
        if (rule) decide(ctx, g, 'allow', rule);
      }
    },
  };
}
