import type { ServerResponse } from 'node:http';
import type { ErrorCode } from '../core/errors.js';
import type { Exchange } from '../proxy/exchange.js';
import type { AiFailure } from './protocols/types.js';

/**
 * AI endpoints answer errors the way the official clients expect: OpenAI's
 * `{ error: { message, type, param, code } }` or Anthropic's `{ type: 'error', error: { type,
 * message } }`, always JSON, with the gateway's code in the access log.
 */
export type Format = 'openai' | 'anthropic';

export interface AiError extends AiFailure {
  pcs: ErrorCode;
}

export function aiError(
  pcs: ErrorCode,
  status: number,
  type: string,
  code: string,
  message: string,
  headers?: Record<string, string>,
): AiError {
  return { pcs, status, type, code, message, headers };
}

const ANTHROPIC_TYPE: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  529: 'overloaded_error',
};

export function errorJson(format: Format, e: AiFailure): string {
  if (format === 'anthropic')
    return JSON.stringify({
      type: 'error',
      error: { type: ANTHROPIC_TYPE[e.status] ?? 'api_error', message: e.message },
    });
  return JSON.stringify({ error: { message: e.message, type: e.type, param: null, code: e.code } });
}

export function sendAiError(
  format: Format,
  x: Exchange,
  res: ServerResponse,
  e: AiError,
  requestId: string,
): void {
  x.code = e.pcs;
  x.status = e.status;
  if (!x.detail) x.detail = e.message;
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const body = errorJson(format, e);
  res.writeHead(e.status, {
    ...x.ctx?.responseHeaders,
    ...e.headers,
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    'x-request-id': requestId,
  });
  res.end(body);
  x.bytesOut = Buffer.byteLength(body);
}

export function sendJson(
  x: Exchange,
  res: ServerResponse,
  status: number,
  value: unknown,
  extra: Record<string, string> = {},
): void {
  const body = JSON.stringify(value);
  x.status = status;
  if (res.destroyed) return;
  res.writeHead(status, {
    ...x.ctx?.responseHeaders,
    ...extra,
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    'x-request-id': x.ctx?.requestId ?? x.id,
  });
  res.end(body);
  x.bytesOut = Buffer.byteLength(body);
}
