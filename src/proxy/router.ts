import FindMyWay from 'find-my-way';
import type { RouteConfig } from '../config/schema.js';
import { type ConfigIssue, ConfigError } from '../core/errors.js';
import { mapSteps, runSync, type Steps } from '../core/slices.js';

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
  /** The kinds of the entry's pattern segments, to weigh it against another router's match. */
  segs: readonly string[];
  match: ((path: string) => Record<string, string | undefined> | undefined) | undefined;
}

export interface RouteMatch<R> {
  route: R;
  params: Record<string, string | undefined>;
  /** The path with the route's matched prefix removed (for stripPath). */
  strippedPath: string;
  /** The matched pattern's segments and the candidate's rank: how specific the match is. */
  segs: readonly string[];
  rank: readonly number[];
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
  private readonly fmw: ReturnType<typeof FindMyWay>;

  private readonly caseSensitive: boolean;

  /** Throws a ConfigError naming every path find-my-way refuses. */
  constructor(routes?: readonly R[], opts: { caseSensitive?: boolean } = {}) {
    this.caseSensitive = opts.caseSensitive ?? true;
    this.fmw = FindMyWay({ maxParamLength: 8192, caseSensitive: this.caseSensitive });
    if (routes) runSync(this.fill(routes));
  }

  /** The router built in steps, one per route and per tree node (src/core/slices.ts). */
  static *build<R extends Routable>(
    routes: readonly R[],
    opts: { caseSensitive?: boolean } = {},
  ): Steps<Router<R>> {
    const router = new Router<R>(undefined, opts);
    yield* router.fill(routes);
    return router;
  }

