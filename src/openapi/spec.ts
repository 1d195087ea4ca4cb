import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import $RefParser from '@apidevtools/json-schema-ref-parser';
import { parse as parseYaml } from 'yaml';

/** The parts of an OpenAPI 3.0 / 3.1 document the gateway reads. Everything else is kept as is. */
export interface OpenApiDoc {
  openapi: string;
  info?: { title?: string; version?: string };
  servers?: { url: string }[];
  paths?: Record<string, PathItem | undefined>;
  components?: Record<string, Record<string, unknown> | undefined>;
  [k: string]: unknown;
}

export type PathItem = Record<string, unknown> & { parameters?: unknown[] };

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** `3.0` or `3.1`; anything else (Swagger 2.0, 4.x) is refused. */
export function specVersion(doc: unknown): '3.0' | '3.1' {
  const v = (doc as { openapi?: unknown })?.openapi;
  if (typeof v !== 'string') {
    const swagger = (doc as { swagger?: unknown })?.swagger;
    throw new Error(
      swagger
        ? `Swagger ${String(swagger)} is not supported: convert it to OpenAPI 3 first`
        : 'not an OpenAPI document: no `openapi` field',
    );
  }
  if (/^3\.0\.\d+/.test(v)) return '3.0';
  if (/^3\.1\.\d+/.test(v)) return '3.1';
  throw new Error(`OpenAPI ${v} is not supported (3.0.x and 3.1.x are)`);
}

/**
 * Reads an OpenAPI document (JSON or YAML) and bundles it: `$ref`s to other local files are
 * resolved (relative to the file) and pulled into the document, so the result is one
 * self-contained object whose remaining `$ref`s are internal (`#/components/...`). Remote
 * (`http:`) references are not fetched.
 */
export async function loadSpec(file: string): Promise<OpenApiDoc> {
  const path = resolve(file);
  const text = readFileSync(path, 'utf8');
  const parsed = parseYaml(text, { maxAliasCount: 100 }) as unknown;
  specVersion(parsed);
  const bundled = (await $RefParser.bundle(
    path,
    parsed as object,
    {
      resolve: { http: false, external: true },
    } as never,
  )) as unknown as OpenApiDoc;
  return bundled;
}

/** Every operation of the document: path template, lower-case method, operation and path item. */
export function operations(
  doc: OpenApiDoc,
): { path: string; method: string; op: Record<string, unknown>; item: PathItem }[] {
  const out: { path: string; method: string; op: Record<string, unknown>; item: PathItem }[] = [];
  for (const [path, item0] of Object.entries(doc.paths ?? {})) {
    const item = resolveRef(doc, item0) as PathItem | undefined;
    if (!item || typeof item !== 'object') continue;
    for (const m of HTTP_METHODS) {
      const op = item[m];
      if (op && typeof op === 'object')
        out.push({ path, method: m, op: op as Record<string, unknown>, item });
    }
  }
  return out;
}

/** Follows an internal `$ref` (`#/components/parameters/Limit`), at most a few hops. */
export function resolveRef<T = unknown>(doc: OpenApiDoc, v: unknown): T {
  let cur = v;
  for (let i = 0; i < 10; i++) {
    const ref = (cur as { $ref?: unknown })?.$ref;
    if (typeof ref !== 'string' || !ref.startsWith('#/')) return cur as T;
    cur = pointer(doc, ref.slice(1));
  }
  return cur as T;
}

export function pointer(doc: unknown, ptr: string): unknown {
  let cur = doc;
  for (const raw of ptr.split('/').slice(1)) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}
