import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { ChainEntry } from '../core/chain.js';
import type { Clock } from '../core/clock.js';
import type { CompiledRevision } from '../runtime/compile.js';
import { PolicyContext, type RequestView, rejection } from '../core/context.js';
import { ERRORS, type ErrorCode } from '../core/errors.js';
import { PHASE_INDEX, FIRST_CONSUMER_PHASE } from '../core/phases.js';
import { type DecisionSink, runPhase } from '../core/pipeline.js';
import { clientIpFrom } from '../net/client-ip.js';
import { normalizeIp, parseIp } from '../net/ip.js';
import type { AccessLog } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { RequestRecorder } from '../reqlog/recorder.js';
import type { Canary } from '../canary/canary.js';
import { isTls, tlsInfo } from '../tls/peer.js';
import { carriesBody, edgeRefusal } from './edge.js';
import { Exchange } from './exchange.js';
import { forward } from './forward.js';
import { addForwarded, endToEnd } from './headers.js';
import { acceptableRequestId } from '../core/request-id.js';
import { readRequestBody } from './read-body.js';
import { Responder } from './respond.js';
import { routePath } from './route-path.js';

export interface HandlerDeps {
  /** The revision being served; read once per request, so in-flight requests keep theirs. */
  current(): CompiledRevision;
  clock: Clock;
  logger: Logger;
  accessLog: AccessLog;
  metrics: GatewayMetrics;
  protocol: 'http' | 'https';
  random?: () => number;
  /** The canary revision beside `current`, if one runs: it chooses each request's cohort. */
  canary?(): Canary | undefined;
  /** The request log: handed each finished request, it copies what it needs and queues it. */
  requestLog?: Pick<RequestRecorder, 'record'>;
  /** False while the gateway starts (ports bound, first revision not loaded): 503 PCS_ERR_NOT_READY. */
  ready?(): boolean;
}

const LAST_REQUEST_PHASE = PHASE_INDEX.upstream;
const CONSUMER_PHASE = PHASE_INDEX[FIRST_CONSUMER_PHASE];

