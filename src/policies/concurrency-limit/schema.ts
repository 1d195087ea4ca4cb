import { type Static, Type as T } from '@sinclair/typebox';
import { KeyPart } from '../rate-limit/schema.js';

export const ConcurrencyLimitSchema = T.Object(
  {
    max: T.Integer({ minimum: 1, maximum: 1_000_000, description: 'Requests in flight at once per key.' }),
    key: T.Optional(
      T.Array(KeyPart, {
        minItems: 1,
        maxItems: 8,
        description: "What is limited, as in `rate-limit`. Default `['route']`: the route as a whole.",
      }),
    ),
    queue: T.Optional(
      T.Integer({
        minimum: 0,
        maximum: 100_000,
        description: 'Requests that may wait for a slot per key (default 0: refuse at once when full).',
      }),
    ),
    queueTimeoutMs: T.Optional(
      T.Integer({
        minimum: 1,
        maximum: 600_000,
        description: 'Longest wait in the queue before refusing (default 1000).',
      }),
    ),
    status: T.Optional(
      T.Union([T.Literal(429), T.Literal(503)], {
        description: 'Status of the refusal: 429 (default) or 503.',
      }),
    ),
    onMissingKey: T.Optional(
      T.Union([T.Literal('ip'), T.Literal('skip')], {
        description: 'When a key part is absent: use the client IP in its place (default) or do not limit.',
      }),
    ),
  },
  { additionalProperties: false },
);

export type ConcurrencyLimitConfig = Static<typeof ConcurrencyLimitSchema>;
