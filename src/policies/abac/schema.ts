import { type Static, Type as T } from '@sinclair/typebox';

export const AbacRuleSchema = T.Object(
  {
    name: T.String({
      minLength: 1,
      pattern: '^[A-Za-z0-9._:-]+$',
      description: 'Names the rule in the access log decision (`rule`).',
    }),
    effect: T.Union([T.Literal('allow'), T.Literal('deny')], {
      default: 'allow',
      description: 'What happens when the expression is true.',
    }),
    expression: T.String({
      minLength: 1,
      maxLength: 4096,
      description:
        'A Common Expression Language (CEL) expression over `request`, `consumer`, `identity`, `claims`, `client` and `now` that yields a bool.',
    }),
  },
  { additionalProperties: false },
);

export const AbacSchema = T.Object(
  {
    rules: T.Array(AbacRuleSchema, {
      minItems: 1,
      description: 'Evaluated in order; the first rule whose expression is true decides with its effect.',
    }),
    default: T.Union([T.Literal('deny'), T.Literal('allow')], {
      default: 'deny',
      description: 'The decision when no rule matched.',
    }),
  },
  { additionalProperties: false },
);

export type AbacConfig = Static<typeof AbacSchema>;
