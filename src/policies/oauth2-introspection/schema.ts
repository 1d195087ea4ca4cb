import { type Static, Type as T } from '@sinclair/typebox';
import { bearerFields } from '../jwt/schema.js';

const {
  clockSkewSeconds,
  consumerClaim,
  consumerRequired,
  forwardClaims,
  hideCredentials,
  anonymous,
  realm,
  maxTokenBytes,
} = bearerFields;

export const IntrospectionSchema = T.Object(
  {
    endpoint: T.String({ pattern: '^https?://', description: 'The RFC 7662 introspection endpoint.' }),
    clientId: T.String({
      minLength: 1,
      description: 'Client id the gateway authenticates with (HTTP Basic).',
    }),
    clientSecret: T.String({
      minLength: 1,
      description: 'Client secret; use a `${env:...}` or `${file:...}` reference.',
    }),
    tokenTypeHint: T.Optional(T.String({ description: 'Sent as `token_type_hint` (`access_token`).' })),
    audiences: T.Optional(
      T.Array(T.String(), { minItems: 1, description: 'Accepted `aud` values of the introspection answer.' }),
    ),
    issuer: T.Optional(T.String({ description: 'Required `iss` of the introspection answer.' })),
    cacheSeconds: T.Integer({
      minimum: 0,
      default: 60,
      description:
        'How long an active answer is reused; never past the token `exp`. Inactive answers are not cached.',
    }),
    cacheEntries: T.Integer({ minimum: 0, default: 10000, description: 'Cached answers kept at most.' }),
    timeoutMs: T.Integer({ minimum: 50, default: 2000, description: 'Timeout of the introspection call.' }),
    failOpen: T.Boolean({
      default: false,
      description:
        'When the server is unreachable: false (default) refuses with 401 PCS_ERR_AUTH_PROVIDER_UNAVAILABLE; true lets the request through without identity. Both are counted.',
    }),
    clockSkewSeconds,
    maxTokenBytes,
    consumerClaim,
    consumerRequired,
    forwardClaims,
    hideCredentials,
    anonymous,
    realm,
  },
  { additionalProperties: false },
);

export type IntrospectionConfig = Static<typeof IntrospectionSchema>;
