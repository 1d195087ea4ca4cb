import FindMyWay from 'find-my-way';
import type { RouteConfig } from '../config/schema.js';
import { type ConfigIssue, ConfigError } from '../core/errors.js';

/** What the router needs of a compiled route. */
export interface Routable {
  readonly index: number;
  readonly def: RouteConfig;
}

interface Candidate<R> {
  route: R;
  /** Number of leading path segments the route's pattern matched, for stripPath. */
  baseSegments: number;
  exact: boolean;
  hostsExact: ReadonlySet<string> | undefined;
  /** Wildcard hosts as suffixes (`.example.com`); with a port (`.example.com:8443`) when given. */
  hostSuffixes: readonly string[] | undefined;
  methods: ReadonlySet<string> | undefined;
  headers: readonly [string, string][] | undefined;
  rank: number[];
}

/**
 * A candidate of the pattern the radix tree found (`match` undefined: its params are the
 * tree's), or one of another pattern that may also match the path (`match` checks the path
 * against that pattern and gives its params).
 */
interface Entry<R> {
  cand: Candidate<R>;
  match: ((path: string) => Record<string, string | undefined> | undefined) | undefined;
}

export interface RouteMatch<R> {
  route: R;
  params: Record<string, string | undefined>;
  /** The path with the route's matched prefix removed (for stripPath). */
  strippedPath: string;
}

/**
 * Routes requests by path with a radix tree (find-my-way), then by host, method and headers.
 *
 * Priority, documented in docs/config.md: the most specific path pattern wins (segment by
 * segment, static before `:param` before a prefix's tail); among routes on the same pattern,
 * exact before prefix, then routes with hosts (exact before wildcard), then with headers (more
 * first), then with methods, then higher `priority`, then config order. When no route on the
 * most specific pattern accepts the request (host, method or headers), the routes of the next
 * most specific pattern that matches the path are tried, and so on: prefix routes on ancestor
 * paths, nearest first, and `:param` routes beside a static one (`/users/:id` takes a DELETE
 * of `/users/me` when the `/users/me` route accepts only GET).
 */
export class Router<R extends Routable> {
  private readonly fmw = FindMyWay({ maxParamLength: 8192, caseSensitive: true });

  /** Throws a ConfigError naming every path find-my-way refuses. */
  constructor(routes: readonly R[]) {
    // Patterns that differ only in parameter names (`/u/:id`, `/u/:uid`) share one tree node.
    const byShape = new Map<string, { pattern: string; own: { cand: Candidate<R>; pattern: string }[] }>();
    const issues: ConfigIssue[] = [];
    for (const route of routes) {
      route.def.paths.forEach((raw, j) => {
        const base = raw.length > 1 && raw.endsWith('/') ? raw.slice(0, -1) : raw;
        const exact = route.def.pathMatch === 'exact';
        const cand = candidate(route, base, exact);
        const patterns = exact ? [base] : [base, base === '/' ? '/*' : `${base}/*`];
        try {
          for (const pattern of patterns) FindMyWay().on('GET', pattern, () => undefined);
        } catch (err) {
          issues.push({
            path: `/routes/${route.index}/paths/${j}`,
            message: `invalid path: ${(err as Error).message}`,
          });
          return;
        }
        for (const pattern of patterns) {
          const key = shape(pattern);
          const slot = byShape.get(key) ?? { pattern, own: [] };
          byShape.set(key, slot);
          slot.own.push({ cand, pattern });
        }
      });
    }
    if (issues.length) throw new ConfigError(issues);
    const slots = [...byShape.values()].map((slot) => ({ ...slot, segs: segments(slot.pattern) }));
    // Most specific first, so that fallbacks are tried in the order the tree would pick them.
    slots.sort((a, b) => compareSpecificity(b.segs, a.segs));
    const matchers = new Map<string, Entry<R>['match']>();
    const matcherOf = (pattern: string) => {
      let m = matchers.get(pattern);
      if (!m) {
        m = patternMatcher(pattern);
        matchers.set(pattern, m);
      }
      return m;
    };
    for (const slot of slots) slot.own.sort((a, b) => compareCandidates(a.cand, b.cand));
    for (const slot of slots) {
      // The tree's params are named after the slot's pattern; a route spelt otherwise has its own.
      const entries: Entry<R>[] = slot.own.map(({ cand, pattern }) => ({
        cand,
        match: pattern === slot.pattern ? undefined : matcherOf(pattern),
      }));
      for (const other of slots) {
        // A more specific pattern that matched the path would have been found instead.
        if (other === slot || compareSpecificity(other.segs, slot.segs) > 0) continue;
        if (!mayOverlap(slot.segs, other.segs)) continue;
        for (const { cand, pattern } of other.own) entries.push({ cand, match: matcherOf(pattern) });
      }
      try {
        this.fmw.on('GET', slot.pattern, () => undefined, { entries });
      } catch (err) {
        const route = slot.own[0].cand.route;
        issues.push({
          path: `/routes/${route.index}/paths`,
          message: `path ${slot.pattern}: ${(err as Error).message}`,
        });
      }
    }
    if (issues.length) throw new ConfigError(issues);
  }

