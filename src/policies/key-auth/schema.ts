import { type Static, Type as T } from '@sinclair/typebox';

export const KeyAuthSchema = T.Object(
  {
    header: T.String({
      default: 'x-api-key',
      minLength: 1,
      pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$",
      description: 'Request header that carries the API key.',
    }),
    query: T.Optional(
      T.String({
        minLength: 1,
        description:
          'Query parameter that may carry the key when the header is absent. Unset: keys in the query are ignored (they end up in logs and browser history; prefer the header).',
      }),
    ),
    hideCredentials: T.Boolean({
      default: false,
      description: 'Remove the key header before the request goes upstream.',
    }),
    anonymous: T.Optional(
      T.String({
        minLength: 1,
        description:
          'Consumer assigned when the request carries no key. Unset: such requests get 401. A wrong key is refused either way.',
      }),
    ),
    realm: T.String({
      default: 'portcullis',
      description: 'Realm named in the `WWW-Authenticate` challenge.',
    }),
  },
  { additionalProperties: false },
);

export type KeyAuthConfig = Static<typeof KeyAuthSchema>;
