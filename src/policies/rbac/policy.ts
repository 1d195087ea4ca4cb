import type { PolicyContext } from '../../core/context.js';
import { definePolicy } from '../../core/policy.js';
import { type Permission, parsePermission, permits } from './permission.js';
import { RbacSchema } from './schema.js';

/** An error naming the config field it is about; the compiler puts it in the path. */
function configError(path: string, message: string): Error {
  return Object.assign(new Error(message), { path });
}

/** Reads a dotted claim path (`realm_access.roles`) as a list of role names. */
export function rolesFromClaim(
  claims: Record<string, unknown> | undefined,
  path: readonly string[],
): string[] {
  let v: unknown = claims;
  for (const k of path) {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return [];
    v = (v as Record<string, unknown>)[k];
  }
  if (typeof v === 'string') return v.split(' ').filter(Boolean);
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return [];
}

/**
 * Role-based access control: roles from the consumer's groups and/or a token claim; each role
 * grants `METHOD /path` permissions; what no role grants is denied. Patterns are compiled once
 * per revision; per request the roles' permissions are tested in config order.
 */
export const rbac = definePolicy({
  name: 'rbac',
  description:
    'Role-based access: roles from consumer groups or a token claim grant METHOD /path permissions; deny by default.',
  schema: RbacSchema,
  priority: 120,
  create(config) {
    const roles = new Map<string, Permission[]>();
    for (const [role, list] of Object.entries(config.permissions)) {
      roles.set(
        role,
        list.map((text, i) => {
          try {
            return parsePermission(text);
          } catch (err) {
            throw configError(`permissions/${role}/${i}`, (err as Error).message);
          }
        }),
      );
    }
    const fromGroups = config.roles?.groups !== false;
    const claimPath = config.roles?.claim?.split('.');
    if (!fromGroups && !claimPath) throw configError('roles', 'no role source: enable groups or set claim');

    return {
      authz: function rbac(ctx: PolicyContext) {
        const have: string[] = [];
        if (fromGroups && ctx.consumer) have.push(...ctx.consumer.groups);
        if (claimPath) have.push(...rolesFromClaim(ctx.identity?.claims, claimPath));
        const { method, path } = ctx.request;
        for (const role of have) {
          const perms = roles.get(role);
          if (!perms) continue;
          for (const p of perms) if (permits(p, method, path)) return ctx.allow(`rbac:${role}:${p.text}`);
        }
        return ctx.reject('PCS_ERR_RBAC_DENIED', {
          rule: 'rbac:no_permission',
          detail: `no permission for ${method} ${path}; roles: [${have.join(', ')}]`,
        });
      },
    };
  },
});
