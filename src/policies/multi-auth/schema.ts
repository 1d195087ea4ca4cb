import { type Static, Type as T } from '@sinclair/typebox';

export const MultiAuthSchema = T.Object(
  {
    methods: T.Array(
      T.Object(
        {
          policy: T.Union(
            ['key-auth', 'jwt', 'oidc', 'oauth2-introspection', 'basic-auth', 'hmac-auth', 'mtls-auth'].map(
              (p) => T.Literal(p),
            ),
            { description: 'The authentication policy.' },
          ),
          config: T.Record(T.String(), T.Unknown(), {
            default: {},
            description: "That policy's config (its own `anonymous` is ignored here).",
          }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, description: 'Methods tried in this order; the first that succeeds decides.' },
    ),
    anonymous: T.Optional(
      T.String({
        minLength: 1,
        description:
          'Consumer assigned when no method found credentials. Presented-but-wrong credentials are refused.',
      }),
    ),
  },
  { additionalProperties: false },
);

export type MultiAuthConfig = Static<typeof MultiAuthSchema>;