/** Builds the data plane's request handler. */
export function createHandler(deps: HandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { clock, metrics, logger, accessLog } = deps;
  const respond = new Responder();
  const sink: DecisionSink = {
    countDecision: (p, m, o) => metrics.countDecision(p, m, o),
    policyError: (e: ChainEntry, err) =>
      logger.error(
        { policy: e.instance.label, phase: e.phase, err: (err as Error)?.stack ?? String(err) },
        'policy failed',
      ),
  };
  const fwd = {
    sink,
    respond,
    metrics,
    monotonic: () => clock.monotonic(),
    random: deps.random ?? Math.random,
  };

  function finish(x: Exchange, req: IncomingMessage, res: ServerResponse): void {
    if (x.done) return;
    x.done = true;
    const complete = res.writableFinished;
    if (!complete) {
      x.abort?.('client-gone');
      // Unfinished because of the client, unless the upstream already failed mid-answer.
      if (x.code === undefined || x.code === 'PCS_ERR_CLIENT_ABORTED') {
        x.code = 'PCS_ERR_CLIENT_ABORTED';
        metrics.clientErrors.labels('aborted').inc();
      }
    }
    const failed = x.code !== 'PCS_ERR_CLIENT_ABORTED' ? x.code : undefined;
    const status = complete ? res.statusCode : failed ? ERRORS[failed].status : 499;
    const ms = clock.monotonic() - x.start;
    const ctx = x.ctx;
    if (ctx) {
      ctx.finalStatus = status;
      runLogPhase(x, ctx);
    }
    metrics.countRequest(x.route || '(none)', status, ms / 1000);
    if (x.cohort) x.canary?.record(x.cohort, status, ms, ctx?.decisions);
    deps.requestLog?.record(x, req, ctx, status, ms);
    accessLog.info({
      request_id: ctx?.requestId ?? x.id,
      method: req.method,
      host: req.headers.host,
      path: ctx?.request.path ?? req.url,
      route: x.route || undefined,
      service: x.service || undefined,
      consumer: ctx?.consumer?.name,
      client_ip: ctx?.request.clientIp ?? peerAddress(req.socket),
      status,
      upstream_status: x.upstreamStatus || undefined,
      upstream_target: x.upstreamTarget || undefined,
      duration_ms: Math.round(ms * 1000) / 1000,
      upstream_ms: x.upstreamMs >= 0 ? Math.round(x.upstreamMs * 1000) / 1000 : undefined,
      bytes_in: Number(req.headers['content-length'] ?? 0) || undefined,
      bytes_out: x.bytesOut,
      revision: x.revision,
      cohort: x.cohort,
      decisions: ctx?.decisions.length ? ctx.decisions : undefined,
      error: x.code,
      detail: x.detail,
    });
  }

  function runLogPhase(x: Exchange, ctx: PolicyContext): void {
    const entries = x.chain?.[PHASE_INDEX.log];
    if (!entries?.length) return;
    for (const e of entries) {
      ctx.enter('log', e.instance.mode, e.instance.label);
      try {
        const r = e.fn(ctx);
        if (r instanceof Promise) r.catch((err) => sink.policyError(e, err));
      } catch (err) {
        sink.policyError(e, err);
      }
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const stable = deps.current();
    const canary = deps.canary?.();
    // A percent canary picks the revision before routing, by a stable hash of the caller.
    const rev =
      canary && canary.group === undefined && canary.pick(req, callerIp(req, stable))
        ? canary.revision
        : stable;
    const x = new Exchange(clock.monotonic(), clock.now(), rev.id);
    if (canary) {
      x.canary = canary;
      x.cohort = rev === stable ? 'stable' : 'canary';
    }
    res.once('close', () => finish(x, req, res));
    const rid = req.headers['x-request-id'];
    x.id = acceptableRequestId(rid) ? rid : randomUUID();
    const edge = edgeRefusal(req, rev);
    if (edge) return respondBare(x, res, edge.code, edge.detail, true);

    let url = req.url ?? '/';
    if (url.length > rev.maxUrlLength) return respondBare(x, res, 'PCS_ERR_URI_TOO_LONG');
    if (url[0] !== '/') {
      // absolute-form (a client that takes us for a forward proxy): route on its path, as sent
      // (the WHATWG parser would resolve dots and backslashes under the normaliser's nose).
      const from = absolutePathStart(url);
      if (from < 0) return respondBare(x, res, 'PCS_ERR_BAD_REQUEST');
      url = from === url.length || url[from] === '?' ? `/${url.slice(from)}` : url.slice(from);
    }
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const rawQuery = q < 0 ? '' : url.slice(q + 1);
    const host = req.headers.host ?? '';
    const method = req.method ?? 'GET';
    // A CORS preflight is routed by the method it asks about, so routes limited to e.g. POST
    // still reach their cors policy (which answers the preflight at the gateway).
    const acrm = method === 'OPTIONS' ? req.headers['access-control-request-method'] : undefined;
    const routed = routePath(
      rev,
      typeof acrm === 'string' && req.headers.origin ? acrm : method,
      host,
      rawPath,
      req.headers,
    );
    if (routed.code !== undefined) return respondBare(x, res, routed.code, routed.detail);
    let match = routed.match;
    const path = routed.path;
    let route = match.route;
    x.route = route.def.name;
    x.service = route.def.service ?? '';
    if (route.def.lifecycle === 'sunset') return respondBare(x, res, 'PCS_ERR_ROUTE_SUNSET');

    const peer = peerAddress(req.socket);
    const peerTrusted = rev.trustedProxies.size > 0 && rev.trustedProxies.match(parseIp(peer)) !== undefined;
    const tls = isTls(req.socket) ? tlsInfo(req.socket) : undefined;
    const protocol = tls ? 'https' : deps.protocol;
    // Identity headers (src/core/identity-headers.ts) go too: only the gateway asserts them.
    const headers = endToEnd(req.headers, rev.assertedHeaders);
    addForwarded(headers, peer, protocol, host, peerTrusted);
    if (rev.bodyOnGet === 'strip' && (method === 'GET' || method === 'HEAD') && carriesBody(req)) {
      x.bodyDropped = true;
      delete headers['content-length'];
    }
    headers['x-request-id'] = x.id;
    const view: RequestView = {
      id: x.id,
      method,
      path,
      rawQuery,
      host,
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      clientIp: peerTrusted ? clientIpFrom(peer, req.headers['x-forwarded-for'], rev.trustedProxies) : peer,
      remoteAddress: peer,
      protocol,
      tls,
      time: x.time,
      params: match.params,
      route: route.def.name,
      service: route.def.service ?? '',
    };
    const ctx = new PolicyContext(view, headers, clock);
    const bufferCap = rev.maxBufferedBodyBytes;
    if (!x.bodyDropped) ctx.bodySource = (max) => readRequestBody(req, Math.min(max, bufferCap));
    x.ctx = ctx;

    let chain = route.chain;
    x.chain = chain;
    for (let i = 0; i <= LAST_REQUEST_PHASE; i++) {
      if (i === CONSUMER_PHASE && canary?.inGroup(ctx.consumer)) {
        // A group canary: the consumer is known from the stable revision's auth; the canary's
        // route of the same name serves the later phases and the upstream call.
        const m = canary.revision.router.find(method, host, path, req.headers);
        if (m && m.route.def.name === route.def.name) {
          match = m;
          route = m.route;
          x.service = route.def.service ?? '';
          x.revision = canary.revision.id;
          x.cohort = 'canary';
        }
      }
      if (i === CONSUMER_PHASE && ctx.consumer) x.chain = chain = route.chainFor(ctx.consumer);
      const entries = chain[i];
      if (entries.length === 0) continue;
      const out = await runPhase(ctx, entries, sink);
      if (out) {
        if (out.kind === 'reject')
          respond.error(x, res, out, ctx.bodyLimit !== undefined && out.code === 'PCS_ERR_BODY_TOO_LARGE');
        else respond.shortCircuit(x, res, ctx, out);
        return;
      }
      if (res.destroyed) return;
    }
    const upstreamPath = (route.def.stripPath ? match.strippedPath : path) + (q < 0 ? '' : `?${rawQuery}`);
    if (route.terminal) await route.terminal({ ctx, req, res, exchange: x, chain, respond });
    else await forward(fwd, x, req, res, ctx, route, chain, upstreamPath);
  }

  /** The client IP as the stable revision's trusted proxies see it (the key of an `ip` canary). */
  function callerIp(req: IncomingMessage, rev: CompiledRevision): string {
    const peer = peerAddress(req.socket);
    if (rev.trustedProxies.size === 0 || rev.trustedProxies.match(parseIp(peer)) === undefined) return peer;
    return clientIpFrom(peer, req.headers['x-forwarded-for'], rev.trustedProxies);
  }

  function respondBare(
    x: Exchange,
    res: ServerResponse,
    code: ErrorCode,
    detail?: string,
    close = false,
  ): void {
    respond.error(x, res, rejection(code, { detail }), close);
  }

  return function portcullisHandler(req, res) {
    handle(req, res).catch((err) => {
      logger.error({ err: (err as Error)?.stack ?? String(err), url: req.url }, 'request handler failed');
      if (!res.headersSent && !res.destroyed) {
        const body = JSON.stringify({
          error: { code: 'PCS_ERR_POLICY_FAILURE', message: 'Internal gateway error' },
        });
        res.writeHead(500, {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
        });
        res.end(body);
      } else res.destroy();
    });
  };
}

/**
 * Where the path of an absolute-form target (`http://host:port/path?q`) starts, or -1 when it is
 * not one (only http and https, with a host). The length when it has no path.
 */
function absolutePathStart(url: string): number {
  const scheme = url.slice(0, 8).toLowerCase();
  let from: number;
  if (scheme.startsWith('http://')) from = 7;
  else if (scheme === 'https://') from = 8;
  else return -1;
  try {
    new URL(url);
  } catch {
    return -1;
  }
  for (let i = from; i < url.length; i++) if (url[i] === '/' || url[i] === '?') return i === from ? -1 : i;
  return url.length;
}

const PEER = Symbol('portcullis.peer');

/** The peer's normalised address, computed once per connection (keep-alive reuses it). */
function peerAddress(socket: IncomingMessage['socket'] & { [PEER]?: string }): string {
  let p = socket[PEER];
  if (p === undefined) {
    p = normalizeIp(socket.remoteAddress ?? '');
    socket[PEER] = p;
  }
  return p;
}
