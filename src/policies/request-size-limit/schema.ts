import { type Static, Type as T } from '@sinclair/typebox';

export const RequestSizeLimitSchema = T.Object(
  {
    maxBodyBytes: T.Optional(
      T.Integer({
        minimum: 0,
        description:
          'Largest request body accepted, in bytes. Enforced from Content-Length at once, and while streaming for chunked bodies (413 as soon as it is crossed, nothing buffered).',
      }),
    ),
    maxHeaderCount: T.Optional(
      T.Integer({
        minimum: 1,
        description: 'Most request header lines accepted, repeated headers counted each time (431 beyond).',
      }),
    ),
    maxHeaderBytes: T.Optional(
      T.Integer({
        minimum: 1,
        description: 'Largest total of header names and values, in bytes (431 beyond).',
      }),
    ),
    maxUrlLength: T.Optional(
      T.Integer({
        minimum: 1,
        description: 'Longest request target (path and query) accepted (414 beyond).',
      }),
    ),
    maxQueryLength: T.Optional(
      T.Integer({ minimum: 0, description: 'Longest query string (after `?`) accepted (414 beyond).' }),
    ),
    json: T.Optional(
      T.Object(
        {
          maxDepth: T.Optional(
            T.Integer({ minimum: 1, description: 'Deepest nesting of objects and arrays.' }),
          ),
          maxArrayLength: T.Optional(T.Integer({ minimum: 0, description: 'Most elements in one array.' })),
          maxObjectKeys: T.Optional(T.Integer({ minimum: 0, description: 'Most keys in one object.' })),
        },
        {
          additionalProperties: false,
          description:
            'Structure limits for JSON bodies (`application/json`, `*+json`), checked in the `validate` phase with one linear scan of the buffered body, without parsing it (400 beyond).',
        },
      ),
    ),
  },
  { additionalProperties: false },
);

export type RequestSizeLimitConfig = Static<typeof RequestSizeLimitSchema>;
