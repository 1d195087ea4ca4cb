import type { PolicyContext } from '../../core/context.js';
import { definePolicy } from '../../core/policy.js';
import { clientIpFrom } from '../../net/client-ip.js';
import { buildCidrSet, type CidrSet, normalizeIp, parseIp } from '../../net/ip.js';
import { IpRestrictionSchema } from './schema.js';

function cidrs(list: string[] | undefined, field: string): CidrSet | undefined {
  if (!list) return undefined;
  const { set, invalid } = buildCidrSet(list);
  if (invalid.length)
    throw configError(`${field}/${invalid[0]}`, `'${list[invalid[0]]}' is not an IP address or CIDR`);
  return set;
}

/** An error naming the config field it is about (`allow/1`); the compiler puts it in the path. */
function configError(path: string, message: string): Error {
  return Object.assign(new Error(message), { path });
}

/** Allow and deny by client IP (IPv4 and IPv6), with a prefix trie: constant time per request. */
export const ipRestriction = definePolicy({
  name: 'ip-restriction',
  description: 'Allow or deny requests by client IP address or CIDR, IPv4 and IPv6.',
  schema: IpRestrictionSchema,
  priority: 10,
  create(config) {
    if (!config.allow && !config.deny) throw new Error('set at least one of allow or deny');
    const allow = cidrs(config.allow, 'allow');
    const deny = cidrs(config.deny, 'deny');
    const proxies = cidrs(config.trustedProxies, 'trustedProxies');
    const status = config.status;
    return {
      request: function ipRestriction(ctx: PolicyContext) {
        const r = ctx.request;
        const ip = proxies
          ? clientIpFrom(r.remoteAddress, r.headers['x-forwarded-for'], proxies)
          : r.clientIp;
        const bytes = parseIp(ip);
        const denied = deny?.match(bytes);
        if (denied !== undefined)
          return ctx.reject('PCS_ERR_IP_DENIED', {
            rule: `deny:${denied}`,
            detail: `client ${normalizeIp(ip)}`,
            status,
          });
        if (allow) {
          const allowed = allow.match(bytes);
          if (allowed === undefined)
            return ctx.reject('PCS_ERR_IP_DENIED', {
              rule: 'allow:none',
              detail: `client ${normalizeIp(ip)}`,
              status,
            });
          return ctx.allow(`allow:${allowed}`);
        }
        return undefined;
      },
    };
  },
});
