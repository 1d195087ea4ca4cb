import { type Static, Type as T } from '@sinclair/typebox';

export const KeyPart = T.Union(
  [
    T.Literal('ip', { description: 'The client IP (after trusted-proxy handling).' }),
    T.Literal('consumer', { description: 'The consumer name set by an auth policy.' }),
    T.Literal('credential', {
      description: 'The credential id (API key id, token jti) set by an auth policy.',
    }),
    T.Literal('route', { description: 'The matched route name.' }),
    T.Literal('service', { description: 'The service name of the route.' }),
    T.Object(
      { header: T.String({ minLength: 1, description: 'A request header, by name.' }) },
      { additionalProperties: false },
    ),
    T.Object(
      { claim: T.String({ minLength: 1, description: 'A verified JWT claim (top-level), by name.' }) },
      { additionalProperties: false },
    ),
  ],
  {
    description:
      "One part of a limit key: 'ip', 'consumer', 'credential', 'route', 'service', {header} or {claim}.",
  },
);

export const LimitSchema = T.Object(
  {
    name: T.Optional(
      T.String({
        pattern: '^[A-Za-z0-9_.:-]{1,64}$',
        description:
          'Names the limit in headers and logs, and pins its counter: counters carry over across revisions while the name is unchanged. Default: the algorithm and window (`gcra:1s`, `quota:day:UTC`).',
      }),
    ),
    requests: T.Integer({ minimum: 1, description: 'Requests (cost units) admitted per window or period.' }),
    per: T.Optional(
      T.String({
        pattern: '^[1-9][0-9]{0,8}(ms|s|m|h|d)$',
        description:
          'The window of a rate: `1s`, `10s`, `1m`, `1h`, `1d`. Exactly one of `per` and `period`.',
      }),
    ),
    period: T.Optional(
      T.Union([T.Literal('day'), T.Literal('month')], {
        description:
          'A quota aligned to the calendar day or month in `timeZone`. Exactly one of `per` and `period`.',
      }),
    ),
    timeZone: T.Optional(
      T.String({ minLength: 1, description: 'IANA time zone of a `period` quota (default `UTC`).' }),
    ),
    algorithm: T.Optional(
      T.Union([T.Literal('gcra'), T.Literal('sliding-window')], {
        description:
          '`gcra` (token bucket: `burst` at once, refilled evenly over `per`) or `sliding-window` (at most `requests` in any window of length `per`, approximated from two fixed windows). Default `gcra`. Rates only.',
      }),
    ),
    burst: T.Optional(
      T.Integer({
        minimum: 1,
        description:
          'GCRA only: the bucket size, requests admitted at once from a full bucket (default `requests`).',
      }),
    ),
  },
  { additionalProperties: false },
);

export const RateLimitSchema = T.Object(
  {
    limits: T.Array(LimitSchema, {
      minItems: 1,
      maxItems: 16,
      description:
        'The limits; a request is admitted only when every limit admits it, and only then is it counted against all of them.',
    }),
    key: T.Optional(
      T.Array(KeyPart, {
        minItems: 1,
        maxItems: 8,
        description:
          "What is limited: the parts are joined into one key (composite). Default `['ip']`. `['consumer', 'route']` limits each consumer per route.",
      }),
    ),
    onMissingKey: T.Optional(
      T.Union([T.Literal('ip'), T.Literal('skip')], {
        description:
          'When a key part is absent (no consumer, header or claim): `ip` uses the client IP in its place (default), `skip` does not limit the request.',
      }),
    ),
    onStoreError: T.Optional(
      T.Union([T.Literal('allow'), T.Literal('deny')], {
        description:
          'When the counter store (Redis) cannot answer: `allow` admits the request (fail open, default), `deny` answers 503 PCS_ERR_COUNTER_STORE_UNAVAILABLE (fail closed).',
      }),
    ),
    cost: T.Optional(T.Integer({ minimum: 1, description: 'Units each request spends (default 1).' })),
    headers: T.Optional(
      T.Boolean({
        description:
          'Send `RateLimit-Policy` and `RateLimit` on every answer (default true). `Retry-After` is always sent with a 429.',
      }),
    ),
    status: T.Optional(
      T.Integer({ minimum: 400, maximum: 599, description: 'Status of the denial (default 429).' }),
    ),
  },
  { additionalProperties: false },
);

export type RateLimitConfig = Static<typeof RateLimitSchema>;
export type LimitConfig = Static<typeof LimitSchema>;
export type KeyPartConfig = Static<typeof KeyPart>;
