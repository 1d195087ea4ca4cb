import { type Static, Type as T } from '@sinclair/typebox';

export const HMAC_ALGORITHMS = ['hmac-sha256', 'hmac-sha512'] as const;

export const HmacAuthSchema = T.Object(
  {
    algorithms: T.Array(T.Union(HMAC_ALGORITHMS.map((a) => T.Literal(a))), {
      minItems: 1,
      uniqueItems: true,
      default: ['hmac-sha256', 'hmac-sha512'],
      description: 'Signature algorithms accepted.',
    }),
    clockSkewSeconds: T.Integer({
      minimum: 1,
      maximum: 3600,
      default: 300,
      description:
        'Largest difference between the signed date and the gateway clock. Signatures are remembered twice this long to refuse replays.',
    }),
    dateHeaders: T.Array(T.String({ minLength: 1, pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$" }), {
      minItems: 1,
      default: ['x-date', 'date'],
      description:
        'Headers that carry the signed date (HTTP-date), the first present wins. Browsers cannot set `Date`, hence `X-Date`.',
    }),
    maxBodyBytes: T.Integer({
      minimum: 0,
      default: 1024 * 1024,
      description: 'Largest body the gateway reads to check its digest; 413 beyond.',
    }),
    hideCredentials: T.Boolean({
      default: false,
      description: 'Remove `Authorization` before the request goes upstream.',
    }),
    anonymous: T.Optional(
      T.String({
        minLength: 1,
        description:
          'Consumer assigned when the request is not signed. A bad signature is refused either way.',
      }),
    ),
    realm: T.String({
      default: 'portcullis',
      description: 'Realm named in the `WWW-Authenticate` challenge.',
    }),
  },
  { additionalProperties: false },
);

export type HmacAuthConfig = Static<typeof HmacAuthSchema>;
