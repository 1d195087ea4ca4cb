import type { ConfigIssue } from '../core/errors.js';
import type { PolicyModule } from '../core/policy.js';
import { scopeKey } from '../core/scope.js';
import { formatAjvErrors, validator } from './ajv.js';
import { Config, type PolicyConfig } from './schema.js';

export type PolicyRegistry = ReadonlyMap<string, PolicyModule>;

/**
 * Schema and semantic checks. Returns a deep copy of the input with defaults filled in, and
 * every issue found (never only the first). The input is not modified. `schemaValid` tells
 * whether the config has the right shape, so later checks (secrets, policy compilation) can
 * still run and add their issues to the same list.
 */
export function checkConfig(
  input: unknown,
  registry: PolicyRegistry,
): { config: Config; issues: ConfigIssue[]; schemaValid: boolean } {
  const config = structuredClone(input) as Config;
  const validate = validator(Config);
  if (!validate(config)) return { config, issues: formatAjvErrors(validate.errors), schemaValid: false };
  const issues: ConfigIssue[] = [];
  uniqueNames(config.services, '/services', issues);
  uniqueNames(config.routes, '/routes', issues);
  if (config.consumers) uniqueNames(config.consumers, '/consumers', issues);

  const services = new Set(config.services.map((s) => s.name));
  const routes = new Set(config.routes.map((r) => r.name));
  config.services.forEach((s, i) => {
    s.targets.forEach((t, j) => {
      const problem = targetUrlProblem(t.url);
      if (problem) issues.push({ path: `/services/${i}/targets/${j}/url`, message: problem });
    });
  });
  config.routes.forEach((r, i) => {
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
  config.policies.forEach((p, i) => {
    const at = `/policies/${i}`;
    const mod = registry.get(p.name);
    if (!mod) {
      issues.push({
        path: `${at}/name`,
        message: `unknown policy '${p.name}' (known: ${[...registry.keys()].sort().join(', ')})`,
      });
      return;
    }
    const scope = p.scope ?? 'global';
    if (typeof scope === 'object' && 'service' in scope && !services.has(scope.service))
      issues.push({ path: `${at}/scope/service`, message: `no service named '${scope.service}'` });
    if (typeof scope === 'object' && 'route' in scope && !routes.has(scope.route))
      issues.push({ path: `${at}/scope/route`, message: `no route named '${scope.route}'` });
    const key = `${scopeKey(scope)}|${p.name}|${p.id ?? p.name}`;
    if (instances.has(key))
      issues.push({
        path: at,
        message: `another '${p.name}' instance with the same id at the same scope; give each an 'id'`,
      });
    instances.add(key);
    p.config ??= {};
    const v = validator(mod.schema);
    if (!v(p.config)) issues.push(...formatAjvErrors(v.errors, `${at}/config`));
  });
  return { config, issues, schemaValid: true };
}

function uniqueNames(items: { name: string }[], at: string, issues: ConfigIssue[]): void {
  const seen = new Map<string, number>();
  items.forEach((it, i) => {
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

/** Re-exported until core/compile.ts (moving to runtime/) imports it from core/scope.ts. */
export { scopeKey };
