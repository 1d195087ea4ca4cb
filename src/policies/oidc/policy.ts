import { authPolicy } from '../../auth/authenticator.js';
import { fetchJson, sharedJwks, type RemoteJwks } from '../../auth/jwks.js';
import type { KeyProvider } from '../../auth/jwt.js';
import { definePolicy, type PolicyDeps } from '../../core/policy.js';
import { jwtAuthenticator } from '../jwt/policy.js';
import { type OidcConfig, OidcSchema } from './schema.js';

/**
 * Keys of an OIDC issuer: the discovery document is read once (retried no more often than the
 * JWKS refetch interval while it fails), its `issuer` must match, and its `jwks_uri` is then
 * served like a jwt JWKS URL.
 */
function discoveredKeys(cfg: OidcConfig, deps: PolicyDeps): KeyProvider {
  const url = `${cfg.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  let jwks: RemoteJwks | undefined;
  let attemptedAt = Number.NEGATIVE_INFINITY;
  let inflight: Promise<void> | undefined;
  let error: string | undefined;
  const discover = () => {
    if (inflight) return inflight;
    attemptedAt = deps.clock.monotonic();
    inflight = (async () => {
      try {
        const doc = (await fetchJson(url, cfg.jwksTimeoutMs)) as { issuer?: unknown; jwks_uri?: unknown };
        if (doc?.issuer !== cfg.issuer)
          throw new Error(`discovery names issuer ${JSON.stringify(doc?.issuer)}`);
        if (typeof doc.jwks_uri !== 'string' || !/^https?:\/\//.test(doc.jwks_uri))
          throw new Error('discovery has no http(s) jwks_uri');
        jwks = sharedJwks(deps, {
          url: doc.jwks_uri,
          refreshMs: cfg.jwksRefreshSeconds * 1000,
          minRefetchMs: cfg.jwksMinRefetchSeconds * 1000,
          timeoutMs: cfg.jwksTimeoutMs,
        });
        error = undefined;
      } catch (err) {
        error = `discovery ${url}: ${(err as Error).message}`;
        deps.logger.warn({ url, err: (err as Error).message }, 'OIDC discovery failed');
      } finally {
        inflight = undefined;
      }
    })();
    return inflight;
  };
  return {
    async get() {
      if (!jwks && (inflight || deps.clock.monotonic() - attemptedAt >= cfg.jwksMinRefetchSeconds * 1000))
        await discover();
      return jwks?.get();
    },
    async refetch() {
      return jwks ? jwks.refetch() : false;
    },
    get error() {
      return error ?? jwks?.error;
    },
  };
}

/** OIDC resource server: discovery → jwks_uri, then the jwt checks. */
export const oidc = definePolicy({
  name: 'oidc',
  description: 'Authenticate bearer tokens of an OpenID Connect provider, found by its discovery document.',
  schema: OidcSchema,
  priority: 100,
  create(config: OidcConfig, deps) {
    if (config.algorithms.some((a) => a.startsWith('HS')))
      throw new Error('algorithms: HS algorithms are not accepted from an OIDC provider');
    const spec = {
      issuer: config.issuer,
      algorithms: config.algorithms,
      audiences: config.audiences,
      requiredClaims: config.requiredClaims,
      claimValues: config.claimValues,
      keys: discoveredKeys(config, deps),
    };
    return { auth: authPolicy('oidc', [jwtAuthenticator('oidc', [spec], config, deps)], config, deps) };
  },
});
