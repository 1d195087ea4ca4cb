import type { IncomingMessage } from 'node:http';
import type { CompiledRevision } from '../runtime/compile.js';
import type { ErrorCode } from '../core/errors.js';

export interface EdgeRefusal {
  code: ErrorCode;
  detail: string;
}

/**
 * What the parser lets through but the gateway refuses, checked before routing: too many header
 * fields (Node cuts them silently at `maxHeadersCount`, set one above the limit so that we see
 * the excess), a second Host (RFC 9112 §3.2: 400), TRACE unless allowed, and a body on
 * GET/HEAD when `bodyOnGet` is `refuse`. One pass over the raw header names.
 */
export function edgeRefusal(req: IncomingMessage, rev: CompiledRevision): EdgeRefusal | undefined {
  const raw = req.rawHeaders;
  if (raw.length > 2 * rev.maxHeaders)
    return { code: 'PCS_ERR_TOO_MANY_HEADERS', detail: `more than ${rev.maxHeaders} header fields` };
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i];
    if (n.length === 4 && n.toLowerCase() === 'host') hosts++;
  }
  if (hosts > 1) return { code: 'PCS_ERR_BAD_REQUEST', detail: `Host header sent ${hosts} times` };
  const method = req.method;
  // TRACK (IIS's TRACE) never gets here: Node's parser refuses methods it does not know.
  if (method === 'TRACE' && !rev.allowTrace)
    return { code: 'PCS_ERR_METHOD_NOT_ALLOWED', detail: `${method} refused (gateway.allowTrace is off)` };
  if ((method === 'GET' || method === 'HEAD') && rev.bodyOnGet === 'refuse' && carriesBody(req))
    return { code: 'PCS_ERR_BODY_NOT_ALLOWED', detail: `${method} with a body` };
  return undefined;
}

/** A declared body: Content-Length above 0, or any Transfer-Encoding. */
export function carriesBody(req: IncomingMessage): boolean {
  const cl = req.headers['content-length'];
  if (cl !== undefined) return Number(cl) > 0;
  return req.headers['transfer-encoding'] !== undefined;
}
