import type { Logger } from 'pino';
import { compileAi } from '../ai/compile.js';
import { redact, resolveSecretsSteps, type SecretEnv } from '../config/secrets.js';
import type { Config, RouteConfig } from '../config/schema.js';
import { checkConfigSteps, type PolicyRegistry, targetUrlProblem } from '../config/validate.js';
import { scopeKey } from '../core/scope.js';
import { buildCidrSet, type CidrSet } from '../net/ip.js';
import { DEFAULT_PATH_OPTIONS, type PathOptions } from '../proxy/path.js';
import { RouteTable } from '../proxy/router.js';
import { type RecorderSettings, recorderSettings } from '../reqlog/settings.js';
import { UpstreamService } from '../proxy/service.js';
import { canonicalJson, canonicalJsonSteps, sha256 } from '../lib/canonical.js';
import { applies, buildChain, type Chain, type Instance, scopeLevel } from '../core/chain.js';
import type { Clock } from '../core/clock.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Exchange } from '../proxy/exchange.js';
import type { Responder } from '../proxy/respond.js';
import type { Consumer, PolicyContext } from '../core/context.js';
import { type ConfigIssue, ConfigError } from '../core/errors.js';
import { assertableHeaderProblem } from '../core/identity-headers.js';
import { FIRST_CONSUMER_PHASE, PHASE_INDEX, type Phase } from '../core/phases.js';
import type { PolicyDeps, PolicyServices } from '../core/policy.js';
import { eachStep, runSliced, runSync, type SliceOptions, type Steps } from '../core/slices.js';

export interface CompiledRoute {
  readonly index: number;
  readonly def: RouteConfig;
  /** `gateway.pathNormalization` with this route's overrides. */
  readonly pathOptions: PathOptions;
  /** The upstream service; absent on routes answered by a terminal (AI routes). */
  readonly service: UpstreamService | undefined;
  /** The chain for requests with no consumer-specific policies. */
  readonly chain: Chain;
  /**
   * Set when something other than an HTTP service answers the route (the AI gateway, prompt
   * templates): called after the request phases, instead of the upstream call.
   */
  readonly terminal?: Terminal;
  /** Chains per consumer, built on first use (consumer- and group-scoped policies). */
  chainFor(consumer: Consumer | undefined): Chain;
}

export interface TerminalCall {
  ctx: PolicyContext;
  req: IncomingMessage;
  res: ServerResponse;
  exchange: Exchange;
  chain: Chain;
  respond: Responder;
}

export type Terminal = (call: TerminalCall) => Promise<void>;

export interface CompiledRevision {
  readonly id: number;
  readonly hash: string;
  /** The config as stored: secret references unresolved, consumers removed. */
  readonly config: Config;
  readonly router: RouteTable<CompiledRoute>;
  /** `gateway.pathNormalization` with its defaults (for paths no route matches). */
  readonly pathOptions: PathOptions;
  readonly routes: readonly CompiledRoute[];
  readonly services: ReadonlyMap<string, UpstreamService>;
  readonly trustedProxies: CidrSet;
  readonly maxUrlLength: number;
  /** Cap on a body buffered for a policy that reads it. */
  readonly maxBufferedBodyBytes: number;
  /** Request headers the revision's policies assert (`PolicyDeps.assertsHeader`), lower case. */
  readonly assertedHeaders: ReadonlySet<string>;
  /** Most header fields a request may carry (`gateway.limits.maxHeaders`); 431 beyond. */
  readonly maxHeaders: number;
  /** TRACE is forwarded (`gateway.allowTrace`); otherwise 405. */
  readonly allowTrace: boolean;
  /** What becomes of a body sent with GET or HEAD (`gateway.bodyOnGet`). */
  readonly bodyOnGet: 'refuse' | 'strip' | 'forward';
  /** `gateway.requestLog`, compiled (mask patterns on RE2). */
  readonly requestLog: RecorderSettings;
  readonly secrets: ReadonlySet<string>;
  /** Runs the cleanup policies registered (feed timers and the like). Idempotent. */
  readonly dispose: () => void;
  /**
   * Hash of the config with secrets resolved. Never shown: it only tells that a secret's value
   * changed under an unchanged revision, so that re-applying the same file picks it up.
   */
  readonly fingerprint: string;
}

