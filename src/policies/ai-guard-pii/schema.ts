import { type Static, Type as T } from '@sinclair/typebox';
import { patternSchema, rolesSchema } from '../../ai/guards/common.js';
import { PII_KINDS, type PiiKind } from '../../ai/guards/pii.js';

const action = (description: string) =>
  T.Unsafe<'redact' | 'block' | 'off'>({
    type: 'string',
    enum: ['redact', 'block', 'off'],
    default: 'redact',
    description,
  });

export const AiGuardPiiSchema = T.Object(
  {
    detect: T.Array(T.Unsafe<PiiKind>({ type: 'string', enum: [...PII_KINDS] }), {
      default: [...PII_KINDS],
      uniqueItems: true,
      description:
        'Built-in detectors: `email`, `phone` (9 to 15 digits, with a `+` or separators), `card` (13 to 19 digits passing the Luhn check), `iban` (ISO 13616 mod-97 check), `ssn` (US, with area/group/serial rules), `uk-nino`.',
    }),
    custom: T.Array(
      T.Object(
        {
          name: T.String({
            pattern: '^[a-z0-9][a-z0-9_-]{0,31}$',
            description: 'Kind of data, in logs and in `[NAME]`.',
          }),
          pattern: patternSchema('Regular expression for the data (case-insensitive), such as `EMP-\\d{6}`.'),
          replacement: T.Optional(
            T.String({ description: 'Replacement text; default `replacement` with this name.' }),
          ),
        },
        { additionalProperties: false },
      ),
      {
        default: [],
        description: 'Own detectors (employee ids, contract numbers), run before the built-in ones.',
      },
    ),
    input: action(
      'Prompts: `redact` (replace before the provider sees them), `block` (refuse with 400) or `off`.',
    ),
    output: action(
      'Answers: `redact`, `block` (422) or `off`. Non-streamed answers only are changed; a streamed answer is checked when it ends and the finding recorded.',
    ),
    roles: rolesSchema(['system', 'user', 'assistant', 'tool'], 'are scanned'),
    streams: T.Unsafe<'in-flight' | 'check-at-end' | 'refuse'>({
      type: 'string',
      enum: ['in-flight', 'check-at-end', 'refuse'],
      default: 'in-flight',
      description:
        'Streamed answers: `in-flight` checks the text as it flows, held back by `streamWindow` characters: `output: redact` rewrites findings (never cut inside one), `output: block` ends the stream with an `output_blocked` error event before a finding is sent and cancels the provider call; `check-at-end` only records findings when the stream ends; `refuse` refuses `stream: true` calls with 400.',
    }),
    streamWindow: T.Integer({
      minimum: 16,
      maximum: 4096,
      default: 96,
      description:
        'With `streams: in-flight`: characters of a streamed answer held back, so that PII split across chunks is caught whole. Must exceed the longest finding (96 covers the built-in kinds; raise it for long custom patterns).',
    }),
    replacement: T.String({
      default: '[{type}]',
      description: 'What replaces a finding; `{type}` is the kind in capitals (`[EMAIL]`, `[CARD]`).',
    }),
  },
  { additionalProperties: false },
);

export type AiGuardPiiConfig = Static<typeof AiGuardPiiSchema>;
