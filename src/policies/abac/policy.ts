import type { PolicyContext } from '../../core/context.js';
import { definePolicy } from '../../core/policy.js';
import { activation, type CompiledExpression, compileExpression } from './cel.js';
import { AbacSchema } from './schema.js';

interface Rule {
  name: string;
  allow: boolean;
  test: CompiledExpression;
}

/**
 * Attribute-based access control with rules in the Common Expression Language. Expressions are
 * parsed and type-checked when the revision compiles (a bad one is a config error with its
 * line:column); per request the variables are built once and the rules run in order, the first
 * true one deciding. A rule that fails to evaluate (a missing key, a wrong type) denies.
 */
export const abac = definePolicy({
  name: 'abac',
  description:
    'Attribute-based access: CEL rules over request, consumer, token claims, client IP and time; first match decides.',
  schema: AbacSchema,
  priority: 130,
  create(config) {
    const names = new Set<string>();
    const rules: Rule[] = config.rules.map((r, i) => {
      if (names.has(r.name))
        throw Object.assign(new Error(`duplicate rule name '${r.name}'`), { path: `rules/${i}/name` });
      names.add(r.name);
      try {
        return { name: r.name, allow: r.effect !== 'deny', test: compileExpression(r.expression) };
      } catch (err) {
        throw Object.assign(new Error(`rule '${r.name}': ${(err as Error).message}`), {
          path: `rules/${i}/expression`,
        });
      }
    });
    const allowByDefault = config.default === 'allow';

    return {
      authz: function abac(ctx: PolicyContext) {
        const vars = activation(ctx);
        for (const r of rules) {
          let v: unknown;
          try {
            v = r.test(vars);
          } catch (err) {
            return ctx.reject('PCS_ERR_ABAC_DENIED', {
              rule: `${r.name}:error`,
              detail: `rule '${r.name}' failed: ${(err as { summary?: string }).summary ?? (err as Error).message}`,
            });
          }
          if (typeof v !== 'boolean')
            return ctx.reject('PCS_ERR_ABAC_DENIED', {
              rule: `${r.name}:error`,
              detail: `rule '${r.name}' yielded ${typeof v}, not a bool`,
            });
          if (!v) continue;
          if (r.allow) return ctx.allow(r.name);
          return ctx.reject('PCS_ERR_ABAC_DENIED', { rule: r.name, detail: `deny rule '${r.name}' matched` });
        }
        if (allowByDefault) return ctx.allow('abac:default');
        return ctx.reject('PCS_ERR_ABAC_DENIED', { rule: 'abac:default', detail: 'no rule matched' });
      },
    };
  },
});
