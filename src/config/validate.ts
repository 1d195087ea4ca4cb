import type { TSchema } from '@sinclair/typebox';
import type { ConfigIssue } from '../core/errors.js';
import type { PolicyModule } from '../core/policy.js';
import { scopeKey } from '../core/scope.js';
import { eachStep, runSync, type Steps } from '../core/slices.js';
import { formatAjvErrors, validator } from './ajv.js';
import { Config, type PolicyConfig } from './schema.js';

export type PolicyRegistry = ReadonlyMap<string, PolicyModule>;

export interface CheckedConfig {
  config: Config;
  issues: ConfigIssue[];
  schemaValid: boolean;
}

/**
 * Schema and semantic checks. Returns a deep copy of the input with defaults filled in, and
 * every issue found (never only the first). The input is not modified. `schemaValid` tells
 * whether the config has the right shape, so later checks (secrets, policy compilation) can
 * still run and add their issues to the same list.
 */
export function checkConfig(input: unknown, registry: PolicyRegistry): CheckedConfig {
  return runSync(checkConfigSteps(input, registry));
}

/** `checkConfig` with a step per service, route and policy (see src/core/slices.ts). */
export function* checkConfigSteps(input: unknown, registry: PolicyRegistry): Steps<CheckedConfig> {
  let config = (yield* cloneSteps(input)) as Config;
  const shaped = yield* validateShapeSteps(config);
  if (!shaped) {
    // The rare path: the whole-config validator's errors, in its order, on a fresh copy.
    config = structuredClone(input) as Config;
    const validate = validator(Config);
    validate(config);
    return { config, issues: formatAjvErrors(validate.errors), schemaValid: false };
  }
  config = shaped;
  const issues: ConfigIssue[] = [];
  yield* uniqueNames(config.services, '/services', issues);
  yield* uniqueNames(config.routes, '/routes', issues);
  if (config.consumers) yield* uniqueNames(config.consumers, '/consumers', issues);

  const services = new Set(config.services.map((s) => s.name));
  const routes = new Set<string>();
  yield* eachStep(config.routes, (r) => routes.add(r.name));
  config.services.forEach((s, i) => {
    s.targets.forEach((t, j) => {
      const problem = targetUrlProblem(t.url);
      if (problem) issues.push({ path: `/services/${i}/targets/${j}/url`, message: problem });
    });
  });
  yield* eachStep(config.routes, (r, i) => {
    if (r.service === undefined && r.ai === undefined)
      issues.push({ path: `/routes/${i}`, message: "a route needs a 'service' (or an 'ai' block)" });
    else if (r.service !== undefined && r.ai !== undefined)
      issues.push({
        path: `/routes/${i}`,
        message: "a route has either a 'service' or an 'ai' block, not both",
      });
    else if (r.service !== undefined && !services.has(r.service))
      issues.push({ path: `/routes/${i}/service`, message: `no service named '${r.service}'` });
  });
  const instances = new Set<string>();
  for (let i = 0; i < config.policies.length; i++) {
    checkPolicy(config.policies[i], `/policies/${i}`, { registry, services, routes, instances, issues });
    yield;
  }
  return { config, issues, schemaValid: true };
}

interface PolicyCheck {
  registry: PolicyRegistry;
  services: ReadonlySet<string>;
  routes: ReadonlySet<string>;
  instances: Set<string>;
  issues: ConfigIssue[];
}

function checkPolicy(p: PolicyConfig, at: string, c: PolicyCheck): void {
  const mod = c.registry.get(p.name);
  if (!mod) {
    c.issues.push({
      path: `${at}/name`,
      message: `unknown policy '${p.name}' (known: ${[...c.registry.keys()].sort().join(', ')})`,
    });
    return;
  }
  const scope = p.scope ?? 'global';
  if (typeof scope === 'object' && 'service' in scope && !c.services.has(scope.service))
    c.issues.push({ path: `${at}/scope/service`, message: `no service named '${scope.service}'` });
  if (typeof scope === 'object' && 'route' in scope && !c.routes.has(scope.route))
    c.issues.push({ path: `${at}/scope/route`, message: `no route named '${scope.route}'` });
  const key = `${scopeKey(scope)}|${p.name}|${p.id ?? p.name}`;
  if (c.instances.has(key))
    c.issues.push({
      path: at,
      message: `another '${p.name}' instance with the same id at the same scope; give each an 'id'`,
    });
  c.instances.add(key);
  p.config ??= {};
  const v = validator(mod.schema);
  if (!v(p.config)) c.issues.push(...formatAjvErrors(v.errors, `${at}/config`));
}

/** The top-level lists, validated item by item with their item schemas. */
const SECTIONS = ['services', 'routes', 'policies', 'consumers'] as const;
const itemSchema = (key: (typeof SECTIONS)[number]): TSchema =>
  (Config.properties[key] as unknown as { items: TSchema }).items;

/** A deep copy, one step per element of the top-level lists (same result as structuredClone). */
function* cloneSteps(input: unknown): Steps<unknown> {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return structuredClone(input);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) {
    if (!Array.isArray(v) || !(SECTIONS as readonly string[]).includes(k)) {
      out[k] = structuredClone(v);
      continue;
    }
    const list: unknown[] = [];
    for (const item of v) {
      list.push(structuredClone(item));
      yield;
    }
    out[k] = list;
  }
  return out;
}

/**
 * The Config schema, checked in slices: the top level with its lists emptied, then each list item
 * with the item schema (valid exactly when the whole is: the lists have no constraints of their
 * own). Fills in defaults as the whole-config validator does. Undefined when anything is invalid.
 */
function* validateShapeSteps(config: unknown): Steps<Config | undefined> {
  if (!config || typeof config !== 'object' || Array.isArray(config)) return undefined;
  const head: Record<string, unknown> = { ...config };
  const lists = new Map<(typeof SECTIONS)[number], unknown[]>();
  for (const k of SECTIONS) {
    const v = head[k];
    if (Array.isArray(v)) {
      lists.set(k, v);
      head[k] = [];
    }
  }
  if (!validator(Config)(head)) return undefined;
  for (const [k, list] of lists) {
    head[k] = list;
    const v = validator(itemSchema(k));
    for (const item of list) {
      if (!v(item)) return undefined;
      yield;
    }
  }
  return head as Config;
}

function* uniqueNames(items: { name: string }[], at: string, issues: ConfigIssue[]): Steps<void> {
  const seen = new Map<string, number>();
  yield* eachStep(items, (it, i) => {
    const first = seen.get(it.name);
    if (first !== undefined)
      issues.push({
        path: `${at}/${i}/name`,
        message: `duplicate name '${it.name}' (first at ${at}/${first})`,
      });
    else seen.set(it.name, i);
  });
}

/** Why a target URL cannot be used, or undefined. Never quotes the URL (it may hold a secret). */
export function targetUrlProblem(url: string, resolved = false): string | undefined {
  if (!resolved && url.includes('${')) return undefined; // a secret reference; checked after resolution
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a valid URL';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'only http: and https: targets are supported';
  if (u.search || u.hash) return 'a target URL may not have a query or fragment';
  return undefined;
}
