import { type Static, Type as T } from '@sinclair/typebox';

export const OpaSchema = T.Object(
  {
    url: T.String({
      pattern: '^https?://',
      description:
        'Decision endpoint, called with `POST` and `{ "input": ... }` (OPA: `http://127.0.0.1:8181/v1/data/httpapi/authz/allow`).',
    }),
    timeoutMs: T.Integer({
      minimum: 1,
      maximum: 10_000,
      default: 250,
      description: 'Time for the whole answer; beyond it the call counts as failed.',
    }),
    failOpen: T.Boolean({
      default: false,
      description:
        'When the engine fails (timeout, error, malformed answer): `false` answers 503, `true` lets the request through. Counted either way.',
    }),
    headers: T.Array(T.String({ minLength: 1, pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$" }), {
      default: [],
      description:
        'Request headers copied into `input.request.headers`. Few on purpose: every distinct value is a distinct cache entry, and credentials do not belong in decision logs.',
    }),
    includeClaims: T.Boolean({
      default: true,
      description: "Send the verified token's claims in `input.identity.claims`.",
    }),
    token: T.Optional(
      T.String({
        minLength: 1,
        description: 'Bearer token for the engine (a secret reference such as `${env:OPA_TOKEN}`).',
      }),
    ),
    cache: T.Object(
      {
        ttlMs: T.Integer({
          minimum: 0,
          default: 5000,
          description: 'How long a decision is reused for the same input; 0 disables the cache.',
        }),
        maxEntries: T.Integer({
          minimum: 1,
          default: 10_000,
          description: 'Decisions kept; the oldest go first.',
        }),
      },
      { additionalProperties: false, default: {}, description: 'Decision cache, keyed by the whole input.' },
    ),
  },
  { additionalProperties: false },
);

export type OpaConfig = Static<typeof OpaSchema>;
