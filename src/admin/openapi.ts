/** The admin API's OpenAPI document, served at GET /openapi.json. */
const error = { $ref: '#/components/schemas/Error' };
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const ok = (description: string, schema: object = { type: 'object' }) => ({ description, ...json(schema) });
const errors = {
  '400': ok('Bad input, or a configuration refused (with `issues`)', error),
  '401': ok('Missing or invalid admin token', error),
  '404': ok('Not found', error),
};
const idParam = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'integer' } });
const pathText = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'string' } });
const queryText = (name: string, description?: string) => ({
  name,
  in: 'query',
  schema: { type: 'string' },
  ...(description ? { description } : {}),
});
const includeRevoked = {
  name: 'include_revoked',
  in: 'query',
  schema: { type: 'boolean' },
  description: 'Also list revoked credentials.',
};
const aiFilters = [
  queryText('groupBy', 'Comma-separated grouping keys.'),
  queryText('from', 'First day, YYYY-MM-DD.'),
  queryText('to', 'Last day, YYYY-MM-DD.'),
  queryText('consumer'),
  queryText('model'),
];

export const openApiDocument = {
  openapi: '3.1.0',
  info: { title: 'Portcullis admin API', version: '1' },
  security: [{ bearer: [] }],
  components: {
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', description: 'The admin token given at start.' },
    },
    schemas: {
      Error: {
        type: 'object',
        properties: {
          error: {
            type: 'object',
            required: ['code', 'message'],
            properties: {
              code: { type: 'string', example: 'PCS_ERR_CONFIG_INVALID' },
              message: { type: 'string' },
              request_id: { type: 'string' },
              issues: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { path: { type: 'string' }, message: { type: 'string' } },
                },
              },
            },
          },
        },
      },
      Consumer: {
        type: 'object',
        required: ['name'],
        properties: {
          name: { type: 'string' },
          groups: { type: 'array', items: { type: 'string' } },
          metadata: { type: 'object' },
        },
      },
      RevisionMeta: {
        type: 'object',
        properties: {
          id: { type: 'integer' },
          hash: { type: 'string' },
          parent: { type: ['integer', 'null'] },
          author: { type: 'string' },
          message: { type: 'string' },
          createdAt: { type: 'string', format: 'date-time' },
        },
      },
    },
  },
  paths: {
    '/health': { get: { security: [], summary: 'Liveness', responses: { '200': ok('Up') } } },
    '/metrics': {
      get: {
        security: [],
        summary: 'Prometheus metrics',
        responses: { '200': { description: 'Text exposition format' } },
      },
    },
    '/openapi.json': {
      get: { security: [], summary: 'This document', responses: { '200': ok('OpenAPI 3.1') } },
    },
    '/status': {
      get: {
        summary: 'Active revision, uptime, upstream health',
        responses: { '200': ok('Status'), ...errors },
      },
    },
    '/config': {
      get: {
        summary: 'The active config (secret references unresolved)',
        responses: { '200': ok('Config'), ...errors },
      },
      post: {
        summary: 'Apply a config (YAML or JSON body)',
        parameters: [
          {
            name: 'dry_run',
            in: 'query',
            schema: { type: 'boolean' },
            description: 'Validate, compile and diff without activating.',
          },
          { name: 'message', in: 'query', schema: { type: 'string' } },
          {
            name: 'X-Portcullis-Author',
            in: 'header',
            schema: { type: 'string' },
            description: 'Recorded as the actor.',
          },
        ],
        requestBody: {
          content: {
            'application/yaml': { schema: { type: 'string' } },
            'application/json': { schema: { type: 'object' } },
          },
        },
        responses: {
          '201': ok('Applied: `{status, revision, diff}`'),
          '200': ok('Unchanged or dry run'),
          ...errors,
        },
      },
    },
    '/revisions': {
      get: {
        summary: 'List revisions, newest first',
        parameters: [
          { name: 'limit', in: 'query', schema: { type: 'integer' } },
          { name: 'before', in: 'query', schema: { type: 'integer' } },
        ],
        responses: { '200': ok('`{active, revisions}`'), ...errors },
      },
    },
    '/revisions/{id}': {
      get: {
        summary: 'One revision with its config',
        parameters: [idParam('id')],
        responses: { '200': ok('Revision'), ...errors },
      },
    },
    '/revisions/{id}/diff/{other}': {
      get: {
        summary: 'Structured diff from one revision to another',
        parameters: [idParam('id'), idParam('other')],
        responses: { '200': ok('Diff'), ...errors },
      },
    },
    '/revisions/{id}/rollback': {
      post: {
        summary: 'Re-activate an earlier revision',
        parameters: [idParam('id')],
        responses: { '200': ok('Rolled back'), ...errors },
      },
    },
    '/consumers': {
      get: { summary: 'List consumers', responses: { '200': ok('`{consumers}`'), ...errors } },
      post: {
        summary: 'Create a consumer',
        requestBody: json({ $ref: '#/components/schemas/Consumer' }),
        responses: { '201': ok('Created'), '409': ok('Exists', error), ...errors },
      },
    },
    '/consumers/{name}': {
      get: {
        summary: 'One consumer',
        parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '200': ok('Consumer'), ...errors },
      },
      put: {
        summary: 'Create or replace a consumer',
        parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: json({ $ref: '#/components/schemas/Consumer' }),
        responses: { '200': ok('Updated'), '201': ok('Created'), ...errors },
      },
      delete: {
        summary: 'Delete a consumer',
        parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '204': { description: 'Deleted' }, ...errors },
      },
    },
    '/consumers/{name}/credentials': {
      get: {
        summary: "A consumer's credentials (secrets never shown)",
        parameters: [pathText('name'), queryText('kind'), includeRevoked],
        responses: { '200': ok('`{credentials}`'), ...errors },
      },
      post: {
        summary: 'Issue a credential; generated secrets are shown once in the answer',
        parameters: [pathText('name')],
        requestBody: json({ type: 'object' }),
        responses: { '201': ok('`{credential, ...shown once}`'), ...errors },
      },
    },
    '/credentials': {
      get: {
        summary: 'Search credentials',
        parameters: [
          queryText('consumer'),
          queryText('kind'),
          queryText('prefix', 'Lookup prefix (an API key prefix, a key id).'),
          includeRevoked,
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 10000 } },
        ],
        responses: { '200': ok('`{credentials}`'), ...errors },
      },
    },
    '/credentials/{id}': {
      get: {
        summary: 'One credential (no secret)',
        parameters: [pathText('id')],
        responses: { '200': ok('Credential'), ...errors },
      },
      delete: {
        summary: 'Revoke a credential (same as POST /credentials/{id}/revoke)',
        parameters: [pathText('id')],
        responses: { '200': ok('The revoked credential'), ...errors },
      },
    },
    '/credentials/{id}/rotate': {
      post: {
        summary: 'Issue a replacement secret; the old one may stay valid for a grace period',
        parameters: [pathText('id')],
        requestBody: json({ type: 'object' }),
        responses: { '201': ok('The new credential, its secret shown once'), ...errors },
      },
    },
    '/credentials/{id}/revoke': {
      post: {
        summary: 'Revoke a credential',
        parameters: [pathText('id')],
        responses: { '200': ok('The revoked credential'), ...errors },
      },
    },
    '/ai/usage': {
      get: {
        summary: 'AI token usage and cost, grouped',
        parameters: aiFilters,
        responses: { '200': ok('`{groupBy, rows}`'), ...errors },
      },
    },
    '/ai/usage/records': {
      get: {
        summary: 'AI usage records, one per call',
        parameters: [...aiFilters, { name: 'limit', in: 'query', schema: { type: 'integer' } }],
        responses: { '200': ok('`{records}`'), ...errors },
      },
    },
    '/bans': {
      get: {
        summary: 'Active bans',
        parameters: [
          {
            name: 'shadow',
            in: 'query',
            schema: { type: 'boolean' },
            description: 'List shadow bans instead.',
          },
        ],
        responses: { '200': ok('`{bans}`'), ...errors },
      },
      post: {
        summary: 'Ban a key (an IP, a consumer) for a while',
        requestBody: json({ type: 'object' }),
        responses: { '201': ok('`{key, until, untilMs, reason, by}`'), ...errors },
      },
    },
    '/bans/{key}': {
      delete: {
        summary: 'Lift a ban',
        parameters: [pathText('key')],
        responses: { '204': { description: 'Lifted' }, ...errors },
      },
    },
    '/audit': {
      get: {
        summary: 'Audit events (hash-chained), oldest first',
        parameters: [
          { name: 'after', in: 'query', schema: { type: 'integer' } },
          { name: 'limit', in: 'query', schema: { type: 'integer' } },
        ],
        responses: { '200': ok('`{events}`'), ...errors },
      },
    },
  },
} as const;
