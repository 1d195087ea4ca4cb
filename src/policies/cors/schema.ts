import { type Static, Type as T } from '@sinclair/typebox';

export const CorsSchema = T.Object(
  {
    origins: T.Array(T.String(), {
      minItems: 1,
      description:
        'Allowed origins: exact (`https://app.example.com`), wildcard subdomain (`https://*.example.com`) or `*` (any; never combined with credentials).',
    }),
    methods: T.Array(T.String({ pattern: '^[A-Z]+$' }), {
      default: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      description: 'Methods allowed in preflight.',
    }),
    headers: T.Array(T.String(), {
      default: [],
      description: 'Request headers allowed in preflight. Empty: echo what the preflight asks for.',
    }),
    exposeHeaders: T.Array(T.String(), {
      default: [],
      description: 'Response headers exposed to the browser.',
    }),
    credentials: T.Boolean({ default: false, description: 'Send `Access-Control-Allow-Credentials: true`.' }),
    maxAgeSeconds: T.Integer({
      minimum: 0,
      default: 600,
      description: 'How long browsers may cache a preflight.',
    }),
    denyDisallowed: T.Boolean({
      default: false,
      description:
        'Answer 403 to requests whose Origin is not allowed (default: pass them without CORS headers, so the browser blocks them).',
    }),
  },
  { additionalProperties: false },
);

export type CorsConfig = Static<typeof CorsSchema>;
