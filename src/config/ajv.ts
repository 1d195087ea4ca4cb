import type { TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { ConfigIssue } from '../core/errors.js';
import { linearRegExp } from '../regex/ajv.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/**
 * One Ajv for configs: all errors, defaults filled in, unknown keys refused by the schemas.
 * Schema `pattern`s run on RE2: users' schemas are compiled here too (ai-guard-output's
 * `jsonSchema`, run on every answer).
 */
export const ajv = addFormats(
  new Ajv({
    allErrors: true,
    useDefaults: true,
    strict: false,
    coerceTypes: false,
    code: { regExp: linearRegExp },
  }),
);

const cache = new WeakMap<TSchema, ValidateFunction>();

export function validator(schema: TSchema): ValidateFunction {
  let v = cache.get(schema);
  if (!v) {
    v = ajv.compile(schema);
    cache.set(schema, v);
  }
  return v;
}

/** Turns Ajv errors into one readable issue per problem, each with its JSON path. */
export function formatAjvErrors(errors: ErrorObject[] | null | undefined, prefix = ''): ConfigIssue[] {
  if (!errors) return [];
  const out: ConfigIssue[] = [];
  const seen = new Set<string>();
  // anyOf branches produce one error per branch; keep only the summary for their path.
  const anyOfPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  for (const e of errors) {
    if (e.keyword !== 'anyOf' && anyOfPaths.has(e.instancePath) && e.schemaPath.includes('anyOf')) continue;
    if (
      e.keyword !== 'anyOf' &&
      [...anyOfPaths].some((p) => e.instancePath.startsWith(`${p}/`) && e.schemaPath.includes('anyOf'))
    )
      continue;
    let path = prefix + e.instancePath;
    let message: string;
    switch (e.keyword) {
      case 'additionalProperties':
        path += `/${(e.params as { additionalProperty: string }).additionalProperty}`;
        message = 'unknown key';
        break;
      case 'required':
        path += `/${(e.params as { missingProperty: string }).missingProperty}`;
        message = 'is required';
        break;
      case 'enum':
        message = `must be one of: ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
        break;
      case 'anyOf':
        message = `does not match any allowed form${e.parentSchema?.description ? ` (${e.parentSchema.description})` : ''}`;
        break;
      default:
        message = e.message ?? 'is invalid';
    }
    const key = `${path}\0${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path: path || '/', message });
  }
  return out;
}
