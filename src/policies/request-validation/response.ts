import type { PolicyContext, ResponseView } from '../../core/context.js';
import type { Outcome } from '../../core/policy.js';
import { problems } from '../../openapi/ajv.js';
import { mediaType, pickMedia } from '../../openapi/body.js';
import { type CompiledOperation, type CompiledResponse, responseFor } from '../../openapi/compile.js';
import { mode, type Validation } from './settings.js';

const typeOf = (ct: string | string[] | undefined) => mediaType(Array.isArray(ct) ? ct[0] : ct);

/**
 * The response check: status, content type and required headers against the operation's
 * documented responses, recorded (or refused with `block`); the JSON body is checked once it went out.
 */
export function validateResponse(v: Validation, ctx: PolicyContext): Outcome {
  const op = ctx.state.get(v.stateKey) as CompiledOperation | undefined;
  const res = ctx.response;
  if (!op || !res) return undefined;
  const doc = responseFor(op, res.status);
  const issues = responseIssues(doc, res);
  if (v.checkBodies && doc && res.status !== 204 && res.status !== 304 && !res.headers['content-encoding'])
    watchBody(v, ctx, op, doc, res);
  if (!issues.length) return undefined;
  v.invalid.inc({ kind: 'response', mode: mode(ctx) });
  v.events.emit({
    type: 'openapi.response_mismatch',
    policy: 'request-validation',
    route: ctx.request.route,
    requestId: ctx.requestId,
    detail: { operation: op.id, status: res.status, issues },
  });
  const rule = `${op.id}:response`;
  if (!v.block) return ctx.allow(`${rule}-mismatch`);
  return ctx.reject('PCS_ERR_RESPONSE_INVALID', { rule, detail: `${op.id}: ${issues.join('; ')}` });
}

function responseIssues(doc: CompiledResponse | undefined, res: ResponseView): string[] {
  const issues: string[] = [];
  if (!doc) {
    issues.push(`status ${res.status} not documented`);
    return issues;
  }
  const type = typeOf(res.headers['content-type']);
  if (doc.content.size && res.status !== 204 && res.status !== 304) {
    if (!type || !pickMedia(doc.content, type))
      issues.push(`content-type ${type?.slice(0, 60) ?? '(none)'} not documented`);
  }
  for (const name of doc.requiredHeaders)
    if (res.headers[name] === undefined) issues.push(`header ${name} missing`);
  return issues;
}

/** Checks a JSON body against its schema after it was sent (up to `maxResponseBytes`). */
function watchBody(
  v: Validation,
  ctx: PolicyContext,
  op: CompiledOperation,
  doc: CompiledResponse,
  res: ResponseView,
): void {
  const media = pickMedia(doc.content, typeOf(res.headers['content-type']) ?? '');
  const validate = media?.kind === 'json' ? media.validate : undefined;
  if (!validate) return;
  const m = mode(ctx);
  const requestId = ctx.requestId;
  ctx.observeResponseBody(v.maxResponseBytes, (body, truncated) => {
    if (truncated) {
      v.invalid.inc({ kind: 'response-body-skipped', mode: m });
      return undefined;
    }
    let value: unknown;
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch {
      return bodyMismatch(v, ctx, op, res.status, ['body is not valid JSON'], m, requestId);
    }
    if (validate(value)) return undefined;
    const found = problems(validate.errors, 10).map((p) => `${p.location}: ${p.message}`);
    return bodyMismatch(v, ctx, op, res.status, found, m, requestId);
  });
}

function bodyMismatch(
  v: Validation,
  ctx: PolicyContext,
  op: CompiledOperation,
  status: number,
  found: string[],
  m: string,
  requestId: string,
): Outcome {
  v.invalid.inc({ kind: 'response-body', mode: m });
  v.events.emit({
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
}