  private *fill(routes: readonly R[]): Steps<void> {
    const caseSensitive = this.caseSensitive;
    // Patterns that differ only in parameter names (`/u/:id`, `/u/:uid`) share one tree node.
    const byShape = new Map<string, { pattern: string; own: Own<R>[] }>();
    const issues: ConfigIssue[] = [];
    for (const route of routes) {
      route.def.paths.forEach((raw, j) => {
        // find-my-way would run `:id(regex)` on V8's backtracking engine, on every request.
        if (REGEX_PARAM.test(raw.replaceAll('::', ''))) {
          issues.push({
            path: `/routes/${route.index}/paths/${j}`,
            message:
              'regular-expression parameters (`:name(...)`) are not supported: use `:name` and check its form with request-validation',
          });
          return;
        }
        const base = raw.length > 1 && raw.endsWith('/') ? raw.slice(0, -1) : raw;
        const exact = route.def.pathMatch === 'exact';
        const cand = candidate(route, base, exact);
        const patterns = exact ? [base] : [base, base === '/' ? '/*' : `${base}/*`];
        for (const pattern of patterns) {
          const key = shape(pattern);
          const slot = byShape.get(key) ?? { pattern, own: [] };
          byShape.set(key, slot);
          slot.own.push({ cand, pattern, at: `/routes/${route.index}/paths/${j}` });
        }
      });
      yield;
    }
    if (issues.length) throw new ConfigError(issues);
    const shaped = yield* mapSteps([...byShape.values()], (slot) => ({
      ...slot,
      segs: segments(slot.pattern),
      order: 0,
    }));
    const slots = yield* bySpecificity(shaped);
    const trie = new SlotTrie<R>();
    for (let i = 0; i < slots.length; i++) {
      slots[i].order = i;
      trie.add(slots[i]);
      yield;
    }
    const matchers = new Map<string, Entry<R>['match']>();
    const matcherOf = (own: Own<R>) => {
      let m = matchers.get(own.pattern);
      if (!m) {
        try {
          m = patternMatcher(own.pattern, caseSensitive);
        } catch (err) {
          issues.push({ path: own.at, message: `invalid path: ${(err as Error).message}` });
          m = () => undefined;
        }
        matchers.set(own.pattern, m);
      }
      return m;
    };
    for (const slot of slots) {
      slot.own.sort((a, b) => compareCandidates(a.cand, b.cand));
      yield;
    }
    for (const slot of slots) {
      yield;
      // The tree's params are named after the slot's pattern; a route spelt otherwise has its own.
      const entries: Entry<R>[] = slot.own.map((own) => ({
        cand: own.cand,
        segs: slot.segs,
        match: own.pattern === slot.pattern ? undefined : matcherOf(own),
      }));
      // Less specific patterns that some path could match along with this one, in tree order.
      // (A more specific one that matched the path would have been found instead.)
      const others = trie.overlapping(slot.segs).filter((o) => o !== slot && o.order > slot.order);
      others.sort((x, y) => x.order - y.order);
      for (const other of others)
        for (const own of other.own)
          entries.push({ cand: own.cand, segs: other.segs, match: matcherOf(own) });
      try {
        this.fmw.on('GET', slot.pattern, () => undefined, { entries });
      } catch (err) {
        // find-my-way refuses the pattern (e.g. `*` before the end): name the path that asked for it.
        issues.push({ path: slot.own[0].at, message: `invalid path: ${(err as Error).message}` });
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
    for (const { cand: c, match, segs } of entries) {
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
      return { route: c.route, params, strippedPath: strip(path, c.baseSegments), segs, rank: c.rank };
    }
    return undefined;
  }
}

/** What a route needs to say whether its paths match in any case. */
export interface CaseRoutable extends Routable {
  readonly pathOptions: { readonly caseInsensitive: boolean };
}

/**
 * The routes of a revision: one case-sensitive router over every route, and beside it, when some
 * routes match in any case (`pathNormalization.caseInsensitive`), a case-insensitive router over
 * those. A case-insensitive route competes as though its paths were spelt in the request's case:
 * the more specific of the two matches wins, then the usual ranking.
 */
export class RouteTable<R extends CaseRoutable> {
  private readonly exact: Router<R>;
  private readonly folded: Router<R> | undefined;

  constructor(exact: Router<R>, folded: Router<R> | undefined) {
    this.exact = exact;
    this.folded = folded;
  }

  /** Both routers built in steps (src/core/slices.ts); throws a ConfigError as Router does. */
  static *build<R extends CaseRoutable>(routes: readonly R[]): Steps<RouteTable<R>> {
    const exact = yield* Router.build(routes);
    const ci = routes.filter((r) => r.pathOptions.caseInsensitive);
    const folded = ci.length ? yield* Router.build(ci, { caseSensitive: false }) : undefined;
    return new RouteTable(exact, folded);
  }

  /** Built in one go (tests, tools). */
  static of<R extends CaseRoutable>(routes: readonly R[]): RouteTable<R> {
    return runSync(RouteTable.build(routes));
  }

  find(
    method: string,
    host: string,
    path: string,
    headers: Record<string, string | string[] | undefined>,
  ): RouteMatch<R> | undefined {
    const m = this.exact.find(method, host, path, headers);
    if (!this.folded) return m;
    const f = this.folded.find(method, host, path, headers);
    if (!f || !m) return f ?? m;
    const d = compareSpecificity(f.segs, m.segs) || compareRanks(m.rank, f.rank);
    return d > 0 ? f : m;
  }
}

function compareRanks(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return b[i] - a[i];
  return 0;
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

/** Which of two patterns is more specific, segment by segment (positive: `a`). */
function compareSpecificity(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = kind(a[i]) - kind(b[i]);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/**
 * Most specific first, so that fallbacks are tried in the order the tree would pick them:
 * segment by segment static before `:param` before a prefix's tail, then the longer pattern;
 * config order among equals. The kinds of a pattern's segments as a digit string compare that
 * way as plain strings, and there are few distinct ones, so the slots are grouped by it (linear,
 * where a sort of 40,000 patterns comparing segments took most of a second).
 */
function* bySpecificity<R>(slots: Slot<R>[]): Steps<Slot<R>[]> {
  const groups = new Map<string, Slot<R>[]>();
  for (const slot of slots) {
    const key = slot.segs.map(kind).join('');
    const g = groups.get(key);
    if (g) g.push(slot);
    else groups.set(key, [slot]);
    yield;
  }
  const keys = [...groups.keys()].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
  const out: Slot<R>[] = [];
  for (const k of keys) for (const slot of groups.get(k)!) out.push(slot);
  return out;
}

interface Own<R> {
  cand: Candidate<R>;
  pattern: string;
  /** The config path of the route path that made this pattern, for errors. */
  at: string;
}

interface Slot<R> {
  pattern: string;
  own: Own<R>[];
  segs: string[];
  /** Position in specificity order (0 = most specific). */
  order: number;
}

interface TrieNode<R> {
  statics: Map<string, TrieNode<R>>;
  param: TrieNode<R> | undefined;
  /** Slots whose pattern ends here. */
  end: Slot<R>[];
  /** Slots whose pattern is this node's path followed by a prefix tail (`/*`). */
  tail: Slot<R>[];
}

const node = <R>(): TrieNode<R> => ({ statics: new Map(), param: undefined, end: [], tail: [] });

/**
 * The patterns by segment, to find which ones some path could match together with a given one
 * without comparing every pair (linear in the patterns, not quadratic). Over-approximates for
 * segments mixing text and parameters; the per-pattern matchers decide at request time.
 */
class SlotTrie<R> {
  private readonly root = node<R>();

  add(slot: Slot<R>): void {
    let n = this.root;
    for (const seg of slot.segs) {
      if (seg === '*') {
        n.tail.push(slot);
        return;
      }
      if (kind(seg) === 2) {
        let next = n.statics.get(seg);
        if (!next) {
          next = node();
          n.statics.set(seg, next);
        }
        n = next;
      } else {
        n.param ??= node();
        n = n.param;
      }
    }
    n.end.push(slot);
  }

  overlapping(segs: readonly string[]): Slot<R>[] {
    const out = new Set<Slot<R>>();
    const walk = (n: TrieNode<R>, i: number) => {
      // A prefix tail at depth i needs a segment at i: any path of `segs` has one unless it ends here.
      if (i < segs.length) for (const t of n.tail) out.add(t);
      if (i === segs.length) {
        for (const e of n.end) out.add(e);
        return;
      }
      const seg = segs[i];
      if (seg === '*') {
        collectBelow(n, out, true);
        return;
      }
      if (kind(seg) === 2) {
        const s = n.statics.get(seg);
        if (s) walk(s, i + 1);
      } else for (const s of n.statics.values()) walk(s, i + 1);
      if (n.param) walk(n.param, i + 1);
    };
    walk(this.root, 0);
    return [...out];
  }
}

/** Every slot at or below a node that has at least one more segment (`skipEnd` at the node itself). */
function collectBelow<R>(n: TrieNode<R>, out: Set<Slot<R>>, skipEnd: boolean): void {
  if (!skipEnd) for (const e of n.end) out.add(e);
  for (const s of n.statics.values()) collectBelow(s, out, false);
  if (n.param) collectBelow(n.param, out, false);
  for (const t of n.tail) out.add(t);
}

/** A find-my-way parameter with a regular expression: `:id(^\d+$)`. */
const REGEX_PARAM = /:[^/]*\(/;

/** Checks a path against one pattern with the same radix tree semantics, giving its params. */
function patternMatcher(
  pattern: string,
  caseSensitive: boolean,
): (path: string) => Record<string, string | undefined> | undefined {
  const one = FindMyWay({ maxParamLength: 8192, caseSensitive });
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
  return compareRanks(a.rank, b.rank);
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
