import { type Static, Type as T } from '@sinclair/typebox';
import { patternSchema, streamsSchema, streamWindowSchema } from '../../ai/guards/common.js';

export const AiGuardOutputSchema = T.Object(
  {
    regex: T.Array(
      T.Object(
        {
          name: T.String({
            pattern: '^[a-z0-9][a-z0-9_-]{0,63}$',
            description: 'Rule name, in logs and decisions.',
          }),
          pattern: patternSchema('Regular expression (case-insensitive) run on the answer text.'),
          action: T.Unsafe<'block' | 'require' | 'redact'>({
            type: 'string',
            enum: ['block', 'require', 'redact'],
            default: 'block',
            description:
              '`block`: refuse an answer that matches; `require`: refuse an answer that does not match; `redact`: replace the matches.',
          }),
          replacement: T.String({
            default: '[REDACTED]',
            description: 'With `redact`: what replaces a match.',
          }),
        },
        { additionalProperties: false },
      ),
      { default: [], description: 'Regular-expression checks, in order.' },
    ),
    jsonSchema: T.Optional(
      T.Record(T.String(), T.Unknown(), {
        description:
          'JSON Schema the answer must satisfy: the answer must be JSON (a surrounding ```json fence is allowed) and valid. Compiled with Ajv when the revision compiles; a broken schema is a config error.',
      }),
    ),
    maxChars: T.Optional(T.Integer({ minimum: 1, description: 'Longest answer accepted, in characters.' })),
    streams: streamsSchema(),
    streamWindow: streamWindowSchema(
      '`redact` rules rewrite it and, with `streams: cut`, `block` rules and `maxChars` check it',
    ),
  },
  { additionalProperties: false },
);

export type AiGuardOutputConfig = Static<typeof AiGuardOutputSchema>;
