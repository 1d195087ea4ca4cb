import { BodyTooLargeError } from './body-limit.js';
import type { ChainEntry } from './chain.js';
import type { PolicyContext } from './context.js';
import type { Decision, Outcome, Rejection, ShortCircuit } from './policy.js';

export interface DecisionSink {
  countDecision(policy: string, mode: string, outcome: string): void;
  policyError(entry: ChainEntry, err: unknown): void;
}

/**
 * Runs one phase's policies in order. Returns the first enforced rejection or short-circuit;
 * shadow policies are recorded as `would_deny` and the request goes on. Policy functions may be
 * synchronous; they are awaited only when they return a promise.
 */
export async function runPhase(
  ctx: PolicyContext,
  entries: readonly ChainEntry[],
  sink: DecisionSink,
): Promise<Rejection | ShortCircuit | undefined> {
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    const inst = e.instance;
    ctx.enter(e.phase, inst.mode, inst.label, inst);
    let out: Outcome;
    try {
      const r = e.fn(ctx);
      out = r instanceof Promise ? await r : r;
    } catch (err) {
      if (err instanceof BodyTooLargeError) {
        // A gateway limit, not the policy's decision: refused in every mode.
        record(ctx, e, 'deny', sink, `body>${err.limit}`, 'PCS_ERR_BODY_TOO_LARGE');
        return ctx.reject('PCS_ERR_BODY_TOO_LARGE', {
          rule: `body>${err.limit}`,
          detail: `${inst.label} read the body`,
        });
      }
      sink.policyError(e, err);
      record(ctx, e, 'error', sink, undefined, 'PCS_ERR_POLICY_FAILURE');
      if (inst.mode === 'enforce')
        return ctx.reject('PCS_ERR_POLICY_FAILURE', { detail: `${inst.label}: ${(err as Error)?.message}` });
      continue;
    }
    if (!out || out.kind === 'allow') {
      record(ctx, e, 'allow', sink, out?.rule);
      continue;
    }
    if (inst.mode !== 'enforce') {
      record(
        ctx,
        e,
        out.kind === 'reject' ? 'would_deny' : 'allow',
        sink,
        out.rule,
        out.kind === 'reject' ? out.code : undefined,
      );
      continue;
    }
    if (out.kind === 'reject') {
      record(ctx, e, 'deny', sink, out.rule, out.code);
      return out;
    }
    record(ctx, e, 'respond', sink, out.rule);
    return out;
  }
  ctx.acting = true;
  return undefined;
}

function record(
  ctx: PolicyContext,
  e: ChainEntry,
  outcome: Decision['outcome'],
  sink: DecisionSink,
  rule?: string,
  code?: string,
): void {
  const inst = e.instance;
  ctx.decisions.push({
    policy: inst.policy,
    id: inst.id,
    scope: inst.scopeText,
    phase: e.phase,
    mode: inst.mode,
    outcome,
    rule,
    code,
  });
  sink.countDecision(inst.label, inst.mode, outcome);
}
