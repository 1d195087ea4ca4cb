import type { PolicyContext } from '../../core/context.js';
import type { Outcome } from '../../core/policy.js';
import { type Problem, problems } from '../../openapi/ajv.js';
import { bodyKind, mediaType, parseForm, parseMultipart, pickMedia } from '../../openapi/body.js';
import type { CompiledOperation } from '../../openapi/compile.js';
import { parseCookies, parseQuery, readParam, REPEATED } from '../../openapi/params.js';
import { mode, type Validation } from './settings.js';

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
 * The request check: the documented operation (or the undocumented answer), then its query,
 * parameters and body; every problem found, up to `maxErrors`, in one rejection.
 */
export async function validateRequest(v: Validation, ctx: PolicyContext): Promise<Outcome> {
  const r = ctx.request;
  const found = findOperation(v, ctx);
  if (!found) return undocumented(v, ctx);
  const { op } = found;
  ctx.state.set(v.stateKey, op);
  const out: Problem[] = [];
  const query = r.rawQuery ? parseQuery(r.rawQuery) : EMPTY;
  if (v.rejectUnknownQuery)
    for (const key of query.keys())
      if (!op.knownQuery(key)) out.push({ location: `query.${clean(key)}`, message: 'is not documented' });
  if (op.params.length) checkParams(v, ctx, op, found.params, query, out);
  if ((await checkBody(v, ctx, op, out)) === 'unsupported') {
    v.invalid.inc({ kind: 'media_type', mode: mode(ctx) });
    const type = mediaType(r.headers['content-type']) ?? '(none)';
    return ctx.reject('PCS_ERR_UNSUPPORTED_MEDIA_TYPE', {
      rule: `${op.id}:media`,
      detail: `${op.id}: content-type ${type.slice(0, 100)} not documented`,
    });
  }
  if (out.length === 0) return undefined;
  v.invalid.inc({ kind: 'request', mode: mode(ctx) });
  const shown = out.slice(0, v.maxErrors);
  const text = summary(shown, out.length);
  return ctx.reject('PCS_ERR_REQUEST_INVALID', {
    rule: `${op.id}:${[...new Set(shown.map((p) => p.location.split('.')[0]))].join(',')}`,
    detail: `${op.id}: ${text}`,
    message: `Request does not match the API schema: ${text}`,
  });
}

function findOperation(
  v: Validation,
  ctx: PolicyContext,
): { op: CompiledOperation; params: Record<string, string> } | undefined {
  const m = v.spec.matcher.match(ctx.request.path);
  if (!m) return undefined;
  const method = ctx.request.method;
  const op = m.value.get(method) ?? (method === 'HEAD' ? m.value.get('GET') : undefined);
  return op ? { op, params: m.params } : undefined;
}

/** A request the document does not describe: an event and a count; refused unless allowed. */
function undocumented(v: Validation, ctx: PolicyContext): Outcome {
  const r = ctx.request;
  const what = `${r.method} ${r.path.slice(0, 200)}`;
  v.events.emit({
    type: 'openapi.undocumented',
    subject: r.clientIp,
    policy: 'request-validation',
    route: r.route,
    requestId: ctx.requestId,
    detail: {
      method: r.method,
      path: r.path.slice(0, 200),
      enforced: ctx.acting && v.rejectUndocumented,
    },
  });
  v.invalid.inc({ kind: 'undocumented', mode: mode(ctx) });
  if (!v.rejectUndocumented) return ctx.allow('undocumented');
  return ctx.reject('PCS_ERR_UNDOCUMENTED_ENDPOINT', { rule: 'undocumented', detail: what });
}

/** Path, query, header and cookie parameters, read by their style and validated together. */
function checkParams(
  v: Validation,
  ctx: PolicyContext,
  op: CompiledOperation,
  pathParams: Record<string, string>,
  query: ReadonlyMap<string, string[]>,
  out: Problem[],
): void {
  const h = ctx.request.headers;
  const raw = { pathParams, query, headers: h, cookies: parseCookies(h.cookie) };
  const values: Record<string, Record<string, unknown>> = {};
  for (const l of LOCATIONS) values[l] = {};
  for (const d of op.params) {
    const value = readParam(d, raw);
    if (value === REPEATED) out.push({ location: `${d.in}.${d.name}`, message: 'is given more than once' });
    else if (value !== undefined) values[d.in][d.name] = value;
  }
  if (op.validateParams && !op.validateParams(values))
    out.push(...problems(op.validateParams.errors, v.maxErrors + 1));
}

/** The body against the operation's media types; 'unsupported' for an undocumented content type. */
async function checkBody(
  v: Validation,
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
  if (!v.validateBody || !media.validate) return undefined;
  const value = await readBody(ctx, type, out);
  if (value === NONE) return undefined;
  if (!media.validate(value))
    for (const p of problems(media.validate.errors, v.maxErrors + 1))
      out.push({ location: p.location === 'body' ? 'body' : `body.${p.location}`, message: p.message });
  return undefined;
}

/** No body value to validate: it did not parse (a problem was noted) or its kind is not validated. */
const NONE = Symbol('no body value');

/** The body, parsed by its media type's kind. */
async function readBody(ctx: PolicyContext, type: string, out: Problem[]): Promise<unknown> {
  const raw = await ctx.readBody();
  const kind = bodyKind(type);
  if (kind === 'json') {
    try {
      return JSON.parse(raw.toString('utf8'));
    } catch {
      out.push({ location: 'body', message: 'is not valid JSON' });
      return NONE;
    }
  }
  if (kind === 'form') return parseForm(raw.toString('utf8'));
  if (kind === 'multipart') {
    const value = parseMultipart(raw, String(ctx.request.headers['content-type']));
    if (value === undefined) out.push({ location: 'body', message: 'is not valid multipart/form-data' });
    return value === undefined ? NONE : value;
  }
  if (kind === 'text') return raw.toString('utf8');
  return NONE;
}
