import { createHash } from 'node:crypto';
import type { PolicyContext } from '../../core/context.js';
import { definePolicy } from '../../core/policy.js';
import { type Problem, problems } from '../../openapi/ajv.js';
import { bodyKind, mediaType, parseForm, parseMultipart, pickMedia } from '../../openapi/body.js';
import {
  type CompiledOperation,
  type CompiledSpec,
  type CompileOptions,
  compileSpec,
  responseFor,
} from '../../openapi/compile.js';
import { parseCookies, parseQuery, readParam, REPEATED } from '../../openapi/params.js';
import type { OpenApiDoc } from '../../openapi/spec.js';
import { RequestValidationSchema } from './schema.js';

const LOCATIONS = ['path', 'query', 'header', 'cookie'] as const;
const EMPTY: ReadonlyMap<string, string[]> = new Map();
const clean = (s: string) => s.replace(/[^\x20-\x7e]/g, '?').slice(0, 64);

function hasBody(h: PolicyContext['request']['headers']): boolean {
  const cl = h['content-length'];
  if (cl !== undefined) return cl !== '0';
  return h['transfer-encoding'] !== undefined;
}

/** `query.limit must be <= 100; body.role is not allowed (and 2 more)`: bounded, no values. */
function summary(list: Problem[], total: number): string {
  const text = list.map((p) => `${p.location} ${p.message}`).join('; ');
  return total > list.length ? `${text} (and ${total - list.length} more)` : text;
}

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
    const maxErrors = config.maxErrors ?? 5;
    const rejectUndocumented = (config.undocumented ?? 'reject') === 'reject';
    const validateBody = config.validateBody ?? true;
    const rejectUnknownQuery = config.unknownQuery === 'reject';
    const block = config.responses?.block ?? false;
    const checkBodies = config.responses?.bodies ?? true;
    const maxResponseBytes = config.responses?.maxBodyBytes ?? 1_048_576;
    const bodyMismatch = (
      ctx: PolicyContext,
      op: CompiledOperation,
      status: number,
      found: string[],
      m: string,
      requestId: string,
    ) => {
      invalid.inc({ kind: 'response-body', mode: m });
      deps.events.emit({
        type: 'openapi.response_mismatch',
        policy: 'request-validation',
        route: ctx.request.route,
        requestId,
        detail: { operation: op.id, status, body: found },
      });
      return ctx.reject('PCS_ERR_RESPONSE_INVALID', {
        rule: `${op.id}:response-body`,
        detail: `${op.id}: ${found.join('; ')}`,
      });
    };
    const stateKey = `request-validation#${deps.instance?.id ?? 'request-validation'}@${deps.instance?.scope ?? ''}`;
    const invalid = deps.metrics.counter(
      'portcullis_request_validation_failures_total',
      'Requests or responses that broke the OpenAPI document, by kind',
      ['kind', 'mode'],
    );
    const mode = (ctx: PolicyContext) => (ctx.acting ? 'enforce' : 'shadow');

    function find(ctx: PolicyContext): { op: CompiledOperation; params: Record<string, string> } | undefined {
      const m = spec.matcher.match(ctx.request.path);
      if (!m) return undefined;
      const method = ctx.request.method;
      const op = m.value.get(method) ?? (method === 'HEAD' ? m.value.get('GET') : undefined);
      return op ? { op, params: m.params } : undefined;
    }

    async function checkBody(
      ctx: PolicyContext,
      op: CompiledOperation,
      out: Problem[],
    ): Promise<'unsupported' | undefined> {
      const h = ctx.request.headers;
      const present = hasBody(h);
      if (!op.body) {
        if (present) out.push({ location: 'body', message: 'is not accepted by this operation' });
        return undefined;
      }
      if (!present) {
        if (op.body.required) out.push({ location: 'body', message: 'is required' });
        return undefined;
      }
      const type = mediaType(h['content-type']);
      const media = type ? pickMedia(op.body.content, type) : undefined;
      if (!type || !media) return 'unsupported';
      if (!validateBody || !media.validate) return undefined;
      const raw = await ctx.readBody();
      const kind = bodyKind(type);
      let value: unknown;
      if (kind === 'json') {
        try {
          value = JSON.parse(raw.toString('utf8'));
        } catch {
          out.push({ location: 'body', message: 'is not valid JSON' });
          return undefined;
        }
      } else if (kind === 'form') value = parseForm(raw.toString('utf8'));
      else if (kind === 'multipart') {
        value = parseMultipart(raw, String(h['content-type']));
        if (value === undefined) {
          out.push({ location: 'body', message: 'is not valid multipart/form-data' });
          return undefined;
        }
      } else if (kind === 'text') value = raw.toString('utf8');
      else return undefined;
      if (!media.validate(value))
        for (const p of problems(media.validate.errors, maxErrors + 1))
          out.push({ location: p.location === 'body' ? 'body' : `body.${p.location}`, message: p.message });
      return undefined;
    }

    return {
      validate: async function requestValidation(ctx: PolicyContext) {
        const r = ctx.request;
        const found = find(ctx);
        if (!found) {
          const what = `${r.method} ${r.path.slice(0, 200)}`;
          deps.events.emit({
            type: 'openapi.undocumented',
            subject: r.clientIp,
            policy: 'request-validation',
            route: r.route,
            requestId: ctx.requestId,
            detail: {
              method: r.method,
              path: r.path.slice(0, 200),
              enforced: ctx.acting && rejectUndocumented,
            },
          });
          invalid.inc({ kind: 'undocumented', mode: mode(ctx) });
          if (!rejectUndocumented) return ctx.allow('undocumented');
          return ctx.reject('PCS_ERR_UNDOCUMENTED_ENDPOINT', { rule: 'undocumented', detail: what });
        }
        const { op } = found;
        ctx.state.set(stateKey, op);
        const out: Problem[] = [];
        const query = r.rawQuery ? parseQuery(r.rawQuery) : EMPTY;
        if (rejectUnknownQuery)
          for (const key of query.keys())
            if (!op.knownQuery(key))
              out.push({ location: `query.${clean(key)}`, message: 'is not documented' });
        if (op.params.length) {
          const raw = {
            pathParams: found.params,
            query,
            headers: r.headers,
            cookies: parseCookies(r.headers.cookie),
          };
          const values: Record<string, Record<string, unknown>> = {};
          for (const l of LOCATIONS) values[l] = {};
          for (const d of op.params) {
            const v = readParam(d, raw);
            if (v === REPEATED)
              out.push({ location: `${d.in}.${d.name}`, message: 'is given more than once' });
            else if (v !== undefined) values[d.in][d.name] = v;
          }
          if (op.validateParams && !op.validateParams(values))
            out.push(...problems(op.validateParams.errors, maxErrors + 1));
        }
        if ((await checkBody(ctx, op, out)) === 'unsupported') {
          invalid.inc({ kind: 'media_type', mode: mode(ctx) });
          const type = mediaType(r.headers['content-type']) ?? '(none)';
          return ctx.reject('PCS_ERR_UNSUPPORTED_MEDIA_TYPE', {
            rule: `${op.id}:media`,
            detail: `${op.id}: content-type ${type.slice(0, 100)} not documented`,
          });
        }
        if (out.length === 0) return undefined;
        invalid.inc({ kind: 'request', mode: mode(ctx) });
        const shown = out.slice(0, maxErrors);
        const text = summary(shown, out.length);
        return ctx.reject('PCS_ERR_REQUEST_INVALID', {
          rule: `${op.id}:${[...new Set(shown.map((p) => p.location.split('.')[0]))].join(',')}`,
          detail: `${op.id}: ${text}`,
          message: `Request does not match the API schema: ${text}`,
        });
      },
      ...(config.responses?.validate
        ? {
            response: function responseValidation(ctx: PolicyContext) {
              const op = ctx.state.get(stateKey) as CompiledOperation | undefined;
              const res = ctx.response;
              if (!op || !res) return undefined;
              const issues: string[] = [];
              const doc = responseFor(op, res.status);
              if (!doc) issues.push(`status ${res.status} not documented`);
              else {
                const ct = res.headers['content-type'];
                const type = mediaType(Array.isArray(ct) ? ct[0] : ct);
                if (doc.content.size && res.status !== 204 && res.status !== 304) {
                  if (!type || !pickMedia(doc.content, type))
                    issues.push(`content-type ${type?.slice(0, 60) ?? '(none)'} not documented`);
                }
                for (const name of doc.requiredHeaders)
                  if (res.headers[name] === undefined) issues.push(`header ${name} missing`);
              }
              if (
                checkBodies &&
                doc &&
                res.status !== 204 &&
                res.status !== 304 &&
                !res.headers['content-encoding']
              ) {
                const ct = res.headers['content-type'];
                const media = pickMedia(doc.content, mediaType(Array.isArray(ct) ? ct[0] : ct) ?? '');
                const validate = media?.kind === 'json' ? media.validate : undefined;
                if (validate) {
                  const m = mode(ctx);
                  const requestId = ctx.requestId;
                  ctx.observeResponseBody(maxResponseBytes, (body, truncated) => {
                    if (truncated) {
                      invalid.inc({ kind: 'response-body-skipped', mode: m });
                      return undefined;
                    }
                    let value: unknown;
                    try {
                      value = JSON.parse(body.toString('utf8'));
                    } catch {
                      return bodyMismatch(ctx, op, res.status, ['body is not valid JSON'], m, requestId);
                    }
                    if (validate(value)) return undefined;
                    const found = problems(validate.errors, 10).map((p) => `${p.location}: ${p.message}`);
                    return bodyMismatch(ctx, op, res.status, found, m, requestId);
                  });
                }
              }
              if (!issues.length) return undefined;
              invalid.inc({ kind: 'response', mode: mode(ctx) });
              deps.events.emit({
                type: 'openapi.response_mismatch',
                policy: 'request-validation',
                route: ctx.request.route,
                requestId: ctx.requestId,
                detail: { operation: op.id, status: res.status, issues },
              });
              const rule = `${op.id}:response`;
              if (!block) return ctx.allow(`${rule}-mismatch`);
              return ctx.reject('PCS_ERR_RESPONSE_INVALID', {
                rule,
                detail: `${op.id}: ${issues.join('; ')}`,
              });
            },
          }
        : {}),
    };
  },
});
