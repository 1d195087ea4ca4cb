import type { Config } from '../config/schema.js';
import type { ConfigDiff } from '../core/diff.js';

/**
 * What in a change needs an approval, by the rules of the *live* revision's
 * `gateway.approvals` (so a change cannot lift the rule that guards it): the policy instances
 * it adds, removes or changes (all of them, or those of the listed policy names), and any change
 * to `gateway.approvals` itself. Empty: the change may be applied directly.
 */
export function protectedChanges(live: Partial<Config>, diff: ConfigDiff): string[] {
  const rule = live.gateway?.approvals;
  if (!rule?.required) return [];
  const names = rule.policies ? new Set(rule.policies) : undefined;
  const p = diff.policies;
  const keys = [...p.added, ...p.removed, ...p.changed.map((c) => c.key)];
  const touched = keys.filter((k) => !names || names.has(k.slice(0, k.indexOf('#'))));
  if (diff.gateway.some((c) => c.path === '/approvals' || c.path.startsWith('/approvals/')))
    touched.push('gateway.approvals');
  return touched;
}
