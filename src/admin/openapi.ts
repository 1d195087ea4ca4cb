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
