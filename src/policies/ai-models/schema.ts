import { type Static, Type as T } from '@sinclair/typebox';

export const AiModelsSchema = T.Object(
  {
    allow: T.Optional(
      T.Array(T.String({ minLength: 1 }), {
        description:
          'Model aliases (or provider model names) the caller may request. Absent: every model the route offers.',
      }),
    ),
    deny: T.Optional(
      T.Array(T.String({ minLength: 1 }), {
        description: 'Model aliases the caller may not request. Deny wins.',
      }),
    ),
  },
  { additionalProperties: false },
);

export type AiModelsConfig = Static<typeof AiModelsSchema>;
