import { type Static, Type as T } from '@sinclair/typebox';

export const StepUpSchema = T.Object(
  {
    methods: T.Optional(
      T.Array(T.String({ pattern: '^[A-Z]+$' }), {
        description: 'HTTP methods that need step-up (`POST`, `DELETE`). Unset: every method.',
      }),
    ),
    amr: T.Optional(
      T.Array(T.String(), {
        minItems: 1,
        description: 'Accepted `amr` values (`mfa`, `otp`, `hwk`): the token must list one of them.',
      }),
    ),
    acrLevels: T.Optional(
      T.Array(T.String(), {
        minItems: 1,
        description: 'Known `acr` values from weakest to strongest, as the identity provider names them.',
      }),
    ),
    minAcr: T.Optional(
      T.String({ description: 'Lowest `acr` (one of `acrLevels`) that satisfies the route.' }),
    ),
    maxAgeSeconds: T.Optional(
      T.Integer({
        minimum: 1,
        description: 'Refuse when `auth_time` is older than this (RFC 9470 `max_age`).',
      }),
    ),
    realm: T.String({
      default: 'portcullis',
      description: 'Realm named in the `WWW-Authenticate` challenge.',
    }),
  },
  { additionalProperties: false },
);

export type StepUpConfig = Static<typeof StepUpSchema>;
