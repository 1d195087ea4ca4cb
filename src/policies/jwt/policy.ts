import { authPolicy } from '../../auth/authenticator.js';
import { bearerAuthenticator } from '../../auth/bearer.js';
import { sharedJwks } from '../../auth/jwks.js';
import { type IssuerSpec, JwtVerifier, type KeyProvider } from '../../auth/jwt.js';
import { keyFromPem, keyFromSecret, keysFromJwks, type VerifyKey } from '../../auth/keys.js';
import type { Authenticator } from '../../auth/authenticator.js';
import { definePolicy, type PolicyDeps } from '../../core/policy.js';
import { type IssuerConfig, type JwtConfig, JwtSchema } from './schema.js';

export type BearerConfig = Omit<JwtConfig, 'issuers'>;

function staticKeys(keys: VerifyKey[]): KeyProvider {
  return { get: async () => keys };
}

/** Builds an issuer's key provider and checks that its algorithms have keys of the right kind. */
export function issuerSpec(c: IssuerConfig, at: string, cfg: BearerConfig, deps: PolicyDeps): IssuerSpec {
  const hs = c.algorithms.filter((a) => a.startsWith('HS'));
  const asym = c.algorithms.filter((a) => !a.startsWith('HS'));
  const fixed: VerifyKey[] = [];
  if (c.jwks) {
    const { keys, skipped } = keysFromJwks(c.jwks, hs.length > 0);
    if (skipped.length) throw new Error(`${at}/jwks: ${skipped.join('; ')}`);
    fixed.push(...keys);
  }
  (c.publicKeys ?? []).forEach((k, i) => {
    try {
      fixed.push(keyFromPem(k.pem, k.kid));
    } catch (err) {
      throw new Error(`${at}/publicKeys/${i}: ${(err as Error).message}`);
    }
  });
  (c.secrets ?? []).forEach((k, i) => {
    try {
      fixed.push(keyFromSecret(k.secret, k.kid));
    } catch (err) {
      throw new Error(`${at}/secrets/${i}: ${(err as Error).message}`);
    }
  });
  if (hs.length && !fixed.some((k) => k.key.type === 'secret'))
    throw new Error(
      `${at}: ${hs.join(', ')} allowed but no secret given (an HS key is never made from a public key)`,
    );
  if (asym.length && !c.jwksUri && !fixed.some((k) => k.key.type === 'public'))
    throw new Error(`${at}: ${asym.join(', ')} allowed but no public key, jwks or jwksUri given`);
  if (hs.length && c.jwksUri) throw new Error(`${at}: HS algorithms cannot use keys from jwksUri`);
  let keys: KeyProvider = staticKeys(fixed);
  if (c.jwksUri) {
    const remote = sharedJwks(deps, {
      url: c.jwksUri,
      refreshMs: cfg.jwksRefreshSeconds * 1000,
      minRefetchMs: cfg.jwksMinRefetchSeconds * 1000,
      timeoutMs: cfg.jwksTimeoutMs,
    });
    keys = {
      async get() {
        const r = await remote.get();
        return r === undefined ? (fixed.length ? fixed : undefined) : fixed.length ? [...fixed, ...r] : r;
      },
      refetch: () => remote.refetch(),
      get error() {
        return remote.error;
      },
    };
  }
  return {
    issuer: c.issuer,
    algorithms: c.algorithms,
    audiences: c.audiences,
    requiredClaims: c.requiredClaims,
    claimValues: c.claimValues,
    keys,
  };
}

/** A bearer authenticator over a JWT verifier: shared by jwt and oidc. */
export function jwtAuthenticator(
  method: string,
  issuers: IssuerSpec[],
  cfg: BearerConfig,
  deps: PolicyDeps,
): Authenticator {
  const verifier = new JwtVerifier(
    {
      issuers,
      clockSkewSeconds: cfg.clockSkewSeconds,
      maxTokenBytes: cfg.maxTokenBytes,
      maxTokenAgeSeconds: cfg.maxTokenAgeSeconds,
      cacheEntries: cfg.cacheEntries,
    },
    deps.clock,
  );
  return bearerAuthenticator(
    method,
    async (token) => {
      const v = await verifier.verify(token);
      if ('ok' in v) return v;
      const jti = v.claims.jti;
      return {
        claims: v.claims,
        credential: typeof jti === 'string' ? jti : v.hash.slice(0, 16),
        rule: `${method}:${v.issuer.issuer}`,
      };
    },
    cfg,
    deps,
  );
}

/** JWT bearer tokens verified against per-issuer keys and algorithm allow-lists. */
export const jwt = definePolicy({
  name: 'jwt',
  description:
    'Authenticate by JWT bearer token: per-issuer algorithm allow-list, keys from inline JWKS, PEM, secrets or a JWKS URL; iss, aud, exp, nbf, iat and claim checks.',
  schema: JwtSchema,
  priority: 100,
  create(config: JwtConfig, deps) {
    const seen = new Set<string>();
    const issuers = config.issuers.map((c, i) => {
      if (seen.has(c.issuer)) throw new Error(`issuers/${i}: issuer '${c.issuer}' listed twice`);
      seen.add(c.issuer);
      return issuerSpec(c, `issuers/${i}`, config, deps);
    });
    return { auth: authPolicy('jwt', [jwtAuthenticator('jwt', issuers, config, deps)], config, deps) };
  },
});
