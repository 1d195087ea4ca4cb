import { type Static, Type as T } from '@sinclair/typebox';
import { Algorithm, bearerFields, claimChecks } from '../jwt/schema.js';

export const OidcSchema = T.Object(
  {
    issuer: T.String({
      pattern: '^https?://',
      description:
        'Issuer URL. Its `/.well-known/openid-configuration` gives `jwks_uri`; the document must name this exact issuer.',
    }),
    algorithms: T.Array(Algorithm, {
      minItems: 1,
      uniqueItems: true,
      default: ['RS256', 'ES256'],
      description: 'Algorithms accepted. HS algorithms are refused: an OIDC provider publishes public keys.',
    }),
    ...claimChecks,
    ...bearerFields,
  },
  { additionalProperties: false },
);

export type OidcConfig = Static<typeof OidcSchema>;
