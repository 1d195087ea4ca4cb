import { type Static, Type as T } from '@sinclair/typebox';
import { patternSchema, rolesSchema, streamsSchema, streamWindowSchema } from '../../ai/guards/common.js';

const term = T.String({ minLength: 1, maxLength: 200 });

export const AiGuardDenySchema = T.Object(
  {
    words: T.Array(term, {
      default: [],
      description:
        'Words or phrases refused anywhere in the text: whole words, case-insensitive, after Unicode normalisation (zero-width characters and spaced-out letters do not hide them).',
    }),
    topics: T.Array(
      T.Object(
        {
          name: T.String({
            pattern: '^[a-z0-9][a-z0-9_-]{0,63}$',
            description: 'Topic name, in logs and decisions.',
          }),
          terms: T.Array(term, { minItems: 1, description: 'Words and phrases that mark the topic.' }),
          minMatches: T.Integer({
            minimum: 1,
            default: 1,
            description: 'How many different terms must appear before the text counts as on the topic.',
          }),
        },
        { additionalProperties: false },
      ),
      { default: [], description: 'Topics refused, each a list of marker terms.' },
    ),
    patterns: T.Array(
      T.Object(
        {
          name: T.String({
            pattern: '^[a-z0-9][a-z0-9_-]{0,63}$',
            description: 'Rule name, in logs and decisions.',
          }),
          pattern: patternSchema(
            'Regular expression (case-insensitive) that refuses the text when it matches.',
          ),
        },
        { additionalProperties: false },
      ),
      { default: [], description: 'Own regular expressions.' },
    ),
    input: T.Boolean({ default: true, description: 'Check prompts (refused with 400).' }),
    output: T.Boolean({
      default: false,
      description:
        'Check answers (refused with 422; a streamed answer is checked when it ends and only recorded).',
    }),
    roles: rolesSchema(['user', 'tool'], 'are checked'),
    streams: streamsSchema(),
    streamWindow: streamWindowSchema('deny-lists are checked (`streams: cut`)'),
  },
  { additionalProperties: false },
);

export type AiGuardDenyConfig = Static<typeof AiGuardDenySchema>;
