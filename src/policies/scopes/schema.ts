import { type Static, Type as T } from '@sinclair/typebox';

const Scope = T.String({ minLength: 1, pattern: '^[\\x21\\x23-\\x5b\\x5d-\\x7e]+$' });

export const ScopesSchema = T.Object(
  {
    required: T.Array(Scope, {
      default: [],
      uniqueItems: true,
      description: 'Scopes every request on the route needs, whatever its method.',
    }),
    methods: T.Record(T.String({ pattern: '^[A-Z]+$' }), T.Array(Scope, { uniqueItems: true }), {
      default: {},
      description:
        'Scopes needed in addition for a method (`{ DELETE: [orders:admin] }`). Methods not listed need `required` only.',
    }),
    match: T.Union([T.Literal('all'), T.Literal('any')], {
      default: 'all',
      description: '`all`: the token must carry every needed scope; `any`: one of them is enough.',
    }),
    realm: T.String({
      default: 'portcullis',
      description: 'Realm named in the `WWW-Authenticate` challenge.',
    }),
  },
  { additionalProperties: false },
);

export type ScopesConfig = Static<typeof ScopesSchema>;
