import { type Static, Type as T } from '@sinclair/typebox';

export const RequestIdSchema = T.Object(
  {
    header: T.String({
      default: 'x-request-id',
      pattern: '^[A-Za-z0-9-]+$',
      description: 'Header that carries the id to the upstream (and back).',
    }),
    trustIncoming: T.Boolean({
      default: true,
      description:
        'Keep an id the client sent (if short and made of safe characters). Set false on internet-facing routes so clients cannot choose ids.',
    }),
    echo: T.Boolean({ default: true, description: 'Return the id to the client in the same header.' }),
  },
  { additionalProperties: false },
);

export type RequestIdConfig = Static<typeof RequestIdSchema>;
