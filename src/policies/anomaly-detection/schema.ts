import { type Static, Type as T } from '@sinclair/typebox';

export const SIGNALS = ['rate', 'errors', 'endpoints', 'payload'] as const;
export type Signal = (typeof SIGNALS)[number];

export const AnomalyDetectionSchema = T.Object(
  {
    key: T.Union([T.Literal('consumer'), T.Literal('ip')], {
      default: 'consumer',
      description:
        'Whose baseline: the consumer (the client IP for anonymous requests) or always the client IP.',
    }),
    windowMs: T.Integer({
      minimum: 1000,
      default: 60000,
      description:
        'Length of one observation window; the baseline is an exponentially weighted mean and variance of windows.',
    }),
    learningWindows: T.Integer({
      minimum: 1,
      default: 5,
      description: 'Active windows observed before a consumer can be flagged.',
    }),
    sensitivity: T.Number({
      minimum: 1,
      default: 3,
      description: 'Standard deviations above the baseline mean at which a value is anomalous.',
    }),
    factor: T.Number({
      minimum: 1,
      default: 3,
      description:
        'A value must also be at least this many times the baseline mean (steady consumers have a tiny deviation).',
    }),
    signals: T.Array(T.Union(SIGNALS.map((s) => T.Literal(s))), {
      default: [...SIGNALS],
      description:
        '`rate` (requests per window), `errors` (share of 4xx/5xx answers), `endpoints` (distinct method+path per window: enumeration), `payload` (request body bytes).',
    }),
    floors: T.Object(
      {
        rate: T.Integer({
          minimum: 1,
          default: 60,
          description: 'Requests per window below which rate is never anomalous.',
        }),
        errorRatio: T.Number({
          minimum: 0,
          maximum: 1,
          default: 0.5,
          description:
            'Error share below which errors are never anomalous (judged from 5 requests in a window).',
        }),
        endpoints: T.Integer({
          minimum: 1,
          maximum: 128,
          default: 30,
          description:
            'Distinct endpoints per window below which it is never anomalous (counting saturates at 128).',
        }),
        payloadBytes: T.Integer({
          minimum: 1,
          default: 65536,
          description: 'Body size below which a request is never anomalous.',
        }),
      },
      {
        additionalProperties: false,
        default: {},
        description: 'Absolute floors, so quiet consumers are not flagged for small changes.',
      },
    ),
    maxTracked: T.Integer({
      minimum: 10,
      maximum: 1000000,
      default: 10000,
      description: 'Consumers whose baselines are kept; beyond it the least recently seen is forgotten.',
    }),
    penalty: T.Optional(
      T.Object(
        {
          requests: T.Integer({
            minimum: 1,
            description: 'Requests allowed per `perSeconds` while flagged.',
          }),
          perSeconds: T.Integer({ minimum: 1, default: 60, description: 'The period of `requests`.' }),
          durationMs: T.Integer({
            minimum: 1000,
            default: 600000,
            description: 'How long a flagged consumer stays limited.',
          }),
        },
        {
          additionalProperties: false,
          description:
            'A stricter limit applied to a flagged consumer for a while (429 `PCS_ERR_RATE_LIMITED`). Absent: flag only.',
        },
      ),
    ),
  },
  { additionalProperties: false },
);

export type AnomalyDetectionConfig = Static<typeof AnomalyDetectionSchema>;
