import { type Static, Type as T } from '@sinclair/typebox';
import { patternSchema, rolesSchema, streamsSchema } from '../../ai/guards/common.js';

export const AiGuardInjectionSchema = T.Object(
  {
    threshold: T.Number({
      exclusiveMinimum: 0,
      default: 1,
      description:
        'Heuristic score at which a text is an injection. Each matching rule adds its weight (strong signals 1, weak ones 0.5 to 0.7), so the default blocks one strong or two weak signals.',
    }),
    roles: rolesSchema(['user', 'tool'], 'are scanned'),
    output: T.Boolean({
      default: false,
      description:
        "Also score the model's answer (an answer that carries injected instructions or the system prompt onwards).",
    }),
    streams: streamsSchema(false),
    disabledRules: T.Array(T.String(), {
      default: [],
      uniqueItems: true,
      description:
        'Ids of built-in rules to turn off (`jailbreak.roleplay`); an unknown id is a config error.',
    }),
    rules: T.Array(
      T.Object(
        {
          id: T.String({
            pattern: '^[a-z0-9][a-z0-9._-]{0,63}$',
            description: 'Rule id, in logs and decisions.',
          }),
          pattern: patternSchema('Regular expression, matched case-insensitively on the normalised text.'),
          weight: T.Number({
            exclusiveMinimum: 0,
            default: 1,
            description: 'What a match adds to the score.',
          }),
        },
        { additionalProperties: false },
      ),
      { default: [], description: 'Own rules, added to the built-in ones.' },
    ),
    classifier: T.Optional(
      T.Object(
        {
          url: T.String({
            format: 'uri',
            description:
              'Classifier service: POST `{ "text": ... }`, answers `{ "score": 0..1 }` or `[{ "label", "score" }]`. Asked when the heuristics did not block.',
          }),
          field: T.Unsafe<'text' | 'inputs'>({
            type: 'string',
            enum: ['text', 'inputs'],
            default: 'text',
            description:
              'The JSON property the text is sent in: `text`, or `inputs` for a Hugging Face server (text-embeddings-inference `/predict`, Inference API) running a prompt-injection model.',
          }),
          timeoutMs: T.Integer({ minimum: 1, default: 1000, description: 'Time allowed for its answer.' }),
          cacheTtlMs: T.Integer({
            minimum: 0,
            default: 600000,
            description:
              "How long a text's score is remembered (by hash, 10,000 texts at most). Each message is scored on its own, so a conversation asks only about its new messages. 0 turns the cache off.",
          }),
          threshold: T.Number({
            minimum: 0,
            maximum: 1,
            default: 0.8,
            description: 'Score at or above which the text is an injection.',
          }),
          failClosed: T.Boolean({
            default: false,
            description:
              'When the classifier fails or times out: refuse the call with 503 (`true`) or rely on the heuristics alone (`false`, with a warning and a counter).',
          }),
          headers: T.Optional(
            T.Record(T.String(), T.String(), {
              description: 'Headers for the classifier (an API key reference).',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export type AiGuardInjectionConfig = Static<typeof AiGuardInjectionSchema>;
