import { type Static, Type as T } from '@sinclair/typebox';

export const IpRestrictionSchema = T.Object(
  {
    allow: T.Optional(
      T.Array(T.String(), {
        description: 'CIDRs or addresses allowed. When set, every other address is denied.',
      }),
    ),
    deny: T.Optional(
      T.Array(T.String(), {
        description: 'CIDRs or addresses denied. Deny wins over allow when both match.',
      }),
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
