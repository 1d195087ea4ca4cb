import { type Static, Type as T } from '@sinclair/typebox';

export const RequestSizeLimitSchema = T.Object(
  {
    maxBodyBytes: T.Integer({
      minimum: 0,
      description:
        'Largest request body accepted, in bytes. Enforced from Content-Length and while streaming.',
    }),
    maxHeaderCount: T.Optional(
      T.Integer({ minimum: 1, description: 'Most request headers accepted (431 beyond).' }),
    ),
    maxUrlLength: T.Optional(
      T.Integer({
        minimum: 1,
        description: 'Longest request target (path and query) accepted (414 beyond).',
      }),
    ),
  },
  { additionalProperties: false },
);

export type RequestSizeLimitConfig = Static<typeof RequestSizeLimitSchema>;