export interface CompileDeps {
  registry: PolicyRegistry;
  /** Store, directory, counters, metrics and events handed to every policy's `create`. */
  services: PolicyServices;
  clock: Clock;
  logger: Logger;
  secretEnv?: SecretEnv;
  /** Services of the running revision, by hash, to reuse their pools and health. */
  liveServices?: ReadonlyMap<string, UpstreamService>;
}

/** The part of a config that makes a revision: consumers are data, not revisioned. */
export function revisionConfig(config: Config): Config {
  const { consumers: _consumers, ...rest } = config;
  return rest as Config;
}

/** Validation only: every issue, nothing started. Used by `portcullis validate` and dry runs. */
export function checkOnly(input: unknown, deps: CompileDeps): ConfigIssue[] {
  try {
    const c = compile(input, 0, deps);
    // Close only services that were created for this check.
    for (const s of c.services.values()) if (!deps.liveServices?.has(s.hash)) void s.close();
    c.dispose();
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
}

/**
 * Validates and compiles a config into a revision ready to serve. Throws ConfigError with every
 * issue. Nothing here runs per request: routers, chains, CIDR sets and policy handlers are built
 * once. Services whose config is unchanged are taken over from the running revision.
 */
export function compile(input: unknown, id: number, deps: CompileDeps): CompiledRevision {
  return runSync(compileSteps(input, id, deps));
}

/**
 * `compile` in time slices with the event loop given a turn between them, so that a large config
 * compiles while the running revision keeps serving (src/core/slices.ts). Nothing it builds is
 * reachable from the data plane until the caller swaps the result in.
 */
export function compileSliced(
  input: unknown,
  id: number,
  deps: CompileDeps,
  opts?: SliceOptions,
): Promise<CompiledRevision> {
  return runSliced(compileSteps(input, id, deps), opts);
}

/** The compiler as steps: one per service, route and policy (and per tree node of the router). */
export function* compileSteps(input: unknown, id: number, deps: CompileDeps): Steps<CompiledRevision> {
  const checked = yield* checkConfigSteps(input, deps.registry);
  if (!checked.schemaValid) throw new ConfigError(checked.issues);
  const stored = revisionConfig(checked.config);
  const hash = sha256(yield* canonicalJsonSteps(stored));
  const resolved = yield* resolveSecretsSteps(stored, deps.secretEnv);
  const cfg = resolved.value as Config;

  // Every issue is gathered before refusing: semantic checks, secrets, then what only
  // compiling finds (bad CIDRs, policy settings). Parts that already failed are not compiled.
  const gatewayIssues: ConfigIssue[] = [...checked.issues, ...resolved.issues];
  const failed = new Set(gatewayIssues.map((i) => i.path));
  const hasIssue = (at: string) => [...failed].some((p) => p === at || p.startsWith(`${at}/`));
  stored.services.forEach((s, i) => {
    s.targets.forEach((t, j) => {
      const at = `/services/${i}/targets/${j}/url`;
      if (!t.url.includes('${') || hasIssue(at)) return;
      const problem = targetUrlProblem(cfg.services[i].targets[j].url, true);
      if (problem)
        gatewayIssues.push({ path: at, message: `${problem} (after resolving secret references)` });
    });
  });
  const trusted = buildCidrSet(cfg.gateway?.trustedProxies ?? []);
  for (const i of trusted.invalid)
    gatewayIssues.push({ path: `/gateway/trustedProxies/${i}`, message: 'not an IP address or CIDR' });
  const requestLog = recorderSettings(cfg.gateway?.requestLog, gatewayIssues);

  const disposers: (() => void)[] = [];
  const dispose = () => {
    for (const fn of disposers.splice(0)) {
      try {
        fn();
      } catch (err) {
        deps.logger.warn({ err: String(err) }, 'policy cleanup failed');
      }
    }
  };
  const asserted = new Set<string>();
  const policyDeps: PolicyDeps = {
    ...deps.services,
    logger: deps.logger,
    clock: deps.clock,
    gateway: { trustedProxies: cfg.gateway?.trustedProxies ?? [] },
    onDispose: (fn) => disposers.push(fn),
    assertsHeader(name) {
      const h = name.toLowerCase();
      const problem = assertableHeaderProblem(h);
      if (problem) throw new Error(problem);
      asserted.add(h);
    },
  };
  const instances = yield* instanceSteps(cfg, deps.registry, policyDeps, hasIssue, gatewayIssues);
  // A message may quote a resolved value (a policy quoting the entry it refused).
  const redacted = (list: ConfigIssue[]) =>
    list.map((i) => ({ path: i.path, message: redact(i.message, resolved.secrets) }));
  if (gatewayIssues.length) {
    dispose();
    throw new ConfigError(redacted(gatewayIssues));
  }

  const services = new Map<string, UpstreamService>();
  for (const s of cfg.services) {
    const h = sha256(canonicalJson(s));
    services.set(s.name, deps.liveServices?.get(h) ?? new UpstreamService(s, h, deps.clock, deps.logger));
    yield;
  }

  const ai = compileAi(cfg.ai, { services: deps.services, clock: deps.clock, logger: deps.logger });
  const terminals = new Map<number, Terminal>();
  const routeIssues: ConfigIssue[] = [];
  yield* eachStep(cfg.routes, (def, index) => {
    if (!def.ai) return;
    const t = ai.terminalFor(def, `/routes/${index}/ai`);
    routeIssues.push(...t.issues);
    if (t.terminal) terminals.set(index, t.terminal);
  });
  if (routeIssues.length) {
    for (const s of services.values()) if (deps.liveServices?.get(s.hash) !== s) void s.close();
    dispose();
    throw new ConfigError(redacted(routeIssues));
  }

  const routes = yield* routeSteps(cfg.routes, instances, services, terminals, pathOptionsOf(cfg));
  let router: RouteTable<CompiledRoute>;
  try {
    router = yield* RouteTable.build(routes);
  } catch (err) {
    for (const s of services.values()) if (deps.liveServices?.get(s.hash) !== s) void s.close();
    dispose();
    throw err;
  }
  return {
    id,
    hash,
    config: stored,
    router,
    pathOptions: pathOptionsOf(cfg),
    routes,
    services,
    trustedProxies: trusted.set,
    maxUrlLength: cfg.gateway?.limits?.maxUrlLength ?? 8192,
    maxBufferedBodyBytes: cfg.gateway?.limits?.maxBufferedBodyBytes ?? 1_048_576,
    assertedHeaders: asserted,
    maxHeaders: cfg.gateway?.limits?.maxHeaders ?? 1000,
    allowTrace: cfg.gateway?.allowTrace ?? false,
    bodyOnGet: cfg.gateway?.bodyOnGet ?? 'refuse',
    requestLog,
    secrets: resolved.secrets,
    dispose,
    fingerprint: sha256(yield* canonicalJsonSteps(cfg)),
  };
}

/** Runs each policy's factory (`create`), one step per policy; refusals go to `issues`. */
function* instanceSteps(
  cfg: Config,
  registry: PolicyRegistry,
  policyDeps: PolicyDeps,
  hasIssue: (at: string) => boolean,
  issues: ConfigIssue[],
): Steps<Instance[]> {
  const instances: Instance[] = [];
  for (let order = 0; order < cfg.policies.length; order++) {
    const p = cfg.policies[order];
    if (p.mode === 'off' || hasIssue(`/policies/${order}`)) continue;
    const mod = registry.get(p.name)!;
    let handlers: Instance['handlers'];
    try {
      handlers = mod.create(p.config ?? {}, {
        ...policyDeps,
        instance: { id: p.id ?? p.name, scope: scopeKey(p.scope) },
      });
    } catch (err) {
      // A policy may name the field it refuses (`allow/1`) in the error's `path`.
      const at = (err as { path?: unknown }).path;
      const field = typeof at === 'string' && at ? `/${at}` : '';
      issues.push({ path: `/policies/${order}/config${field}`, message: (err as Error).message });
      continue;
    }
    const level = scopeLevel(p.scope);
    if (level >= 3) {
      const early = (Object.keys(handlers) as Phase[]).filter(
        (ph) => PHASE_INDEX[ph] < PHASE_INDEX[FIRST_CONSUMER_PHASE],
      );
      if (early.length)
        issues.push({
          path: `/policies/${order}/scope`,
          message: `'${p.name}' runs in phase ${early.join(', ')}, before the consumer is known; it cannot be scoped to a consumer or group`,
        });
    }
    const id = p.id ?? p.name;
    instances.push({
      order,
      policy: p.name,
      id,
      label: id === p.name ? p.name : `${p.name}#${id}`,
      scope: p.scope ?? 'global',
      scopeText: scopeKey(p.scope),
      level,
      mode: p.mode,
      priority: mod.priority,
      handlers,
    });
    yield;
  }
  return instances;
}

const pathOptionsCache = new WeakMap<Config, PathOptions>();

/** `gateway.pathNormalization` with its defaults, one frozen object per config. */
function pathOptionsOf(cfg: Config): PathOptions {
  let o = pathOptionsCache.get(cfg);
  if (!o) {
    o = Object.freeze({ ...DEFAULT_PATH_OPTIONS, ...cfg.gateway?.pathNormalization });
    pathOptionsCache.set(cfg, o);
  }
  return o;
}

/** The compiled routes with their chains, one step per route. */
function* routeSteps(
  defs: readonly RouteConfig[],
  instances: readonly Instance[],
  services: ReadonlyMap<string, UpstreamService>,
  terminals: ReadonlyMap<number, Terminal>,
  pathOptions: PathOptions,
): Steps<CompiledRoute[]> {
  const personal = instances.filter((i) => i.level >= 3);
  const scoped = new ScopeIndex(instances);
  const routes: CompiledRoute[] = [];
  for (let index = 0; index < defs.length; index++) {
    const def = defs[index];
    const serviceName = def.service ?? '';
    const base = scoped.forRoute(def.name, serviceName);
    const chain = buildChain(base);
    const cache = new Map<string, Chain>();
    routes.push({
      index,
      def,
      pathOptions: def.pathNormalization
        ? Object.freeze({ ...pathOptions, ...def.pathNormalization })
        : pathOptions,
      service: def.service === undefined ? undefined : services.get(def.service),
      terminal: terminals.get(index),
      chain,
      chainFor(consumer) {
        if (!consumer || personal.length === 0) return chain;
        const key = `${consumer.name}\0${consumer.groups.join(',')}`;
        let c = cache.get(key);
        if (!c) {
          const mine = personal.filter((i) => applies(i, def.name, serviceName, consumer));
          c = mine.length ? buildChain([...base, ...mine]) : chain;
          if (cache.size > 10_000) cache.clear();
          cache.set(key, c);
        }
        return c;
      },
    });
    yield;
  }
  return routes;
}

/**
 * The global, service and route instances by what they attach to, so that finding a route's
 * instances costs what applies to it, not a pass over every policy (20,000 routes x 5,000 route
 * policies was 100 million checks). Gives what filtering by `applies` gave, in config order.
 */
class ScopeIndex {
  private readonly global: Instance[] = [];
  private readonly byService = new Map<string, Instance[]>();
  private readonly byRoute = new Map<string, Instance[]>();

  constructor(instances: readonly Instance[]) {
    for (const i of instances) {
      const s = i.scope;
      if (i.level >= 3) continue;
      if (!s || s === 'global') this.global.push(i);
      else if ('route' in s) push(this.byRoute, s.route, i);
      else if ('service' in s) push(this.byService, s.service, i);
    }
  }

  forRoute(route: string, service: string): Instance[] {
    const bySvc = this.byService.get(service);
    const own = this.byRoute.get(route);
    if (!bySvc && !own) return this.global.slice();
    return [...this.global, ...(bySvc ?? []), ...(own ?? [])].sort((a, b) => a.order - b.order);
  }
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}
