import { type Static, Type as T } from '@sinclair/typebox';

export const BasicAuthSchema = T.Object(
  {
    hideCredentials: T.Boolean({
      default: false,
      description: 'Remove `Authorization` before the request goes upstream.',
    }),
    anonymous: T.Optional(
      T.String({
        minLength: 1,
        description: 'Consumer assigned when no credentials are sent. Wrong ones are refused either way.',
      }),
    ),
    realm: T.String({
      default: 'portcullis',
      description: 'Realm named in the `WWW-Authenticate` challenge.',
    }),
    cacheSeconds: T.Integer({
      minimum: 0,
      maximum: 600,
      default: 60,
      description:
        'How long a verified username/password pair skips the scrypt check (keyed by a hash of both; revocation still applies within 1 s). 0: scrypt on every request.',
    }),
  },
  { additionalProperties: false },
);

export type BasicAuthConfig = Static<typeof BasicAuthSchema>;
