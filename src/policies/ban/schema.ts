import { type Static, Type as T } from '@sinclair/typebox';
import { KeyPart } from '../rate-limit/schema.js';

const Duration = (description: string) => T.String({ pattern: '^[1-9][0-9]{0,8}(ms|s|m|h|d)$', description });

export const BanSchema = T.Object(
  {
    key: T.Optional(
      T.Array(KeyPart, {
        minItems: 1,
        maxItems: 8,
        description:
          "Who is banned, as in `rate-limit`. Default `['ip']`. A key with consumer, credential or claim parts is checked after authentication (phase `authz`), otherwise in `request`, before it.",
      }),
    ),
    after: T.Integer({
      minimum: 1,
      maximum: 1_000_000,
      description: 'Denials from one key within `window` that trigger a ban.',
    }),
    window: Duration('The window the denials are counted in, from the first one: `1m`, `10m`, `1h`.'),
    duration: Duration('How long a ban lasts: `15m`, `1h`, `1d`.'),
    statuses: T.Optional(
      T.Array(T.Integer({ minimum: 400, maximum: 599 }), {
        minItems: 1,
        maxItems: 16,
        description: 'Final statuses that count as denials (default 401, 403, 429).',
      }),
    ),
    status: T.Optional(
      T.Union([T.Literal(403), T.Literal(429)], {
        description: 'Status sent to a banned key: 403 (default) or 429.',
      }),
    ),
    onStoreError: T.Optional(
      T.Union([T.Literal('allow'), T.Literal('deny')], {
        description: 'When the counter store cannot answer: admit (default) or answer 503.',
      }),
    ),
  },
  { additionalProperties: false },
);

export type BanConfig = Static<typeof BanSchema>;
