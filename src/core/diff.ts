import type { Config, PolicyConfig } from '../config/schema.js';
import { canonicalJson } from '../lib/canonical.js';
import { scopeKey } from './scope.js';
import { eachStep, runSync, type Steps } from './slices.js';

export interface FieldChange {
  path: string;
  before?: unknown;
  after?: unknown;
}

export interface ObjectChange {
  key: string;
  changes: FieldChange[];
}

export interface SectionDiff {
  added: string[];
  removed: string[];
  changed: ObjectChange[];
}

export interface ConfigDiff {
  services: SectionDiff;
  routes: SectionDiff;
  policies: SectionDiff;
  gateway: FieldChange[];
  /** True when nothing differs. */
  empty: boolean;
}

/** The identity of a policy instance across revisions: type, instance id and scope. */
export function policyKey(p: PolicyConfig): string {
  return `${p.name}#${p.id ?? p.name}@${scopeKey(p.scope)}`;
}

/**
 * A structured diff of two revisions' configs: services and routes by name, policies by
 * type + id + scope, field by field. Configs hold secret references, never resolved values.
 */
export function diffConfigs(a: Partial<Config>, b: Partial<Config>): ConfigDiff {
  return runSync(diffConfigsSteps(a, b));
}

/** `diffConfigs` with a step per service, route and policy compared (src/core/slices.ts). */
export function* diffConfigsSteps(a: Partial<Config>, b: Partial<Config>): Steps<ConfigDiff> {
  const services = yield* diffSection(a.services ?? [], b.services ?? [], (s) => s.name);
  const routes = yield* diffSection(a.routes ?? [], b.routes ?? [], (r) => r.name);
  const policies = yield* diffSection(a.policies ?? [], b.policies ?? [], policyKey);
  const gateway = diffValues(a.gateway ?? {}, b.gateway ?? {}, '');
  const empty =
    [services, routes, policies].every((s) => !s.added.length && !s.removed.length && !s.changed.length) &&
    !gateway.length;
  return { services, routes, policies, gateway, empty };
}

function* diffSection<T>(a: T[], b: T[], key: (x: T) => string): Steps<SectionDiff> {
  const am = new Map<string, T>();
  const bm = new Map<string, T>();
  yield* eachStep(a, (x) => am.set(key(x), x));
  yield* eachStep(b, (x) => bm.set(key(x), x));
  const out: SectionDiff = { added: [], removed: [], changed: [] };
  yield* eachStep([...bm.keys()], (k) => {
    if (!am.has(k)) out.added.push(k);
  });
  yield* eachStep([...am.keys()], (k) => {
    if (!bm.has(k)) out.removed.push(k);
  });
  for (const [k, x] of am) {
    const y = bm.get(k);
    if (y === undefined) continue;
    const changes = diffValues(x, y, '');
    if (changes.length) out.changed.push({ key: k, changes });
    yield;
  }
  return out;
}

function diffValues(a: unknown, b: unknown, path: string): FieldChange[] {
  if (canonicalJson(a) === canonicalJson(b)) return [];
  const bothObjects =
    a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b);
  if (!bothObjects) return [{ path: path || '/', before: a, after: b }];
  const out: FieldChange[] = [];
  const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
  for (const k of [...keys].sort()) {
    const x = (a as Record<string, unknown>)[k];
    const y = (b as Record<string, unknown>)[k];
    if (x === undefined) out.push({ path: `${path}/${k}`, after: y });
    else if (y === undefined) out.push({ path: `${path}/${k}`, before: x });
    else out.push(...diffValues(x, y, `${path}/${k}`));
  }
  return out;
}

/** A short human rendering of a diff, for the CLI. */
export function renderDiff(d: ConfigDiff): string {
  if (d.empty) return 'no changes';
  const lines: string[] = [];
  for (const [name, s] of [
    ['services', d.services],
    ['routes', d.routes],
    ['policies', d.policies],
  ] as const) {
    for (const k of s.added) lines.push(`+ ${name}/${k}`);
    for (const k of s.removed) lines.push(`- ${name}/${k}`);
    for (const c of s.changed) {
      lines.push(`~ ${name}/${c.key}`);
      for (const f of c.changes)
        lines.push(`    ${f.path}: ${JSON.stringify(f.before)} -> ${JSON.stringify(f.after)}`);
    }
  }
  for (const f of d.gateway)
    lines.push(`~ gateway${f.path}: ${JSON.stringify(f.before)} -> ${JSON.stringify(f.after)}`);
  return lines.join('\n');
}
