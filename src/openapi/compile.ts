import type { Ajv, ValidateFunction } from 'ajv';
import { localSchema, openApiAjv, type Purpose } from './ajv.js';
import { type BodyKind, bodyKind } from './body.js';
import { PathMatcher } from './match.js';
import { type ParamDef, paramDef } from './params.js';
import { type OpenApiDoc, operations, resolveRef, specVersion } from './spec.js';

interface Compiler {
  compile(schema: object): ValidateFunction;
}

export interface CompiledMedia {
  type: string;
  kind: BodyKind;
  /** Absent when the media type has no schema or is not parsed (XML, binary). */
  validate?: ValidateFunction;
}

export interface CompiledResponse {
  content: Map<string, CompiledMedia>;
  /** Response headers the spec marks required, lower-case. */
  requiredHeaders: string[];
}

export interface CompiledOperation {
  method: string;
  template: string;
  /** `operationId`, or `GET /users/{id}`: names the rule in decisions. */
  id: string;
  params: ParamDef[];
  /** Whether a query key is documented (names, exploded object properties, `deepObject[...]`). */
  knownQuery(key: string): boolean;
  validateParams?: ValidateFunction;
  body?: { required: boolean; content: Map<string, CompiledMedia> };
  /** By status (`200`, `2XX`, `default`); only when response validation is on. */
  responses?: Map<string, CompiledResponse>;
}

export interface CompiledSpec {
  version: '3.0' | '3.1';
  matcher: PathMatcher<Map<string, CompiledOperation>>;
  operations: number;
}

export interface CompileOptions {
  /** Prefix of every path of the spec on the gateway (`/v1`). */
  basePath: string;
  responses: boolean;
}

/**
 * Compiles an OpenAPI document once: one parameter validator and one validator per request
 * (and, when asked, response) media type of each operation. Throws with the operation named when
 * a schema does not compile.
 */
export function compileSpec(doc: OpenApiDoc, opts: CompileOptions): CompiledSpec {
  const version = specVersion(doc);
  let ajv: Partial<Record<Purpose, Ajv>> = {};
  // Operations often share a schema (`$ref: '#/components/schemas/User'`, path-item
  // parameters): each distinct one is compiled once per purpose.
  let memo = new Map<string, ValidateFunction>();
  const get = (p: Purpose): Compiler => ({
    compile(schema: object) {
      const key = `${p}\0${JSON.stringify(schema)}`;
      let v = memo.get(key);
      if (!v) {
        ajv[p] ??= openApiAjv(version, p, doc);
        v = ajv[p].compile(schema);
        memo.set(key, v);
      }
      return v;
    },
  });
  const byPath = new Map<string, Map<string, CompiledOperation>>();
  let count = 0;
  for (const { path, method, op, item } of operations(doc)) {
    const id = typeof op.operationId === 'string' ? op.operationId : `${method.toUpperCase()} ${path}`;
    try {
      const compiled = compileOperation(doc, version, path, method, id, op, item, opts, get);
      const base = opts.basePath.replace(/\/$/, '');
      const key = base + path;
      let ops = byPath.get(key);
      if (!ops) {
        ops = new Map();
        byPath.set(key, ops);
      }
      ops.set(method.toUpperCase(), compiled);
      count++;
    } catch (err) {
      throw new Error(`operation ${id}: ${(err as Error).message}`);
    }
  }
  ajv = {};
  memo = new Map();
  return { version, matcher: new PathMatcher(byPath), operations: count };
}

