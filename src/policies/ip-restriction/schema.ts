import { type Static, Type as T } from '@sinclair/typebox';

const Country = T.String({ pattern: '^[A-Za-z]{2}$', description: 'ISO 3166-1 alpha-2 country code.' });

export const IpFeed = T.Object(
  {
    url: T.String({
      pattern: '^https?://',
      description: 'URL of a plain-text list: one address or CIDR per line, `#` comments.',
    }),
    list: T.Unsafe<'allow' | 'deny'>({
      type: 'string',
      enum: ['allow', 'deny'],
      description: 'Whether the feed allows or denies.',
    }),
    refreshSeconds: T.Number({ minimum: 0.05, default: 300, description: 'Time between refreshes.' }),
    timeoutMs: T.Integer({ minimum: 1, default: 5000, description: 'Timeout of one fetch.' }),
  },
  { additionalProperties: false },
);

export const IpRestrictionSchema = T.Object(
  {
    allow: T.Optional(
      T.Array(T.String(), {
        description:
          'CIDRs or addresses allowed. When any allow source is set, every other address is denied.',
      }),
    ),
    deny: T.Optional(
      T.Array(T.String(), {
        description: 'CIDRs or addresses denied. Deny wins over allow when both match.',
      }),
    ),
    allowFiles: T.Optional(
      T.Array(T.String(), {
        description: 'Files of allowed CIDRs (one per line, `#` comments), read when the revision compiles.',
      }),
    ),
    denyFiles: T.Optional(
      T.Array(T.String(), {
        description: 'Files of denied CIDRs (one per line, `#` comments), read when the revision compiles.',
      }),
    ),
    feeds: T.Optional(
      T.Array(IpFeed, {
        description:
          'HTTP lists refreshed on an interval and swapped whole; a failed refresh keeps the last good list. An allow feed not loaded yet allows nothing.',
      }),
    ),
    geoip: T.Optional(
      T.Object(
        {
          database: T.String({ description: 'Path of a MaxMind DB file (GeoIP2/GeoLite2 Country or City).' }),
          allowCountries: T.Optional(
            T.Array(Country, { description: 'Countries allowed; others are denied.' }),
          ),
          denyCountries: T.Optional(T.Array(Country, { description: 'Countries denied.' })),
        },
        { additionalProperties: false, description: 'Country rules from a MaxMind database.' },
      ),
    ),
    trustedProxies: T.Optional(
      T.Array(T.String(), {
        description:
          'CIDRs of proxies whose X-Forwarded-For is believed for this policy. Absent: the gateway-wide `gateway.trustedProxies`.',
      }),
    ),
    status: T.Optional(
      T.Integer({ minimum: 400, maximum: 499, description: 'Status of the denial (default 403).' }),
    ),
  },
  { additionalProperties: false },
);

export type IpRestrictionConfig = Static<typeof IpRestrictionSchema>;
