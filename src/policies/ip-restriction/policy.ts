import type { PolicyContext } from '../../core/context.js';
import { definePolicy } from '../../core/policy.js';
import { clientIpFrom } from '../../net/client-ip.js';
import { type CountryDb, openCountryDb } from '../../net/geoip.js';
import { buildCidrSet, type CidrSet, normalizeIp, parseIp } from '../../net/ip.js';
import { readIpListFile } from '../../net/ip-lists.js';
import { IpRestrictionSchema } from './schema.js';

function cidrs(list: string[] | undefined, field: string): CidrSet | undefined {
  if (!list) return undefined;
  const { set, invalid } = buildCidrSet(list);
  if (invalid.length)
    throw configError(`${field}/${invalid[0]}`, `'${list[invalid[0]]}' is not an IP address or CIDR`);
  return set;
}

function files(paths: string[] | undefined, field: string): CidrSet[] {
  return (paths ?? []).map((p, i) => {
    try {
      return readIpListFile(p);
    } catch (err) {
      throw configError(`${field}/${i}`, (err as Error).message);
    }
  });
}

/** An error naming the config field it is about (`allow/1`); the compiler puts it in the path. */
function configError(path: string, message: string): Error {
  return Object.assign(new Error(message), { path });
}

/** Source of a set for one request: fixed sets, and feeds read at the moment of the request. */
type SetSource = () => CidrSet;

function firstMatch(sources: readonly SetSource[], bytes: Uint8Array | undefined): string | undefined {
  for (let i = 0; i < sources.length; i++) {
    const hit = sources[i]().match(bytes);
    if (hit !== undefined) return hit;
  }
  return undefined;
}

/**
 * Allow and deny by client IP (IPv4 and IPv6) from inline lists, files, refreshed HTTP feeds and
 * MaxMind country data. Every set is a prefix trie: each lookup is at most 32 or 128 steps,
 * whatever the number of CIDRs. Deny sources are checked first; then, when any allow source is
 * configured, the address must be in one of them.
 */
export const ipRestriction = definePolicy({
  name: 'ip-restriction',
  description:
    'Allow or deny requests by client IP address or CIDR (IPv4 and IPv6), from lists, files, feeds and countries.',
  schema: IpRestrictionSchema,
  priority: 10,
  create(config, deps) {
    const g = config.geoip;
    const hasAllow = !!(
      config.allow ||
      config.allowFiles ||
      config.feeds?.some((f) => f.list === 'allow') ||
      g?.allowCountries
    );
    const hasDeny = !!(
      config.deny ||
      config.denyFiles ||
      config.feeds?.some((f) => f.list === 'deny') ||
      g?.denyCountries
    );
    if (!hasAllow && !hasDeny)
      throw new Error(
        'set at least one of allow, deny, allowFiles, denyFiles, feeds, geoip.allowCountries or geoip.denyCountries',
      );
    if (g && !g.allowCountries && !g.denyCountries)
      throw configError('geoip', 'geoip needs allowCountries or denyCountries');

    const allowSets: SetSource[] = [];
    const denySets: SetSource[] = [];
    const inlineAllow = cidrs(config.allow, 'allow');
    const inlineDeny = cidrs(config.deny, 'deny');
    if (inlineAllow) allowSets.push(() => inlineAllow);
    if (inlineDeny) denySets.push(() => inlineDeny);
    for (const s of files(config.allowFiles, 'allowFiles')) allowSets.push(() => s);
    for (const s of files(config.denyFiles, 'denyFiles')) denySets.push(() => s);
    for (const f of config.feeds ?? []) {
      const feed = deps.ipFeeds.acquire({
        url: f.url,
        refreshSeconds: f.refreshSeconds,
        timeoutMs: f.timeoutMs,
      });
      deps.onDispose?.(feed.release);
      (f.list === 'allow' ? allowSets : denySets).push(feed.current);
    }
    let geo: CountryDb | undefined;
    if (g) {
      try {
        geo = openCountryDb(g.database);
      } catch (err) {
        throw configError('geoip/database', (err as Error).message);
      }
    }
    const allowCountries = g?.allowCountries
      ? new Set(g.allowCountries.map((c) => c.toUpperCase()))
      : undefined;
    const denyCountries = g?.denyCountries ? new Set(g.denyCountries.map((c) => c.toUpperCase())) : undefined;
    const proxies = cidrs(config.trustedProxies, 'trustedProxies');
    const status = config.status;

    return {
      request: function ipRestriction(ctx: PolicyContext) {
        const r = ctx.request;
        const ip = proxies
          ? clientIpFrom(r.remoteAddress, r.headers['x-forwarded-for'], proxies)
          : r.clientIp;
        const bytes = parseIp(ip);
        const country = geo ? geo.country(ip) : undefined;
        const denied = firstMatch(denySets, bytes);
        if (denied !== undefined)
          return ctx.reject('PCS_ERR_IP_DENIED', {
            rule: `deny:${denied}`,
            detail: `client ${normalizeIp(ip)}`,
            status,
          });
        if (country && denyCountries?.has(country))
          return ctx.reject('PCS_ERR_IP_DENIED', {
            rule: `deny-country:${country}`,
            detail: `client ${normalizeIp(ip)}`,
            status,
          });
        if (!hasAllow) return undefined;
        const allowed = firstMatch(allowSets, bytes);
        if (allowed !== undefined) return ctx.allow(`allow:${allowed}`);
        if (country && allowCountries?.has(country)) return ctx.allow(`allow-country:${country}`);
        return ctx.reject('PCS_ERR_IP_DENIED', {
          rule: 'allow:none',
          detail: `client ${normalizeIp(ip)}${geo ? ` country ${country ?? 'unknown'}` : ''}`,
          status,
        });
      },
    };
  },
});
