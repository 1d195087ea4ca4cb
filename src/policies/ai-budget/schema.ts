import { type Static, Type as T } from '@sinclair/typebox';

export const AiBudgetLimit = T.Object(
  {
    per: T.Unsafe<'consumer' | 'group' | 'credential' | 'global'>({
      type: 'string',
      enum: ['consumer', 'group', 'credential', 'global'],
      default: 'consumer',
      description:
        "Whose budget: each consumer, each of the consumer's groups, each credential (key), or everyone together.",
    }),
    window: T.Unsafe<'minute' | 'day' | 'month'>({
      type: 'string',
      enum: ['minute', 'day', 'month'],
      description: 'Calendar window in UTC: `minute` (tokens per minute), `day` or `month`.',
    }),
    tokens: T.Optional(
      T.Integer({ minimum: 1, description: 'Input + output tokens allowed in the window.' }),
    ),
    requests: T.Optional(T.Integer({ minimum: 1, description: 'Calls allowed in the window.' })),
    cost: T.Optional(
      T.Number({
        exclusiveMinimum: 0,
        description:
          'Cost (price-table units) allowed in the window; checked before, charged after the call.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const AiBudgetSchema = T.Object(
  {
    limits: T.Array(AiBudgetLimit, { minItems: 1, description: 'The limits; a call must fit in every one.' }),
    outputEstimate: T.Integer({
      minimum: 0,
      default: 512,
      description: 'Output tokens reserved for a call that sets no `max_tokens`.',
    }),
    onStoreError: T.Optional(
      T.Union([T.Literal('allow'), T.Literal('deny')], {
        description:
          'When the counter store cannot answer: admit the call unmetered (default, counted in `portcullis_ai_budget_store_failures_total`) or answer 503.',
      }),
    ),
  },
  { additionalProperties: false },
);

export type AiBudgetConfig = Static<typeof AiBudgetSchema>;
