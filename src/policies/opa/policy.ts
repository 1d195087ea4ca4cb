import type { PolicyContext } from '../../core/context.js';
import { definePolicy } from '../../core/policy.js';
import { askOpa, DecisionCache, type OpaDecision } from './client.js';
import { OpaSchema } from './schema.js';

const WARN_EVERY_MS = 10_000;

/**
 * External authorization by an Open Policy Agent style call: `POST {url}` with
 * `{ input: { request, consumer, identity, client } }`, expecting `{ result: bool }` or
 * `{ result: { allow, reason } }`. Decisions are cached by input for `cache.ttlMs`; identical
 * concurrent calls share one request. A failed call fails closed (503) or open, per policy.
 */
export const opa = definePolicy({
  name: 'opa',
  description:
    'External authorization by an Open Policy Agent (or compatible) decision call, with a decision cache.',
  schema: OpaSchema,
  priority: 140,
  create(config, deps) {
    const headerNames = (config.headers ?? []).map((h) => h.toLowerCase());
    const includeClaims = config.includeClaims !== false;
    const timeoutMs = config.timeoutMs ?? 250;
    const cache = new DecisionCache(config.cache?.ttlMs ?? 5000, config.cache?.maxEntries ?? 10_000);
    const inflight = new Map<string, Promise<OpaDecision>>();
    const decisions = deps.metrics.counter(
      'portcullis_opa_decisions_total',
      'Decisions of opa policies, by result (allow, deny) and source (engine, cache).',
      ['result', 'source'],
    );
    const errors = deps.metrics.counter(
      'portcullis_opa_errors_total',
      'Failed calls to the policy engine, by what the policy did (fail_open, fail_closed).',
      ['action'],
    );
    let warnedAt = Number.NEGATIVE_INFINITY;

    function input(ctx: PolicyContext): string {
      const r = ctx.request;
      const headers: Record<string, string> = {};
      for (const h of headerNames) {
        const v = r.headers[h];
        if (v !== undefined) headers[h] = Array.isArray(v) ? v.join(', ') : v;
      }
      const query: Record<string, string[]> = {};
      if (r.rawQuery)
        for (const [k, v] of new URLSearchParams(r.rawQuery)) {
          if (query[k]) query[k].push(v);
          else query[k] = [v];
        }
      const c = ctx.consumer;
      const id = ctx.identity;
      return JSON.stringify({
        input: {
          request: {
            method: r.method,
            path: r.path,
            host: r.host,
            route: r.route,
            service: r.service,
            protocol: r.protocol,
            params: r.params,
            query,
            headers,
          },
          consumer: c ? { id: c.id, name: c.name, groups: c.groups, metadata: c.metadata } : null,
          identity: id
            ? {
                method: id.method,
                scopes: id.scopes ?? [],
                anonymous: id.anonymous === true,
                claims: includeClaims ? (id.claims ?? {}) : undefined,
              }
            : null,
          client: { ip: r.clientIp },
        },
      });
    }

    function decide(key: string, body: string): Promise<OpaDecision> {
      let p = inflight.get(key);
      if (!p) {
        p = askOpa(config.url, body, timeoutMs, config.token).finally(() => inflight.delete(key));
        inflight.set(key, p);
      }
      return p;
    }

    return {
      authz: async function opa(ctx: PolicyContext) {
        const body = input(ctx);
        const key = DecisionCache.key(body);
        let d = cache.get(key, ctx.now());
        let source = 'cache';
        if (!d) {
          source = 'engine';
          try {
            d = await decide(key, body);
            cache.set(key, d, ctx.now());
          } catch (err) {
            const cause =
              (err as Error).name === 'TimeoutError'
                ? `timeout after ${timeoutMs} ms`
                : (err as Error).message;
            errors.labels(config.failOpen ? 'fail_open' : 'fail_closed').inc();
            const now = ctx.now();
            if (now - warnedAt >= WARN_EVERY_MS) {
              warnedAt = now;
              deps.logger.warn(
                { url: config.url, err: cause, failOpen: config.failOpen },
                'opa: policy engine unavailable',
              );
            }
            if (config.failOpen) return ctx.allow('opa:fail_open');
            return ctx.reject('PCS_ERR_AUTHZ_UNAVAILABLE', {
              rule: 'opa:unavailable',
              detail: `opa ${config.url}: ${cause}`,
            });
          }
        }
        decisions.labels(d.allow ? 'allow' : 'deny', source).inc();
        if (d.allow) return ctx.allow('opa:allow');
        return ctx.reject('PCS_ERR_OPA_DENIED', {
          rule: d.undefinedResult ? 'opa:undefined' : 'opa:deny',
          detail: d.reason ? `opa: ${d.reason}` : `opa denied (${source})`,
        });
      },
    };
  },
});
