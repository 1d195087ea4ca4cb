import { type Static, Type as T } from '@sinclair/typebox';

export const MTLS_MATCHES = ['fingerprint', 'subject', 'san'] as const;

export const MtlsAuthSchema = T.Object(
  {
    match: T.Array(T.Union(MTLS_MATCHES.map((m) => T.Literal(m))), {
      minItems: 1,
      uniqueItems: true,
      default: ['fingerprint', 'subject', 'san'],
      description:
        'What of the verified certificate is looked up in the `mtls-auth` credentials, in this order: its SHA-256 `fingerprint`, its `subject` DN (`CN=client-a,O=Acme`), each `san` entry (`DNS:client-a.example`, `URI:spiffe://acme/a`).',
    }),
    forwardHeaders: T.Boolean({
      default: false,
      description:
        'Send `X-Client-Cert-Subject` and `X-Client-Cert-Fingerprint` upstream. Client-sent copies are always removed.',
    }),
    anonymous: T.Optional(
      T.String({
        minLength: 1,
        description:
          'Consumer assigned when no client certificate was sent. An unverified or unknown certificate is refused either way.',
      }),
    ),
    realm: T.String({
      default: 'portcullis',
      description: 'Realm named in the `WWW-Authenticate` challenge.',
    }),
  },
  { additionalProperties: false },
);

export type MtlsAuthConfig = Static<typeof MtlsAuthSchema>;
