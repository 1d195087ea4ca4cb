import { type Static, Type as T } from '@sinclair/typebox';

const Groups = (description: string) =>
  T.Optional(T.Array(T.String({ minLength: 1 }), { minItems: 1, uniqueItems: true, description }));

export const AclSchema = T.Object(
  {
    allow: Groups(
      'Consumer groups that may use the route. Set: a consumer in none of them is denied (`allow:none`).',
    ),
    deny: Groups('Consumer groups that may not use the route. Checked before `allow`: deny wins.'),
    hideGroupsHeader: T.Boolean({
      default: false,
      description:
        "Do not send `X-Consumer-Groups` upstream. By default the allowed consumer's groups are forwarded in it (a client-sent one is always removed).",
    }),
  },
  { additionalProperties: false },
);

export type AclConfig = Static<typeof AclSchema>;
