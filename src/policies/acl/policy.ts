import type { PolicyContext } from '../../core/context.js';
import { CONSUMER_GROUPS_HEADER as GROUPS_HEADER } from '../../core/identity-headers.js';
import { definePolicy } from '../../core/policy.js';
import { AclSchema } from './schema.js';

/**
 * Allow or deny consumer groups per route (Kong's `acl`). Deny is checked first; with an allow
 * list, a consumer in none of its groups is refused. A request without a consumer (no auth policy
 * ran, or it ran in shadow) is refused: an ACL cannot hold for nobody.
 */
export const acl = definePolicy({
  name: 'acl',
  description: 'Allow or deny consumer groups on a route.',
  schema: AclSchema,
  priority: 100,
  create(config) {
    if (!config.allow && !config.deny) throw new Error('set at least one of allow or deny');
    const allow = config.allow ? new Set(config.allow) : undefined;
    const deny = config.deny ? new Set(config.deny) : undefined;
    const forward = !config.hideGroupsHeader;
    return {
      authz: function acl(ctx: PolicyContext) {
        ctx.removeRequestHeader(GROUPS_HEADER);
        const c = ctx.consumer;
        if (!c)
          return ctx.reject('PCS_ERR_ACL_DENIED', {
            rule: 'acl:no_consumer',
            detail: 'no authenticated consumer (put an auth policy before acl)',
          });
        if (deny) {
          const hit = c.groups.find((g) => deny.has(g));
          if (hit !== undefined)
            return ctx.reject('PCS_ERR_ACL_DENIED', {
              rule: `deny:${hit}`,
              detail: `consumer '${c.name}' is in denied group '${hit}'`,
            });
        }
        let rule = 'acl:not_denied';
        if (allow) {
          const hit = c.groups.find((g) => allow.has(g));
          if (hit === undefined)
            return ctx.reject('PCS_ERR_ACL_DENIED', {
              rule: 'allow:none',
              detail: `consumer '${c.name}' (groups: ${c.groups.join(', ') || 'none'}) is in no allowed group`,
            });
          rule = `allow:${hit}`;
        }
        if (forward && c.groups.length) ctx.setRequestHeader(GROUPS_HEADER, c.groups.join(', '));
        return ctx.allow(rule);
      },
    };
  },
});
