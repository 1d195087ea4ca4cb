import { type Static, type TSchema, Type as T } from '@sinclair/typebox';
import { JWS_ALGORITHMS } from '../../auth/keys.js';

export const Algorithm = T.Union(
  JWS_ALGORITHMS.map((a) => T.Literal(a)),
  { description: 'A JWS algorithm. `none` is not one of them and never will be.' },
);

/** Fields jwt and oidc share: time checks, cache, consumer mapping, headers. */
export const bearerFields = {
  clockSkewSeconds: T.Integer({
    minimum: 0,
    maximum: 600,
    default: 60,
    description: 'Tolerance on `exp`, `nbf` and `iat`, in seconds.',
  }),
  maxTokenAgeSeconds: T.Optional(
    T.Integer({
      minimum: 1,
      description: 'Refuse tokens whose `iat` is older than this. Unset: no limit but `exp`.',
    }),
  ),
  maxTokenBytes: T.Integer({
    minimum: 256,
    maximum: 65536,
    default: 8192,
    description: 'Longest token accepted; larger ones are refused before any decoding.',
  }),
  cacheEntries: T.Integer({
    minimum: 0,
    default: 10000,
    description:
      'Verified tokens kept (by SHA-256 of the token) until they expire, so the hot path skips the signature check. 0 disables the cache.',
  }),
  consumerClaim: T.String({
    default: 'sub',
    description: 'Claim whose value names the consumer.',
  }),
  consumerRequired: T.Boolean({
    default: false,
    description:
      'Refuse a valid token whose consumer claim names no consumer in the store. When false the request goes on with the token identity only.',
  }),
  forwardClaims: T.Record(T.String(), T.String({ pattern: '^[A-Za-z0-9-]+$' }), {
    default: {},
    description:
      'Claims forwarded upstream, as `claim: header-name`. These headers are removed from every incoming request on every route of the revision (docs/hardening.md); a header clients send (`Authorization`, `Host`, `Cookie`...) is refused.',
  }),
  hideCredentials: T.Boolean({
    default: false,
    description: 'Remove `Authorization` before the request goes upstream.',
  }),
  anonymous: T.Optional(
    T.String({
      minLength: 1,
      description: 'Consumer assigned when no token is sent. A bad token is refused either way.',
    }),
  ),
  realm: T.String({ default: 'portcullis', description: 'Realm named in the `WWW-Authenticate` challenge.' }),
  jwksRefreshSeconds: T.Integer({
    minimum: 10,
    default: 300,
    description: 'Age after which fetched JWKS keys are refreshed in the background.',
  }),
  jwksMinRefetchSeconds: T.Integer({
    minimum: 1,
    default: 30,
    description: 'At most one JWKS fetch per issuer in this interval, unknown `kid`s included.',
  }),
  jwksTimeoutMs: T.Integer({
    minimum: 100,
    default: 5000,
    description: 'Timeout of a JWKS or discovery fetch.',
  }),
} satisfies Record<string, TSchema>;

export const claimChecks = {
  audiences: T.Optional(
    T.Array(T.String(), {
      minItems: 1,
      description: 'Accepted `aud` values; the token must carry one. Unset: `aud` is not checked.',
    }),
  ),
  requiredClaims: T.Optional(T.Array(T.String(), { description: 'Claims that must be present.' })),
  claimValues: T.Optional(
    T.Record(T.String(), T.Array(T.Union([T.String(), T.Number(), T.Boolean()]), { minItems: 1 }), {
      description:
        'Claim → accepted values. A string claim must equal one; an array claim (`groups`, `amr`) must contain one.',
    }),
  ),
};

export const IssuerSchema = T.Object(
  {
    issuer: T.String({ minLength: 1, description: 'The exact `iss` value of tokens from this issuer.' }),
    algorithms: T.Array(Algorithm, {
      minItems: 1,
      uniqueItems: true,
      description: 'Algorithms accepted for this issuer. A token with any other `alg` is refused.',
    }),
    ...claimChecks,
    jwksUri: T.Optional(
      T.String({ pattern: '^https?://', description: 'JWKS URL, fetched in the background and cached.' }),
    ),
    jwks: T.Optional(
      T.Object(
        { keys: T.Array(T.Record(T.String(), T.Unknown())) },
        { description: 'Inline JWKS. May hold `oct` keys for HS algorithms.' },
      ),
    ),
    publicKeys: T.Optional(
      T.Array(
        T.Object(
          {
            pem: T.String({ description: 'SPKI public key or X.509 certificate, PEM.' }),
            kid: T.Optional(T.String({ description: 'Key id the tokens name.' })),
          },
          { additionalProperties: false },
        ),
        { description: 'Public keys in PEM.' },
      ),
    ),
    secrets: T.Optional(
      T.Array(
        T.Object(
          {
            secret: T.String({
              minLength: 32,
              description: 'HMAC secret (at least 32 bytes); use a `${env:...}` or `${file:...}` reference.',
            }),
            kid: T.Optional(T.String({ description: 'Key id the tokens name.' })),
          },
          { additionalProperties: false },
        ),
        { description: 'Shared secrets for HS256/384/512.' },
      ),
    ),
  },
  { additionalProperties: false },
);

export const JwtSchema = T.Object(
  {
    issuers: T.Array(IssuerSchema, {
      minItems: 1,
      description: 'Trusted issuers, each with its keys and algorithms.',
    }),
    ...bearerFields,
  },
  { additionalProperties: false },
);

export type JwtConfig = Static<typeof JwtSchema>;
export type IssuerConfig = Static<typeof IssuerSchema>;
