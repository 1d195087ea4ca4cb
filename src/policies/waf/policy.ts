import type { PolicyContext } from '../../core/context.js';
import { definePolicy } from '../../core/policy.js';
import { type EngineOptions, WafEngine } from '../../waf/engine.js';
import type { RuleDef } from '../../waf/rules.js';
import { WafSchema } from './schema.js';

/**
 * Injection and protocol-abuse detection with anomaly scoring. Rules (built-in and own) are
 * compiled and proven linear-time once per revision; per request the values of the path,
 * query, headers, cookies and body are normalised and scored.
 */
export const waf = definePolicy({
  name: 'waf',
  description:
    'Detects SQL injection, XSS, traversal, command injection, SSRF, XXE, LDAP, NoSQL, template injection, Log4Shell, CRLF and protocol anomalies after normalisation, with anomaly scoring.',
  schema: WafSchema,
  priority: 60,
  create(config, deps) {
    const base: Omit<EngineOptions, 'exclusions'> = {
      paranoia: config.paranoia ?? 1,
      threshold: config.threshold ?? 5,
      userRules: (config.rules ?? []).map(
        (r) => ({ ...r, paranoia: r.paranoia ?? 1, description: r.description ?? r.id }) as RuleDef,
      ),
      disabledRules: config.disabledRules ?? [],
      inspectBody: config.inspectBody ?? true,
      maxDecompressedBytes: config.maxDecompressedBytes ?? 10485760,
    };
    const exclusions = config.exclusions ?? [];
    const global = exclusions.filter((e) => !e.routes);
    const general = new WafEngine({ ...base, exclusions: global });
    const byRoute = new Map<string, WafEngine>();
    for (const route of new Set(exclusions.flatMap((e) => e.routes ?? []))) {
      const own = exclusions.filter((e) => !e.routes || e.routes.includes(route));
      byRoute.set(route, new WafEngine({ ...base, exclusions: own }));
    }
    const blocked = deps.metrics.counter(
      'portcullis_waf_blocked_total',
      'Requests the WAF scored at or over its threshold',
      ['mode'],
    );
    return {
      validate: async function waf(ctx: PolicyContext) {
        const r = ctx.request;
        const engine = byRoute.get(r.route) ?? general;
        const body = engine.wantsBody(r.headers) ? await ctx.readBody() : undefined;
        const verdict = engine.inspect(
          { method: r.method, path: r.path, rawQuery: r.rawQuery, headers: r.headers },
          body,
        );
        if (verdict.score < base.threshold) return undefined;
        const ids = verdict.matches.map((m) => m.id);
        const detail = `score ${verdict.score}: ${verdict.matches.map((m) => `${m.id}@${m.location}${m.name ? `:${m.name.slice(0, 60)}` : ''}`).join(', ')}`;
        blocked.inc({ mode: ctx.acting ? 'enforce' : 'shadow' });
        deps.events.emit({
          type: 'waf.block',
          subject: r.clientIp,
          policy: 'waf',
          route: r.route,
          requestId: ctx.requestId,
          detail: { score: verdict.score, rules: ids, matches: verdict.matches, enforced: ctx.acting },
        });
        return ctx.reject('PCS_ERR_WAF_BLOCKED', { rule: ids.join(','), detail });
      },
    };
  },
});
