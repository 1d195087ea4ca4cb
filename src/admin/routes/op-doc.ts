/** Builds the OpenAPI operation object that a module passes as the 5th argument of `route()`. */
const errorRef = { $ref: '#/components/schemas/Error' };
const described = (description: string, schema: object = { type: 'object' }, type = 'application/json') => ({
  description,
  content: { [type]: { schema } },
});

export interface OpSpec {
  /** Success answers: status -> description. */
  ok: Record<string, string>;
  /** Error answers besides 401: status -> description. */
  errors?: Record<string, string>;
  /** Path parameters (all strings unless listed in `intParams`). */
  params?: string[];
  intParams?: string[];
  query?: Record<string, string>;
  body?: string;
  /** Media type of the success body (default JSON). */
  type?: string;
}

export function op(summary: string, s: OpSpec): object {
  const responses: Record<string, object> = {};
  for (const [status, d] of Object.entries(s.ok))
    responses[status] = described(d, { type: 'object' }, s.type);
  responses['401'] = described('Missing or invalid admin token', errorRef);
  for (const [status, d] of Object.entries(s.errors ?? {})) responses[status] = described(d, errorRef);
  const parameters = [
    ...(s.params ?? []).map((name) => ({
      name,
      in: 'path',
      required: true,
      schema: { type: s.intParams?.includes(name) ? 'integer' : 'string' },
    })),
    ...Object.entries(s.query ?? {}).map(([name, description]) => ({
      name,
      in: 'query',
      schema: { type: 'string' },
      description,
    })),
  ];
  return {
    summary,
    ...(parameters.length ? { parameters } : {}),
    ...(s.body
      ? {
          requestBody: {
            description: s.body,
            content: { 'application/json': { schema: { type: 'object' } } },
          },
        }
      : {}),
    responses,
  };
}
