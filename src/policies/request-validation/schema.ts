import { type Static, Type as T } from '@sinclair/typebox';

export const RequestValidationSchema = T.Object(
  {
    spec: T.Record(T.String(), T.Unknown(), {
      description:
        'The OpenAPI 3.0 or 3.1 document, bundled into one object (`portcullis import-openapi` writes it). Its `$ref`s must be internal (`#/components/...`).',
    }),
    basePath: T.String({
      default: '',
      pattern: '^(/[^?#]*)?$',
      description:
        'Prefix of every path of the spec on the gateway (`/v1`); empty when the paths are served as written.',
    }),
    undocumented: T.Union([T.Literal('reject'), T.Literal('allow')], {
      default: 'reject',
      description:
        '`reject`: a path or method the spec does not document is refused with 404 `PCS_ERR_UNDOCUMENTED_ENDPOINT` (recorded as `would_deny` in shadow mode). `allow`: it passes, with an `openapi.undocumented` security event.',
    }),
    validateBody: T.Boolean({
      default: true,
      description:
        'Read and validate request bodies (JSON, urlencoded and multipart forms, text). XML is never parsed.',
    }),
    unknownQuery: T.Union([T.Literal('allow'), T.Literal('reject')], {
      default: 'allow',
      description:
        '`reject`: a query parameter the operation does not document is a 400 (`query.debug is not documented`), closing mass assignment through the query string. `allow`: it is passed on.',
    }),
    maxErrors: T.Integer({
      minimum: 1,
      maximum: 50,
      default: 5,
      description: 'Failing locations listed in a 400 answer; the rest are counted (`and 3 more`).',
    }),
    responses: T.Object(
      {
        validate: T.Boolean({
          default: false,
          description:
            'Check upstream answers against the spec in phase `response`: status documented, `Content-Type` documented, required headers present.',
        }),
        block: T.Boolean({
          default: false,
          description:
            'Replace a mismatching answer with 502 `PCS_ERR_RESPONSE_INVALID` (when enforced). Default: record a decision and an `openapi.response_mismatch` security event only.',
        }),
        bodies: T.Boolean({
          default: true,
          description:
            'With `validate`: also check JSON response bodies against their schema (leaking or `writeOnly` fields, wrong types). The body streams to the client untouched; a copy (up to `maxBodyBytes`) is checked when it has gone out, so a mismatch is recorded (`would_deny`, security event), never blocked.',
        }),
        maxBodyBytes: T.Integer({
          minimum: 1,
          default: 1048576,
          description:
            'Largest response body copied for the body check; larger ones are skipped and counted.',
        }),
      },
      { additionalProperties: false, default: {}, description: 'Response validation (usually in shadow).' },
    ),
  },
  { additionalProperties: false },
);

export type RequestValidationConfig = Static<typeof RequestValidationSchema>;
