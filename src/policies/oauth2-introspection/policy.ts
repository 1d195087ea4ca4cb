import { createHash } from 'node:crypto';
import { authPolicy, fail } from '../../auth/authenticator.js';
import { bearerAuthenticator } from '../../auth/bearer.js';
import { definePolicy } from '../../core/policy.js';
import { type IntrospectionConfig, IntrospectionSchema } from './schema.js';

interface Cached {
  claims: Record<string, unknown>;
  until: number;
}

/** RFC 7662 token introspection with client credentials, a bounded cache and fail-closed default. */
export const oauth2Introspection = definePolicy({
  name: 'oauth2-introspection',
  description: 'Authenticate opaque bearer tokens by asking the authorization server (RFC 7662).',
  schema: IntrospectionSchema,
  priority: 100,
  create(config: IntrospectionConfig, deps) {
    const basic = `Basic ${Buffer.from(
      `${encodeURIComponent(config.clientId)}:${encodeURIComponent(config.clientSecret)}`,
    ).toString('base64')}`;
    const cache = new Map<string, Cached>();
    const skew = config.clockSkewSeconds * 1000;
    const failOpenCount = deps.metrics.counter(
      'portcullis_auth_introspection_fail_open_total',
      'Requests let through because the introspection endpoint was unreachable and failOpen is set.',
      ['policy'],
    );

    async function introspect(token: string): Promise<Record<string, unknown>> {
      const form = new URLSearchParams({ token });
      if (config.tokenTypeHint) form.set('token_type_hint', config.tokenTypeHint);
      const res = await fetch(config.endpoint, {
        method: 'POST',
        headers: {
          authorization: basic,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: form.toString(),
        signal: AbortSignal.timeout(config.timeoutMs),
        redirect: 'error',
      });
      if (!res.ok) throw new Error(`introspection answered HTTP ${res.status}`);
      const body = (await res.json()) as Record<string, unknown>;
      if (!body || typeof body !== 'object' || typeof body.active !== 'boolean')
        throw new Error('introspection answer has no boolean "active"');
      return body;
    }

    const auth = bearerAuthenticator(
      'oauth2-introspection',
      async (token) => {
        if (token.length > config.maxTokenBytes)
          return fail('PCS_ERR_AUTH_INVALID_TOKEN', 'too_large', 'token too large');
        const hash = createHash('sha256').update(token).digest('hex');
        const now = deps.clock.now();
        let claims = cache.get(hash);
        if (claims && claims.until <= now) {
          cache.delete(hash);
          claims = undefined;
        }
        let answer: Record<string, unknown>;
        if (claims) answer = claims.claims;
        else {
          try {
            answer = await introspect(token);
          } catch (err) {
            const detail = `introspection ${config.endpoint}: ${(err as Error).message}`;
            deps.logger.warn(
              { endpoint: config.endpoint, err: (err as Error).message },
              'introspection failed',
            );
            if (config.failOpen) {
              failOpenCount.labels('oauth2-introspection').inc();
              return { claims: {}, credential: hash.slice(0, 16), rule: 'oauth2-introspection:fail_open' };
            }
            return fail('PCS_ERR_AUTH_PROVIDER_UNAVAILABLE', 'provider_unavailable', detail, {
              providerDown: true,
            });
          }
        }
        if (answer.active !== true)
          return fail('PCS_ERR_AUTH_INVALID_TOKEN', 'inactive', 'authorization server: inactive');
        const exp = typeof answer.exp === 'number' ? answer.exp * 1000 : undefined;
        if (exp !== undefined && exp + skew <= now)
          return fail('PCS_ERR_AUTH_INVALID_TOKEN', 'expired', 'exp passed');
        if (typeof answer.nbf === 'number' && answer.nbf * 1000 - skew > now)
          return fail('PCS_ERR_AUTH_INVALID_TOKEN', 'not_yet_valid', 'nbf in the future');
        if (config.issuer && answer.iss !== config.issuer)
          return fail('PCS_ERR_AUTH_INVALID_TOKEN', 'wrong_issuer', `iss ${JSON.stringify(answer.iss)}`);
        if (config.audiences) {
          const aud = Array.isArray(answer.aud) ? answer.aud : [answer.aud];
          if (!aud.some((a) => config.audiences!.includes(a as string)))
            return fail('PCS_ERR_AUTH_INVALID_TOKEN', 'wrong_audience', `aud ${JSON.stringify(answer.aud)}`);
        }
        if (!claims && config.cacheSeconds > 0 && config.cacheEntries > 0) {
          const until = Math.min(now + config.cacheSeconds * 1000, exp ?? Number.POSITIVE_INFINITY);
          if (cache.size >= config.cacheEntries) cache.clear();
          if (until > now) cache.set(hash, { claims: answer, until });
        }
        const jti = answer.jti;
        return {
          claims: answer,
          credential: typeof jti === 'string' ? jti : hash.slice(0, 16),
          rule: 'oauth2-introspection:active',
        };
      },
      config,
      deps,
    );
    return { auth: authPolicy('oauth2-introspection', [auth], config, deps) };
  },
});
