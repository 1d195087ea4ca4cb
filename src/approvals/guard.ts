import type { Config } from '../config/schema.js';
import type { CompiledRevision } from '../runtime/compile.js';
import { type ConfigDiff, diffConfigs } from '../core/diff.js';
import { coverageLosses, type Guarded } from './coverage.js';

export type ApprovalRule = NonNullable<NonNullable<Config['gateway']>['approvals']>;

/** The policy types a rule guards: those listed, or every one. */
export function guardedBy(rule: ApprovalRule | undefined): Guarded {
  const names = rule?.policies ? new Set(rule.policies) : undefined;
  return (policy) => !names || names.has(policy);
}

/**
 * What in a change needs an approval, by the rules of the *live* revision's
 * `gateway.approvals` (so a change cannot lift the rule that guards it): the policy instances
 * it adds, removes or changes (all of them, or those of the listed policy names), and any change
 * to `gateway.approvals` itself. Empty: the change may be applied directly.
 */
export function protectedChanges(live: Partial<Config>, diff: ConfigDiff): string[] {
  const rule = live.gateway?.approvals;
  if (!rule?.required) return [];
  const guarded = guardedBy(rule);
  const p = diff.policies;
  const keys = [...p.added, ...p.removed, ...p.changed.map((c) => c.key)];
  const touched = keys.filter((k) => guarded(k.slice(0, k.indexOf('#'))));
  if (diff.gateway.some((c) => c.path === '/approvals' || c.path.startsWith('/approvals/')))
    touched.push('gateway.approvals');
  return touched;
}

/**
 * Everything in replacing `live` by `next` (an apply, a canary, a rollback) that needs an
 * approval under `rule`: the protected policy changes, then every path whose effective chain
 * loses or weakens a guarded policy in enforce mode (src/approvals/coverage.ts) — moving a
 * protected route's paths, or adding a route in front of it, changes no policy instance but takes
 * the policy away from the path.
 */
export function guardedChanges(live: CompiledRevision, next: CompiledRevision, rule: ApprovalRule): string[] {
  if (!rule.required) return [];
  const touched = protectedChanges(
    { gateway: { approvals: rule } } as Config,
    diffConfigs(live.config, next.config),
  );
  return [...touched, ...coverageLosses(live, next, guardedBy(rule))];
}
