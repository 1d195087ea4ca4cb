import { type Static, Type as T } from '@sinclair/typebox';

export const RbacSchema = T.Object(
  {
    roles: T.Object(
      {
        groups: T.Boolean({
          default: true,
          description: "The consumer's groups are roles.",
        }),
        claim: T.Optional(
          T.String({
            minLength: 1,
            description:
              'Token claim holding roles, a dotted path (`roles`, `realm_access.roles`); an array of strings or a space-separated string.',
          }),
        ),
      },
      {
        additionalProperties: false,
        default: { groups: true },
        description: 'Where the roles of a request come from; both sources add up.',
      },
    ),
    permissions: T.Record(T.String({ minLength: 1 }), T.Array(T.String({ minLength: 1 }), { minItems: 1 }), {
      description:
        'Per role, what it may do: `METHOD /path` patterns (`GET /orders/*`, `GET,POST /carts/**`, `* /admin/**`). `*` is one path segment, `**` any number of segments (also none). Anything not granted is denied.',
    }),
  },
  { additionalProperties: false },
);

export type RbacConfig = Static<typeof RbacSchema>;
