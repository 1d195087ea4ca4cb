import { type Static, Type as T } from '@sinclair/typebox';

const Location = T.Union(
  ['path', 'query', 'header', 'cookie', 'body', 'name'].map((l) => T.Literal(l)),
  { description: 'Where a value came from; `name` is a parameter, field, cookie or header name.' },
);

export const WafRuleSchema = T.Object(
  {
    id: T.String({ minLength: 1, maxLength: 64, description: 'Unique rule id, logged when it matches.' }),
    category: T.String({
      minLength: 1,
      maxLength: 32,
      description: 'Category for reports and exclusions (`sqli`, `custom`, ...).',
    }),
    pattern: T.String({
      minLength: 1,
      maxLength: 2000,
      description:
        'Regular expression (JavaScript syntax) run case-insensitively on each normalised value, in linear time on RE2. Refused at compile time when it uses what RE2 lacks (backreferences, lookarounds).',
    }),
    score: T.Integer({
      minimum: 1,
      maximum: 100,
      description: 'Added to the anomaly score when the rule matches.',
    }),
    paranoia: T.Optional(
      T.Integer({
        minimum: 1,
        maximum: 4,
        default: 1,
        description: 'Lowest paranoia level at which the rule runs.',
      }),
    ),
    description: T.Optional(T.String({ maxLength: 200, description: 'What the rule detects.' })),
    targets: T.Optional(T.Array(Location, { description: 'Locations the rule inspects (default: all).' })),
  },
  { additionalProperties: false },
);

export const WafSchema = T.Object(
  {
    paranoia: T.Integer({
      minimum: 1,
      maximum: 4,
      default: 1,
      description: 'Paranoia level: rules above it do not run. 1 has the fewest false positives.',
    }),
    threshold: T.Integer({
      minimum: 1,
      maximum: 1000,
      default: 5,
      description:
        'Anomaly score at which the request is blocked. Critical rules score 5, error 4, warning 3.',
    }),
    rules: T.Array(WafRuleSchema, {
      default: [],
      description: 'Extra rules of your own, compiled with the built-in ones.',
    }),
    disabledRules: T.Array(T.String(), {
      default: [],
      description: 'Built-in or own rule ids, or whole categories, that never run.',
    }),
    exclusions: T.Array(
      T.Object(
        {
          routes: T.Optional(
            T.Array(T.String(), {
              description: 'Route names the exclusion applies to (default: every route).',
            }),
          ),
          rules: T.Optional(
            T.Array(T.String(), { description: 'Rule ids or categories excluded (default: every rule).' }),
          ),
          targets: T.Optional(
            T.Array(T.String(), {
              description:
                'Values excluded: a location (`header`) or `location:name` (`query:q`, `body:profile.bio`, `header:referer`, `name:$ref`). Default: the whole request.',
            }),
          ),
        },
        { additionalProperties: false },
      ),
      {
        default: [],
        description:
          'Known false positives fixed in config: rules switched off for some routes or parameters.',
      },
    ),
    inspectBody: T.Boolean({
      default: true,
      description: 'Read and inspect request bodies (JSON, forms, multipart, XML, text).',
    }),
    maxDecompressedBytes: T.Integer({
      minimum: 1024,
      default: 10485760,
      description:
        'Cap on a gzip/deflate/br body once decompressed for inspection; beyond it the body counts as an encoding anomaly.',
    }),
  },
  { additionalProperties: false },
);

export type WafConfig = Static<typeof WafSchema>;
