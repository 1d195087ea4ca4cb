import { quoted } from '../../auth/authenticator.js';
import type { PolicyContext } from '../../core/context.js';
import { definePolicy } from '../../core/policy.js';
import { ScopesSchema } from './schema.js';

interface Need {
  scopes: readonly string[];
  challenge: string;
}

/**
 * Required OAuth scopes per route and method, read from the scopes the auth policy established
 * (`scope` / `scp` of a JWT, introspection's `scope`). A missing scope answers 403 with
 * `WWW-Authenticate: Bearer error="insufficient_scope"` and the scopes needed (RFC 6750 §3.1).
 */
export const scopes = definePolicy({
  name: 'scopes',
  description: 'Require OAuth scopes per route and method, from the verified token.',
  schema: ScopesSchema,
  priority: 110,
  create(config) {
    const base = config.required ?? [];
    const methods = config.methods ?? {};
    if (base.length === 0 && Object.keys(methods).length === 0)
      throw new Error('set `required`, `methods`, or both');
    const any = config.match === 'any';
    const need = (list: readonly string[]): Need => {
      const scopes = [...new Set(list)];
      return {
        scopes,
        challenge: `Bearer realm=${quoted(config.realm ?? 'portcullis')}, error="insufficient_scope", scope=${quoted(scopes.join(' '))}`,
      };
    };
    const byMethod = new Map<string, Need>();
    for (const [m, list] of Object.entries(methods)) byMethod.set(m, need([...base, ...list]));
    const fallback = base.length ? need(base) : undefined;

    return {
      authz: function scopes(ctx: PolicyContext) {
        const n = byMethod.get(ctx.request.method) ?? fallback;
        if (!n) return undefined;
        const granted = ctx.identity?.scopes ?? [];
        const missing = n.scopes.filter((s) => !granted.includes(s));
        const ok = any ? missing.length < n.scopes.length : missing.length === 0;
        if (ok) return ctx.allow(`scopes:${n.scopes.join(' ')}`);
        return ctx.reject('PCS_ERR_INSUFFICIENT_SCOPE', {
          rule: `scopes:missing:${missing.join(' ')}`,
          detail: `needs ${any ? 'one of' : 'all of'} [${n.scopes.join(' ')}], token has [${granted.join(' ')}]`,
          headers: { 'www-authenticate': n.challenge },
        });
      },
    };
  },
});
