import type { PolicyContext } from '../../core/context.js';
import { definePolicy } from '../../core/policy.js';
import { CorsSchema } from './schema.js';

/** An error naming the config field it is about; the compiler puts it in the path. */
function configError(path: string, message: string): Error {
  return Object.assign(new Error(message), { path });
}

const SUBDOMAIN = /^[a-z0-9-]+(\.[a-z0-9-]+)*$/;

/** Answers CORS preflights at the gateway and adds CORS headers to actual responses. */
export const cors = definePolicy({
  name: 'cors',
  description: 'Cross-origin resource sharing: preflight answers and response headers.',
  schema: CorsSchema,
  priority: 5,
  create(config) {
    const any = config.origins.includes('*');
    if (any && config.credentials)
      throw configError('credentials', "origins '*' cannot be combined with credentials: true");
    const exact = new Set(config.origins.filter((o) => !o.includes('*')).map((o) => o.toLowerCase()));
    const wild = config.origins.flatMap((o, i) => {
      if (!o.includes('*') || o === '*') return [];
      const m = /^(https?):\/\/\*(\.[a-z0-9-]+(?:\.[a-z0-9-]+)*(?::\d+)?)$/i.exec(o);
      if (!m)
        throw configError(
          `origins/${i}`,
          `'${o}': wildcards are only allowed as a leading subdomain, like https://*.example.com`,
        );
      return [{ scheme: `${m[1].toLowerCase()}://`, suffix: m[2].toLowerCase() }];
    });
    const methods = config.methods.join(', ');
    const allowHeaders = config.headers.length ? config.headers.join(', ') : undefined;
    const expose = config.exposeHeaders.length ? config.exposeHeaders.join(', ') : undefined;
    const maxAge = String(config.maxAgeSeconds);

    const allowed = (origin: string): boolean => {
      if (any) return true;
      const o = origin.toLowerCase();
      if (exact.has(o)) return true;
      return wild.some((w) => {
        if (!o.startsWith(w.scheme) || !o.endsWith(w.suffix)) return false;
        // What the `*` stands for: one or more DNS labels, nothing else (no port, path or user).
        return SUBDOMAIN.test(o.slice(w.scheme.length, o.length - w.suffix.length));
      });
    };

    return {
      request: function cors(ctx: PolicyContext) {
        // The answer depends on Origin whenever the origin list is not `*`: say so to caches,
        // also on answers without CORS headers, or a cache could serve them to allowed origins.
        if (!any) ctx.setResponseHeader('vary', 'Origin');
        const origin = ctx.request.headers.origin;
        if (typeof origin !== 'string') return undefined;
        const preflight =
          ctx.request.method === 'OPTIONS' &&
          ctx.request.headers['access-control-request-method'] !== undefined;
        if (!allowed(origin)) {
          if (config.denyDisallowed || preflight)
            return ctx.reject('PCS_ERR_CORS_ORIGIN_DENIED', { rule: 'origin', detail: `origin ${origin}` });
          return undefined;
        }
        const allowOrigin = any ? '*' : origin;
        ctx.setResponseHeader('access-control-allow-origin', allowOrigin);
        if (config.credentials) ctx.setResponseHeader('access-control-allow-credentials', 'true');
        if (!preflight) {
          if (expose) ctx.setResponseHeader('access-control-expose-headers', expose);
          return ctx.allow('origin');
        }
        const asked = ctx.request.headers['access-control-request-headers'];
        const headers: Record<string, string> = {
          'access-control-allow-methods': methods,
          'access-control-max-age': maxAge,
        };
        const h = allowHeaders ?? (typeof asked === 'string' ? asked : undefined);
        if (h) headers['access-control-allow-headers'] = h;
        if (!allowHeaders)
          headers.vary = any ? 'Access-Control-Request-Headers' : 'Origin, Access-Control-Request-Headers';
        return ctx.respond(204, headers, '', 'preflight');
      },
    };
  },
});