  find(
    method: string,
    host: string,
    path: string,
    headers: Record<string, string | string[] | undefined>,
  ): RouteMatch<R> | undefined {
    const found = this.fmw.find('GET', path);
    if (!found) return undefined;
    const { entries } = found.store as { entries: Entry<R>[] };
    const hostLower = host.toLowerCase();
    const hostname = stripPort(hostLower);
    for (const { cand: c, match } of entries) {
      if (c.methods && !c.methods.has(method)) continue;
      if (c.hostsExact || c.hostSuffixes) {
        if (
          !(
            c.hostsExact?.has(hostname) ||
            c.hostsExact?.has(hostLower) ||
            c.hostSuffixes?.some((s) => (s.includes(':') ? hostLower : hostname).endsWith(s))
          )
        )
          continue;
      }
      if (c.headers && !c.headers.every(([k, v]) => headers[k] === v)) continue;
      const params = match ? match(path) : found.params;
      if (!params || hasEmptyParam(params)) continue;
      return { route: c.route, params, strippedPath: strip(path, c.baseSegments) };
    }
    return undefined;
  }
}

/** Kinds of a pattern's segments: 2 static, 1 parameter, 0 a prefix's tail (`*`). */
function segments(pattern: string): string[] {
  return pattern === '/' ? [] : pattern.slice(1).split('/');
}

/** `:name` matches a non-empty segment (the radix tree lets `/users/:id` take `/users/`). */
function hasEmptyParam(params: Record<string, string | undefined>): boolean {
  for (const k in params) if (params[k] === '' && k !== '*') return true;
  return false;
}

/** A pattern with its plain `:name` parameters unnamed. */
function shape(pattern: string): string {
  return pattern.replace(/\/:[A-Za-z_$][\w$]*(?=\/|$)/g, '/:');
}

function kind(seg: string): number {
  if (seg === '*') return 0;
  return seg.includes(':') || seg.includes('*') ? 1 : 2;
}

function compareSpecificity(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = kind(a[i]) - kind(b[i]);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** Whether some path may match both patterns (over-approximated; matchers decide). */
function mayOverlap(a: readonly string[], b: readonly string[]): boolean {
  for (let i = 0; ; i++) {
    if (i === a.length || i === b.length) {
      return a.length === b.length || a[i] === '*' || b[i] === '*';
    }
    if (a[i] === '*' || b[i] === '*') return true;
    if (kind(a[i]) === 2 && kind(b[i]) === 2 && a[i] !== b[i]) return false;
  }
}

/** Checks a path against one pattern with the same radix tree semantics, giving its params. */
function patternMatcher(pattern: string): (path: string) => Record<string, string | undefined> | undefined {
  const one = FindMyWay({ maxParamLength: 8192, caseSensitive: true });
  one.on('GET', pattern, () => undefined);
  return (path) => one.find('GET', path)?.params;
}

function candidate<R extends Routable>(route: R, base: string, exact: boolean): Candidate<R> {
  const d = route.def;
  const exactHosts = d.hosts?.filter((h) => !h.startsWith('*.')).map((h) => h.toLowerCase());
  const wildHosts = d.hosts?.filter((h) => h.startsWith('*.')).map((h) => h.slice(1).toLowerCase());
  const headers = d.headers
    ? Object.entries(d.headers).map(([k, v]) => [k.toLowerCase(), v] as [string, string])
    : undefined;
  return {
    route,
    baseSegments: base === '/' ? 0 : base.split('/').length - 1,
    exact,
    hostsExact: exactHosts?.length ? new Set(exactHosts) : undefined,
    hostSuffixes: wildHosts?.length ? wildHosts : undefined,
    methods: d.methods?.length ? new Set(d.methods) : undefined,
    headers: headers?.length ? headers : undefined,
    rank: [
      exact ? 1 : 0,
      exactHosts?.length ? 2 : wildHosts?.length ? 1 : 0,
      headers?.length ?? 0,
      d.methods?.length ? 1 : 0,
      d.priority ?? 0,
      -route.index,
    ],
  };
}

function compareCandidates<R extends Routable>(a: Candidate<R>, b: Candidate<R>): number {
  for (let i = 0; i < a.rank.length; i++) if (a.rank[i] !== b.rank[i]) return b.rank[i] - a.rank[i];
  return 0;
}

/** The host without its port; `host` is already lower case. */
function stripPort(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.indexOf(':');
  return colon < 0 ? host : host.slice(0, colon);
}

function strip(path: string, segments: number): string {
  if (segments === 0) return path;
  let i = 0;
  for (let s = 0; s < segments; s++) {
    i = path.indexOf('/', i + 1);
    if (i < 0) return '/';
  }
  return path.slice(i) || '/';
}
