import type { ScopeConfig } from '../config/schema.js';
import type { Consumer } from './context.js';
import { PHASE_INDEX, PHASES, type Phase } from './phases.js';
import type { Mode, PolicyFn } from './policy.js';

/** One compiled policy instance: its handlers, made once per revision. */
export interface Instance {
  /** Index in config.policies; keeps config order stable. */
  order: number;
  policy: string;
  id: string;
  /** `policy` or `policy#id`: the name in logs and metrics. */
  label: string;
  scope: ScopeConfig;
  scopeText: string;
  level: number;
  mode: Mode;
  priority: number;
  handlers: Partial<Record<Phase, PolicyFn>>;
}

export interface ChainEntry {
  fn: PolicyFn;
  instance: Instance;
  phase: Phase;
}

/** A route's policies, grouped by phase in pipeline order. */
export type Chain = ChainEntry[][];

/** Scope precedence: the most specific level wins for a given policy type. */
export const SCOPE_LEVEL = { global: 0, service: 1, route: 2, group: 3, consumer: 4 } as const;

export function scopeLevel(scope: ScopeConfig | undefined): number {
  if (!scope || scope === 'global') return SCOPE_LEVEL.global;
  return SCOPE_LEVEL[Object.keys(scope)[0] as keyof typeof SCOPE_LEVEL];
}

/**
 * Builds a chain from the instances that apply. For each policy type only the instances at the
 * most specific level that has one are kept (a route's `cors` replaces the global `cors`);
 * several instances of one type at that level all run.
 */
export function buildChain(applicable: readonly Instance[]): Chain {
  const best = new Map<string, number>();
  for (const i of applicable) best.set(i.policy, Math.max(best.get(i.policy) ?? -1, i.level));
  const chain: Chain = PHASES.map(() => []);
  for (const inst of applicable) {
    if (inst.level !== best.get(inst.policy)) continue;
    for (const [phase, fn] of Object.entries(inst.handlers) as [Phase, PolicyFn][]) {
      chain[PHASE_INDEX[phase]].push({ fn, instance: inst, phase });
    }
  }
  for (const list of chain)
    list.sort((a, b) => a.instance.priority - b.instance.priority || a.instance.order - b.instance.order);
  return chain;
}

/** Does this instance apply to a route of this service, for this consumer (if known)? */
export function applies(inst: Instance, route: string, service: string, consumer?: Consumer): boolean {
  const s = inst.scope;
  if (!s || s === 'global') return true;
  if ('route' in s) return s.route === route;
  if ('service' in s) return s.service === service;
  if (!consumer) return false;
  if ('consumer' in s) return s.consumer === consumer.name;
  if ('group' in s) return consumer.groups.includes(s.group);
  return false;
}
