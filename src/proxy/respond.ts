import type { ServerResponse } from 'node:http';
import type { CompiledRoute } from '../runtime/compile.js';
import type { PolicyContext } from '../core/context.js';
import { errorBody } from '../core/errors.js';
import type { Rejection, ShortCircuit } from '../core/policy.js';
import type { Exchange } from './exchange.js';
import type { HeaderMap } from './headers.js';

/** The one place answers the gateway makes itself are sent from. */
export class Responder {
  /** Sends a rejection as the standard JSON error. The client is told little; the log, the cause. */
  error(x: Exchange, res: ServerResponse, rej: Rejection, close = false): void {
    x.code = rej.code;
    if (rej.detail) x.detail = rej.detail;
    x.status = rej.status;
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    const id = x.ctx?.requestId ?? x.id;
    const body = errorBody(rej.code, id, rej.message);
    const headers: Record<string, string> = {
      ...x.ctx?.responseHeaders,
      ...rej.headers,
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'cache-control': 'no-store',
    };
    if (x.ctx?.echoRequestId !== false) headers['x-request-id'] = id;
    if (close) headers.connection = 'close';
    res.writeHead(rej.status, headers);
    res.end(body);
  }

  shortCircuit(x: Exchange, res: ServerResponse, ctx: PolicyContext, out: ShortCircuit): void {
    x.status = out.status;
    if (res.headersSent || res.destroyed) return;
    const headers: Record<string, string> = {
      ...ctx.responseHeaders,
      ...out.headers,
      'content-length': String(Buffer.byteLength(out.body)),
    };
    if (ctx.echoRequestId) headers['x-request-id'] = ctx.requestId;
    res.writeHead(out.status, headers);
    res.end(out.body);
  }

  /** Headers the gateway adds to an upstream's answer. */
  decorate(ctx: PolicyContext, route: CompiledRoute, headers: HeaderMap): void {
    for (const k in ctx.responseHeaders) {
      const v = ctx.responseHeaders[k];
      // A policy's Vary (cors: Origin) joins the upstream's instead of replacing it.
      headers[k] = k === 'vary' && headers.vary !== undefined ? mergeVary(headers.vary, v) : v;
    }
    if (ctx.echoRequestId) headers['x-request-id'] = ctx.requestId;
    if (route.def.lifecycle === 'deprecated') headers.deprecation = 'true';
  }
}

/** The union of two Vary values, first-seen order, case-insensitive; `*` absorbs everything. */
export function mergeVary(a: string | string[], b: string): string {
  const seen = new Map<string, string>();
  for (const t of [a, b].flat().join(',').split(',')) {
    const v = t.trim();
    if (v && !seen.has(v.toLowerCase())) seen.set(v.toLowerCase(), v);
  }
  return seen.has('*') ? '*' : [...seen.values()].join(', ');
}
