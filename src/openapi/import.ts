import type { PolicyConfig, RouteConfig } from '../config/schema.js';
import { toRoutePath } from './match.js';
import { HTTP_METHODS, type OpenApiDoc, specVersion } from './spec.js';

export interface ImportOptions {
  service: string;
  /** Prefix of the spec's paths on the gateway (`/v1`). Default: none. */
  basePath?: string;
  /** When given, a service with this target is written too, making the output a complete config. */
  upstream?: string;
  mode?: 'enforce' | 'shadow';
}

export interface ImportedConfig {
  services?: { name: string; targets: { url: string }[] }[];
  routes: RouteConfig[];
  policies: PolicyConfig[];
}

function slug(path: string): string {
  const s = path
    .toLowerCase()
    .replace(/[{}]/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return s || 'root';
}

/**
 * Turns an OpenAPI document into gateway config: one exact-match route per documented path
 * with its methods, one prefix route for everything else under the base path (so undocumented
 * endpoints reach the policy and are refused or recorded rather than silently 404), and one
 * `request-validation` policy at service scope holding the bundled document. Deterministic:
 * the same document gives the same config, so a re-import diffs cleanly.
 */
export function importOpenApi(doc: OpenApiDoc, opts: ImportOptions): ImportedConfig {
  specVersion(doc);
  const base = (opts.basePath ?? '').replace(/\/$/, '');
  const routes: RouteConfig[] = [];
  const used = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    if (!item || typeof item !== 'object') continue;
    const methods = HTTP_METHODS.filter((m) => item[m] && typeof item[m] === 'object').map((m) =>
      m.toUpperCase(),
    );
    if (!methods.length) continue;
    let name = `${opts.service}-${slug(path)}`.slice(0, 120);
    for (let i = 2; used.has(name); i++) name = `${opts.service}-${slug(path)}-${i}`.slice(0, 128);
    used.add(name);
    routes.push({
      name,
      service: opts.service,
      paths: [base + toRoutePath(path) || '/'],
      pathMatch: 'exact',
      methods: methods.sort(),
    } as RouteConfig);
  }
  routes.push({
    name: `${opts.service}-undocumented`,
    service: opts.service,
    paths: [base || '/'],
    pathMatch: 'prefix',
    priority: -1,
  } as RouteConfig);
  const policy = {
    name: 'request-validation',
    id: `openapi-${opts.service}`,
    scope: { service: opts.service },
    mode: opts.mode ?? 'enforce',
    config: { spec: doc as Record<string, unknown>, ...(base ? { basePath: base } : {}) },
  } as PolicyConfig;
  const out: ImportedConfig = { routes, policies: [policy] };
  if (opts.upstream) out.services = [{ name: opts.service, targets: [{ url: opts.upstream }] }];
  return opts.upstream ? { services: out.services, routes, policies: out.policies } : out;
}
