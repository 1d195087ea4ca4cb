import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorBody, ERRORS, type ErrorCode } from '../core/errors.js';

export class AdminError extends Error {
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly extra?: Record<string, unknown>,
  ) {
    super(message ?? ERRORS[code].message);
  }
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
  });
  res.end(body);
}

export function sendAdminError(res: ServerResponse, err: AdminError, requestId: string): void {
  const base = JSON.parse(errorBody(err.code, requestId, err.message));
  Object.assign(base.error, err.extra ?? {});
  sendJson(res, ERRORS[err.code].status, base);
}

/** Reads a request body up to a cap; refuses larger ones without buffering them. */
export async function readBody(req: IncomingMessage, max: number): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > max) throw new AdminError('PCS_ERR_ADMIN_PAYLOAD_TOO_LARGE');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) throw new AdminError('PCS_ERR_ADMIN_PAYLOAD_TOO_LARGE');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function readJson(req: IncomingMessage, max: number): Promise<unknown> {
  const text = await readBody(req, max);
  try {
    return JSON.parse(text);
  } catch {
    throw new AdminError('PCS_ERR_ADMIN_BAD_INPUT', 'body is not valid JSON');
  }
}