function compileOperation(
  doc: OpenApiDoc,
  version: '3.0' | '3.1',
  template: string,
  method: string,
  id: string,
  op: Record<string, unknown>,
  item: Record<string, unknown>,
  opts: CompileOptions,
  ajv: (p: Purpose) => Compiler,
): CompiledOperation {
  // Operation parameters override path-item parameters of the same name and location.
  const merged = new Map<string, Record<string, unknown>>();
  for (const raw of [...((item.parameters as unknown[]) ?? []), ...((op.parameters as unknown[]) ?? [])]) {
    const p = resolveRef<Record<string, unknown>>(doc, raw);
    if (p && typeof p.name === 'string' && typeof p.in === 'string') merged.set(`${p.in}:${p.name}`, p);
  }
  const params: ParamDef[] = [];
  const groups: Record<string, { type: 'object'; properties: Record<string, unknown>; required: string[] }> =
    {};
  for (const p of merged.values()) {
    const content = p.content as Record<string, { schema?: unknown }> | undefined;
    const schema = (p.schema ?? (content ? Object.values(content)[0]?.schema : undefined)) as unknown;
    const resolved = resolveRef<Record<string, unknown> | undefined>(doc, schema);
    const d = paramDef(p, p.schema ? resolved : undefined);
    if (!p.schema && content) d.json = true;
    params.push(d);
    groups[d.in] ??= { type: 'object', properties: {}, required: [] };
    const g = groups[d.in];
    g.properties[d.name] = localSchema(schema, version, 'params');
    if (d.required) g.required.push(d.name);
  }
  const validateParams = params.length
    ? ajv('params').compile({ type: 'object', properties: groups })
    : undefined;

  let body: CompiledOperation['body'];
  const rb = resolveRef<Record<string, unknown> | undefined>(doc, op.requestBody);
  if (rb && typeof rb === 'object') {
    const content = new Map<string, CompiledMedia>();
    for (const [type, media] of Object.entries((rb.content as Record<string, { schema?: unknown }>) ?? {})) {
      const t = type.toLowerCase().split(';')[0].trim();
      const kind = bodyKind(t);
      const schema = media?.schema;
      let validate: ValidateFunction | undefined;
      if (
        schema !== undefined &&
        (kind === 'json' || kind === 'form' || kind === 'multipart' || kind === 'text')
      )
        validate = ajv(kind === 'json' || kind === 'text' ? 'body' : 'form').compile(
          localSchema(schema, version, 'body'),
        );
      content.set(t, { type: t, kind, validate });
    }
    body = { required: rb.required === true, content };
  }

  let responses: CompiledOperation['responses'];
  if (opts.responses) {
    responses = new Map();
    for (const [status, raw] of Object.entries((op.responses as Record<string, unknown>) ?? {})) {
      const r = resolveRef<Record<string, unknown> | undefined>(doc, raw);
      if (!r) continue;
      const content = new Map<string, CompiledMedia>();
      for (const [type, media] of Object.entries((r.content as Record<string, { schema?: unknown }>) ?? {})) {
        const t = type.toLowerCase().split(';')[0].trim();
        const kind = bodyKind(t);
        const validate =
          kind === 'json' && media?.schema !== undefined
            ? ajv('response').compile(localSchema(media.schema, version, 'response'))
            : undefined;
        content.set(t, { type: t, kind, validate });
      }
      const requiredHeaders = Object.entries((r.headers as Record<string, unknown>) ?? {})
        .filter(([, h]) => resolveRef<{ required?: boolean }>(doc, h)?.required === true)
        .map(([n]) => n.toLowerCase());
      responses.set(status.toUpperCase(), { content, requiredHeaders });
    }
  }
  const names = new Set<string>();
  const deep: string[] = [];
  for (const d of params) {
    if (d.in !== 'query') continue;
    names.add(d.name);
    if (d.style === 'deepObject') deep.push(`${d.name}[`);
    else if (d.shape === 'object' && d.explode) for (const p of d.props) names.add(p);
  }
  const knownQuery = (key: string) => names.has(key) || deep.some((p) => key.startsWith(p));
  return { method: method.toUpperCase(), template, id, params, knownQuery, validateParams, body, responses };
}

/** The documented response for a status: exact, then `2XX`, then `default`. */
export function responseFor(op: CompiledOperation, status: number): CompiledResponse | undefined {
  const r = op.responses;
  if (!r) return undefined;
  return r.get(String(status)) ?? r.get(`${String(status)[0]}XX`) ?? r.get('DEFAULT');
}
