import FindMyWay from 'find-my-way';
import type { RouteConfig } from '../config/schema.js';

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
  hostSuffixes: readonly string[] | undefined;
  methods: ReadonlySet<string> | undefined;
  headers: readonly [string, string][] | undefined;
  rank: number[];
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
 * Priority, documented in docs/config.md: the most specific path pattern wins; among routes on
 * the same pattern, exact before prefix, then routes with hosts (exact before wildcard), then
 * with headers (more first), then with methods, then higher `priority`, then config order. When
 * no route on the most specific pattern accepts the request, prefix routes on shorter patterns
 * are tried, nearest first.
 */
export class Router<R extends Routable> {
  private readonly fmw = FindMyWay({ maxParamLength: 8192, caseSensitive: true });

  constructor(routes: readonly R[]) {
    const byPattern = new Map<string, Candidate<R>[]>();
    const prefixBases = new Map<string, Candidate<R>[]>();
    for (const route of routes) {
      for (const raw of route.def.paths) {
        const base = raw.length > 1 && raw.endsWith('/') ? raw.slice(0, -1) : raw;
        const exact = route.def.pathMatch === 'exact';
        const cand = candidate(route, base, exact);
        push(byPattern, base, cand);
        if (!exact) {
          push(byPattern, base === '/' ? '/*' : `${base}/*`, cand);
          push(prefixBases, base, cand);
        }
      }
    }
    for (const list of prefixBases.values()) list.sort(compareCandidates);
    for (const [pattern, own] of byPattern) {
      own.sort(compareCandidates);
      // Fall back to prefix routes on ancestor paths, nearest first.
      const base = pattern.endsWith('/*') ? pattern.slice(0, -2) || '/' : pattern;
      const all = [...own];
      for (let p = parentPath(base); p !== undefined; p = parentPath(p)) {
        for (const c of prefixBases.get(p) ?? []) if (!all.includes(c)) all.push(c);
      }
      this.fmw.on('GET', pattern, () => undefined, { candidates: all });
    }
  }

  find(
    method: string,
    host: string,
    path: string,
    headers: Record<string, string | string[] | undefined>,
  ): RouteMatch<R> | undefined {
    const found = this.fmw.find('GET', path);
    if (!found) return undefined;
    const { candidates } = found.store as { candidates: Candidate<R>[] };
    const hostname = stripPort(host);
    for (const c of candidates) {
      if (c.methods && !c.methods.has(method)) continue;
      if (c.hostsExact || c.hostSuffixes) {
        if (
          !(
            c.hostsExact?.has(hostname) ||
            c.hostsExact?.has(host) ||
            c.hostSuffixes?.some((s) => hostname.endsWith(s))
          )
        )
          continue;
      }
      if (c.headers && !c.headers.every(([k, v]) => headers[k] === v)) continue;
      return { route: c.route, params: found.params, strippedPath: strip(path, c.baseSegments) };
    }
    return undefined;
  }
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

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

function parentPath(p: string): string | undefined {
  if (p === '/') return undefined;
  const cut = p.lastIndexOf('/');
  return cut <= 0 ? '/' : p.slice(0, cut);
}

function stripPort(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return host.slice(0, end + 1).toLowerCase();
  }
  const colon = host.indexOf(':');
  return (colon < 0 ? host : host.slice(0, colon)).toLowerCase();
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
