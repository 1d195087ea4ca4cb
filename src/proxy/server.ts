import {
  createServer,
  type ServerOptions as HttpServerOptions,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as TlsServerOptions } from 'node:https';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { errorBody, ERRORS, type ErrorCode } from '../core/errors.js';
import type { AccessLog } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { createHandler, type HandlerDeps } from './handler.js';

export interface ServerLimits {
  /** Largest request head (request line and headers) in bytes; 431 beyond. */
  maxHeaderBytes: number;
  /** Time for the client to send the request head; 408 beyond. */
  headersTimeoutMs: number;
  /** Time for the client to send the whole request; 408 beyond. */
  requestTimeoutMs: number;
  /** Idle time of a kept-alive client connection. */
  keepAliveTimeoutMs: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
};

/** The data plane listener. Malformed HTTP never reaches the handler: it is answered here. */
export function createDataPlane(deps: HandlerDeps, limits: ServerLimits): Server {
  const handler = createHandler(deps);
  const server = createServer(
    serverOptions(limits),
    function dataPlane(req: IncomingMessage, res: ServerResponse) {
      // llhttp accepts HTTP/0.9 request lines ("GET /path" with no version); refuse them.
      if (req.httpVersionMajor !== 1) return refuseVersion(req, res, deps);
      if (deps.ready && !deps.ready()) return notReady(req, res, deps);
      handler(req, res);
    },
  );
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) =>
    clientError(err, socket, deps.metrics, deps.logger, deps.accessLog),
  );
  // Without a listener Node destroys a CONNECT's socket without a word or a log line.
  server.on('connect', (req: IncomingMessage, socket: Socket) => refuseConnect(req, socket, deps));
  // Node keeps only the first `maxHeadersCount` fields and drops the rest silently; let one more
  // than the schema's ceiling through so that the handler sees the excess and answers 431.
  server.maxHeadersCount = MAX_HEADERS_CEILING + 1;
  return server;
}

/** The schema's maximum for `gateway.limits.maxHeaders`. */
const MAX_HEADERS_CEILING = 10_000;

/** CONNECT asks for a tunnel: the gateway is no forward proxy. 405, logged and counted. */
function refuseConnect(req: IncomingMessage, socket: Socket, deps: HandlerDeps): void {
  const code: ErrorCode = 'PCS_ERR_METHOD_NOT_ALLOWED';
  const status = ERRORS[code].status;
  deps.metrics.clientErrors.labels('method').inc();
  deps.accessLog.info({
    method: req.method,
    path: req.url,
    status,
    error: code,
    detail: 'CONNECT refused: not a forward proxy',
    client_ip: req.socket.remoteAddress,
  });
  socket.on('error', () => undefined);
  writeRaw(socket, status, errorBody(code, ''));
}

/** A whole answer written straight to a socket (no ServerResponse exists), then closed. */
function writeRaw(socket: Socket, status: number, body: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(
    `HTTP/1.1 ${status} ${reason(status)}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

function serverOptions(limits: ServerLimits): HttpServerOptions {
  return {
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Node checks the two timeouts above only every `connectionsCheckingInterval` (30 s by
    // default), so a slow client would be cut off up to 30 s late. Check often enough.
    connectionsCheckingInterval: checkingInterval(limits),
    insecureHTTPParser: false,
  };
}

/**
 * The data plane over TLS (src/tls/listener.ts gives the settings): the same request and
 * client-error handlers as the plain listener, so both serve the same revisions; the handler
 * tells the two apart by the socket.
 */
export function createTlsDataPlane(plain: Server, limits: ServerLimits, tls: TlsServerOptions): Server {
  const server = createHttpsServer({ ...tls, ...serverOptions(limits) });
  server.maxHeadersCount = plain.maxHeadersCount;
  for (const event of ['request', 'clientError', 'connect'] as const)
    for (const l of plain.listeners(event)) server.on(event, l as (...args: unknown[]) => void);
  return server as unknown as Server;
}

function clientError(
  err: NodeJS.ErrnoException,
  socket: Socket,
  metrics: GatewayMetrics,
  logger: Logger,
  accessLog: AccessLog,
): void {
  let code: ErrorCode = 'PCS_ERR_BAD_REQUEST';
  let kind = 'malformed';
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    code = 'PCS_ERR_HEADERS_TOO_LARGE';
    kind = 'header_overflow';
  } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'HPE_HEADERS_TIMEOUT') {
    code = 'PCS_ERR_REQUEST_TIMEOUT';
    kind = 'timeout';
  } else if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
    // The client went away mid-request: not a malformed request.
    code = 'PCS_ERR_CLIENT_ABORTED';
    kind = 'reset';
  }
  metrics.clientErrors.labels(kind).inc();
  const status = ERRORS[code].status;
  accessLog.info({
    status,
    error: code,
    detail: `${err.code ?? ''} ${err.message}`.trim(),
    client_ip: socket.remoteAddress,
  });
  logger.debug({ err: err.message, code: err.code }, 'client error');
  if (
    kind === 'reset' ||
    !socket.writable ||
    (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent
  ) {
    socket.destroy();
    return;
  }
  writeRaw(socket, status, errorBody(code, ''));
}

/**
 * Applies a revision's `gateway.clientTimeouts` to the running listener (Node reads these on
 * every connection check), falling back to the limits the gateway started with.
 */
export function applyClientTimeouts(
  server: Server,
  t: { headersMs?: number; requestMs?: number; keepAliveMs?: number } | undefined,
  start: ServerLimits,
): void {
  server.headersTimeout = t?.headersMs ?? start.headersTimeoutMs;
  server.requestTimeout = t?.requestMs ?? start.requestTimeoutMs;
  server.keepAliveTimeout = t?.keepAliveMs ?? start.keepAliveTimeoutMs;
}

/** A tenth of the shortest client timeout, between 10 ms and 1 s. */
function checkingInterval(limits: ServerLimits): number {
  const shortest = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs || Number.POSITIVE_INFINITY);
  return Math.max(10, Math.min(1000, Math.floor(shortest / 10)));
}

/** Before the first revision is loaded: a stable 503 that a load balancer retries elsewhere. */
function notReady(req: IncomingMessage, res: ServerResponse, deps: HandlerDeps): void {
  const code: ErrorCode = 'PCS_ERR_NOT_READY';
  deps.accessLog.info({ method: req.method, path: req.url, status: 503, error: code });
  const body = errorBody(code, '');
  res.writeHead(503, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    'retry-after': '1',
  });
  res.end(body);
}

function refuseVersion(req: IncomingMessage, res: ServerResponse, deps: HandlerDeps): void {
  const code: ErrorCode = 'PCS_ERR_BAD_REQUEST';
  const status = ERRORS[code].status;
  deps.metrics.clientErrors.labels('malformed').inc();
  deps.accessLog.info({
    method: req.method,
    path: req.url,
    status,
    error: code,
    detail: `unsupported HTTP version ${req.httpVersion}`,
    client_ip: req.socket.remoteAddress,
  });
  const body = errorBody(code, '');
  res.shouldKeepAlive = false;
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
  });
  res.end(body);
}

function reason(status: number): string {
  return (
    {
      400: 'Bad Request',
      405: 'Method Not Allowed',
      408: 'Request Timeout',
      431: 'Request Header Fields Too Large',
    }[status] ?? 'Error'
  );
}
