import { createHash } from 'node:crypto';
import type { PolicyContext } from '../../core/context.js';
import { definePolicy, type PolicyHandlers } from '../../core/policy.js';
import { type CompiledSpec, type CompileOptions, compileSpec } from '../../openapi/compile.js';
import type { OpenApiDoc } from '../../openapi/spec.js';
import { validateRequest } from './request.js';
import { validateResponse } from './response.js';
import { RequestValidationSchema } from './schema.js';
import { settings } from './settings.js';

/**
 * Compiled documents of the last few revisions, by content: applying a revision that changes
 * something else (a rate limit, a route) reuses the validators instead of compiling the whole
 * document again. Validators are pure functions, safe to share between revisions.
 */
const COMPILED = new Map<string, CompiledSpec>();
const KEEP = 4;

export function compiled(doc: OpenApiDoc, opts: CompileOptions): CompiledSpec {
  const key = createHash('sha256')
    .update(JSON.stringify([doc, opts.basePath, opts.responses]))
    .digest('hex');
  let c = COMPILED.get(key);
  if (c) COMPILED.delete(key);
  else c = compileSpec(doc, opts);
  COMPILED.set(key, c);
  while (COMPILED.size > KEEP) COMPILED.delete(COMPILED.keys().next().value as string);
  return c;
}

/**
 * Schema-first enforcement of an OpenAPI document: only documented operations, parameters
 * deserialised by their style and validated with coercion, bodies by media type, and
 * optionally upstream answers. Everything is compiled in `create`.
 */
export const requestValidation = definePolicy({
  name: 'request-validation',
  description:
    'Validates requests against an OpenAPI 3.0/3.1 document: documented endpoints only, parameters, bodies (JSON, forms, multipart), content types; optionally responses.',
  schema: RequestValidationSchema,
  priority: 50,
  create(config, deps) {
    const spec = compiled(config.spec as unknown as OpenApiDoc, {
      basePath: config.basePath ?? '',
      responses: config.responses?.validate ?? false,
    });
    const v = settings(config, deps, spec);
    const handlers: PolicyHandlers = {
      validate: async function requestValidation(ctx: PolicyContext) {
        return validateRequest(v, ctx);
      },
    };
    if (config.responses?.validate)
      handlers.response = function responseValidation(ctx: PolicyContext) {
        return validateResponse(v, ctx);
      };
    return handlers;
  },
});
