import { Ajv, type ErrorObject, type Options } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { linearRegExp } from '../regex/ajv.js';
import type { OpenApiDoc } from './spec.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv | Ajv2020) => Ajv;

export type Purpose = 'params' | 'body' | 'form' | 'response';

/** The id under which a policy's spec is registered in its Ajv instances; `$ref`s are rewritten to it. */
export const DOC_ID = 'http://portcullis.invalid/openapi.json';

const BYTE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * One Ajv instance per purpose and policy instance, with the conventions of src/config/ajv.ts
 * (all errors, non-strict, ajv-formats, `pattern` on RE2). Parameters and form fields are text on the wire, so
 * their instance coerces (`"5"` → 5, `"a"` → `["a"]`); JSON bodies and responses are not coerced.
 * In requests a `readOnly` property is refused (mass assignment); in responses a `writeOnly`
 * property is reported (a leak). Instances are created per revision so old specs are not kept.
 */
export function openApiAjv(version: '3.0' | '3.1', purpose: Purpose, doc: OpenApiDoc): Ajv {
  const opts: Options = {
    allErrors: true,
    strict: false,
    useDefaults: false,
    coerceTypes: purpose === 'params' || purpose === 'form' ? 'array' : false,
    validateFormats: true,
    // The document's `pattern`s run on every request: on RE2, in linear time.
    code: { regExp: linearRegExp },
  };
  const ajv = (version === '3.1' ? new Ajv2020(opts) : new Ajv(opts)) as Ajv;
  addFormats(ajv);
  ajv.addFormat('int32', {
    type: 'number',
    validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31,
  });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  ajv.addFormat('float', { type: 'number', validate: () => true });
  ajv.addFormat('double', { type: 'number', validate: () => true });
  ajv.addFormat('byte', BYTE);
  ajv.addFormat('binary', () => true);
  ajv.addFormat('password', () => true);
  const forbidden = purpose === 'response' ? 'writeOnly' : purpose === 'params' ? undefined : 'readOnly';
  if (forbidden) {
    ajv.removeKeyword(forbidden);
    ajv.addKeyword({ keyword: forbidden, schemaType: 'boolean', validate: (flag: boolean) => !flag });
  }
  ajv.addSchema(prepare(doc, version, purpose) as object, DOC_ID);
  return ajv;
}

/**
 * A copy of the document Ajv can compile: OpenAPI 3.0 `nullable` and boolean
 * `exclusiveMinimum`/`exclusiveMaximum` become JSON Schema, internal `$ref`s point at DOC_ID, and
 * properties that are `readOnly` (requests) or `writeOnly` (responses) leave `required`.
 */
export function prepare(doc: unknown, version: '3.0' | '3.1', purpose: Purpose): unknown {
  const skip = purpose === 'response' ? 'writeOnly' : 'readOnly';
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (!v || typeof v !== 'object') return v;
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = walk(x);
    if (typeof o.$ref === 'string' && o.$ref.startsWith('#')) o.$ref = `${DOC_ID}${o.$ref}`;
    if (Array.isArray(o.required) && o.properties && typeof o.properties === 'object') {
      const props = o.properties as Record<string, Record<string, unknown>>;
      o.required = (o.required as string[]).filter((n) => !props[n]?.[skip]);
    }
    if (version === '3.0') {
      for (const [ex, bound] of [
        ['exclusiveMinimum', 'minimum'],
        ['exclusiveMaximum', 'maximum'],
      ] as const) {
        if (typeof o[ex] === 'boolean') {
          if (o[ex] && typeof o[bound] === 'number') {
            o[ex] = o[bound];
            delete o[bound];
          } else delete o[ex];
        }
      }
      if (o.nullable === true) {
        delete o.nullable;
        if (typeof o.type === 'string') {
          o.type = [o.type, 'null'];
          if (Array.isArray(o.enum) && !o.enum.includes(null)) o.enum = [...o.enum, null];
        } else return { anyOf: [o, { type: 'null' }] };
      } else if (o.nullable === false) delete o.nullable;
    }
    return o;
  };
  return walk(doc);
}

/** A schema of the document, with its `$ref`s pointing into the registered document. */
export function localSchema(
  schema: unknown,
  version: '3.0' | '3.1',
  purpose: Purpose,
): Record<string, unknown> {
  if (schema === undefined || schema === true) return {};
  return prepare(schema, version, purpose) as Record<string, unknown>;
}

export interface Problem {
  /** `query.limit`, `body.user.email`, `header.x-trace`. */
  location: string;
  message: string;
}

const clean = (s: string) => s.replace(/[^\x20-\x7e]/g, '?').slice(0, 64);

/** Ajv errors as short, safe problems: locations and rule names, never the values sent. */
export function problems(errors: ErrorObject[] | null | undefined, max: number): Problem[] {
  const out: Problem[] = [];
  const seen = new Set<string>();
  for (const e of errors ?? []) {
    const path = e.instancePath
      .split('/')
      .slice(1)
      .map((p) => clean(p.replace(/~1/g, '/').replace(/~0/g, '~')));
    let message: string;
    switch (e.keyword) {
      case 'additionalProperties':
        path.push(clean((e.params as { additionalProperty: string }).additionalProperty));
        message = 'is not allowed';
        break;
      case 'required':
        path.push(clean((e.params as { missingProperty: string }).missingProperty));
        message = 'is required';
        break;
      case 'readOnly':
        message = 'is read-only';
        break;
      case 'writeOnly':
        message = 'is write-only';
        break;
      case 'enum':
        message = 'must be one of the allowed values';
        break;
      case 'pattern':
        message = 'does not match the pattern';
        break;
      case 'if':
      case 'anyOf':
      case 'oneOf':
        message = `does not match the schema (${e.keyword})`;
        break;
      default:
        message = (e.message ?? 'is invalid').slice(0, 80);
    }
    const location = path.join('.') || 'body';
    const key = `${location}\0${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ location, message });
    if (out.length >= max) break;
  }
  return out;
}
