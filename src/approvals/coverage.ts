import { canonicalJson, sha256 } from '../lib/canonical.js';
import type { Chain } from '../core/chain.js';
import type { CompiledRevision, CompiledRoute } from '../runtime/compile.js';
import type { Consumer } from '../core/context.js';

/** Does a change of this policy type need an approval (`gateway.approvals.policies`, or all)? */
export type Guarded = (policy: string) => boolean;

/** At most this many findings are listed; the rest are counted. */
const MAX_FINDINGS = 50;

/** A method no route names: stands for every method that no route lists. */
const OTHER_METHOD = 'PROBE';

/** One request shape the routers are asked about. */
interface Probe {
  method: string;
  host: string;
  path: string;
  headers: Record<string, string>;
}

/** An audience of a chain: no consumer, or a consumer of a group or name that a policy is scoped to. */
interface Audience {
  label: string;
  consumer: Consumer | undefined;
}

/**
 * What an effective chain enforces of the guarded policies: one signature per instance in
 * `enforce` mode (its type and a hash of its settings: config and anything else but name, id,
 * scope and mode), mapped to its label for messages. An instance moved to another scope with the
 * same settings keeps its signature; `shadow`, `off` or other settings do not.
 */
function enforced(chain: Chain, rev: CompiledRevision, guarded: Guarded): Map<string, string> {
  const out = new Map<string, string>();
  for (const phase of chain)
    for (const { instance: i } of phase) {
      if (i.mode !== 'enforce' || !guarded(i.policy)) continue;
      const { name: _n, id: _i, scope: _s, mode: _m, ...settings } = rev.config.policies[i.order];
      out.set(`${i.policy}:${sha256(canonicalJson(settings))}`, i.label);
    }
  return out;
}

function lostFrom(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...before].filter(([sig]) => !after.has(sig)).map(([, label]) => label);
}

/**
 * Requests a route answers, as concrete values: each path with its parameters filled in (and one
 * segment below it for a prefix route), each host (`*.x` as `probe.x`; a made-up host when the
 * route names none), each method it lists (or every method any route names, and one none does),
 * with the headers it requires.
 */
function probesOf(def: CompiledRoute['def'], methods: readonly string[]): Probe[] {
  const hosts = def.hosts?.length
    ? def.hosts.map((h) => (h.startsWith('*.') ? `probe${h.slice(1)}` : h))
    : ['probe.invalid'];
  const headers = Object.fromEntries(Object.entries(def.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const paths = def.paths.flatMap((p) => {
    const concrete = p
      .split('/')
      .map((seg) => (seg === '*' ? 'probe' : seg.replace(/:[A-Za-z_$][\w$]*(\([^)]*\))?/g, 'probe')))
      .join('/');
    if (def.pathMatch === 'exact') return [concrete];
    return [concrete, `${concrete.endsWith('/') ? concrete.slice(0, -1) : concrete}/probe`];
  });
  const out: Probe[] = [];
  for (const method of def.methods?.length ? def.methods : methods)
    for (const host of hosts) for (const path of paths) out.push({ method, host, path, headers });
  return out;
}

function audiences(revs: readonly CompiledRevision[]): Audience[] {
  const out: Audience[] = [{ label: '', consumer: undefined }];
  const seen = new Set<string>();
  for (const rev of revs)
    for (const p of rev.config.policies) {
      const s = p.scope;
      if (!s || s === 'global' || !('group' in s || 'consumer' in s)) continue;
      const key = 'group' in s ? `group ${s.group}` : `consumer ${s.consumer}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const consumer: Consumer =
        'group' in s
          ? { id: '', name: '\0probe', groups: [s.group], metadata: {} }
          : { id: '', name: s.consumer, groups: [], metadata: {} };
      out.push({ label: ` for ${key}`, consumer });
    }
  return out;
}

/**
 * The paths on which `next` enforces less of a guarded policy than `live` does: for every request
 * shape a route of either revision answers, the route each revision picks for it (with its hosts,
 * methods and headers) and that route's effective chain, for a request without a consumer and for
 * each group and consumer a policy is scoped to. A finding: the request's path lost an enforced
 * guarded policy instance, or it is now answered by a route that lacks it (a route moved away, a
 * route added in front with a higher priority or a more specific path). A request `next` does not
 * route at all (404) loses nothing. Each finding reads `GET /admin: route admin -> catch-all,
 * loses key-auth`.
 */
export function coverageLosses(live: CompiledRevision, next: CompiledRevision, guarded: Guarded): string[] {
  const named = new Set<string>(['GET', OTHER_METHOD]);
  for (const rev of [live, next])
    for (const r of rev.config.routes) for (const m of r.methods ?? []) named.add(m);
  const methods = [...named];
  const who = audiences([live, next]);
  const sigs = new Map<Chain, Map<string, string>>();
  const sigsOf = (chain: Chain, rev: CompiledRevision) => {
    let s = sigs.get(chain);
    if (!s) {
      s = enforced(chain, rev, guarded);
      sigs.set(chain, s);
    }
    return s;
  };
  const findings = new Map<string, string>();
  let more = 0;
  for (const route of [...live.routes, ...next.routes])
    for (const probe of probesOf(route.def, methods)) {
      const was = live.router.find(probe.method, probe.host, probe.path, probe.headers)?.route;
      const now = was && next.router.find(probe.method, probe.host, probe.path, probe.headers)?.route;
      if (!was || !now) continue;
      // What every request loses is listed once, not again for each group and consumer.
      const common = new Set<string>();
      for (const a of who) {
        const lost = lostFrom(
          sigsOf(was.chainFor(a.consumer), live),
          sigsOf(now.chainFor(a.consumer), next),
        ).filter((l) => !common.has(l));
        if (a.consumer === undefined) for (const l of lost) common.add(l);
        if (!lost.length) continue;
        const moved = was.def.name === now.def.name ? was.def.name : `${was.def.name} -> ${now.def.name}`;
        const key = `${moved}\0${a.label}\0${lost.join(',')}`;
        if (findings.has(key)) continue;
        if (findings.size >= MAX_FINDINGS) {
          more++;
          continue;
        }
        const method = probe.method === OTHER_METHOD ? '*' : probe.method;
        findings.set(key, `${method} ${probe.path}${a.label}: route ${moved}, loses ${lost.join(', ')}`);
      }
    }
  const out = [...findings.values()];
  if (more) out.push(`and ${more} more paths that lose a guarded policy`);
  return out;
}

/**
 * What a consumer loses of the guarded policies when its groups change from `before` to `after`,
 * route by route, under one revision: a group-scoped policy it leaves, or a group whose policy
 * replaces a stricter global one. Each finding reads `consumer acme on route hello: groups
 * [contractors] -> [], loses ip-restriction#office`.
 */
export function consumerLosses(
  rev: CompiledRevision,
  name: string,
  before: readonly string[],
  after: readonly string[],
  guarded: Guarded,
): string[] {
  const as = (groups: readonly string[]): Consumer => ({ id: '', name, groups: [...groups], metadata: {} });
  const out: string[] = [];
  for (const route of rev.routes) {
    const lost = lostFrom(
      enforced(route.chainFor(as(before)), rev, guarded),
      enforced(route.chainFor(as(after)), rev, guarded),
    );
    if (lost.length)
      out.push(
        `consumer ${name} on route ${route.def.name}: groups ${JSON.stringify(before)} -> ${JSON.stringify(after)}, loses ${lost.join(', ')}`,
      );
  }
  return out;
}
