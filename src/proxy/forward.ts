import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Chain } from '../core/chain.js';
import type { CompiledRoute } from '../core/compile.js';
import type { PolicyContext } from '../core/context.js';
import type { ErrorCode } from '../core/errors.js';
import { PHASE_INDEX } from '../core/phases.js';
import { type DecisionSink, runPhase } from '../core/pipeline.js';
import { BodyLimit, BodyTooLargeError } from './body-limit.js';
import type { Exchange } from './exchange.js';
import { endToEnd } from './headers.js';
import type { Responder } from './respond.js';
import type { Target } from './target.js';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
const CLIENT_GONE = 'client-gone';
const TOTAL_TIMEOUT = 'total-timeout';
const READ_TIMEOUT = 'read-timeout';

type FailureKind = 'client' | 'timeout' | 'connect' | 'reset' | 'too-large';

export interface ForwardDeps {
  sink: DecisionSink;
  respond: Responder;
  metrics: {
    upstreamDuration: { labels(service: string): { observe(v: number): void } };
    upstreamErrors: { labels(service: string, kind: string): { inc(): void } };
  };
  monotonic(): number;
  /** Random in [0,1) for backoff jitter; injectable for tests. */
  random(): number;
}

function hasBody(req: IncomingMessage): boolean {
  const cl = req.headers['content-length'];
  if (cl !== undefined) return cl !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

function classify(err: unknown, reason: unknown, req: IncomingMessage): FailureKind {
  if (reason === CLIENT_GONE) return 'client';
  if (reason === TOTAL_TIMEOUT || reason === READ_TIMEOUT) return 'timeout';
  if (err instanceof BodyTooLargeError) return 'too-large';
  const code = (err as { code?: string })?.code;
  if (
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT'
  )
    return 'timeout';
  if (req.destroyed && !req.complete) return 'client';
  if (
    code === 'ECONNREFUSED' ||
    code === 'ENOTFOUND' ||
    code === 'EHOSTUNREACH' ||
    code === 'ENETUNREACH' ||
    code === 'EAI_AGAIN'
  )
    return 'connect';
  return 'reset';
}

const FAILURE_CODE: Record<Exclude<FailureKind, 'client'>, ErrorCode> = {
  timeout: 'PCS_ERR_UPSTREAM_TIMEOUT',
  connect: 'PCS_ERR_UPSTREAM_UNAVAILABLE',
  reset: 'PCS_ERR_UPSTREAM_UNAVAILABLE',
  'too-large': 'PCS_ERR_BODY_TOO_LARGE',
};

/**
 * Sends the request to a target of the route's service and streams the answer back. Retries
 * only idempotent requests without a body, only before any byte went to the client, each time
 * on another target when there is one.
 */
export async function forward(
  deps: ForwardDeps,
  x: Exchange,
  req: IncomingMessage,
  res: ServerResponse,
  ctx: PolicyContext,
  route: CompiledRoute,
  chain: Chain,
  upstreamPath: string,
): Promise<void> {
  // compile guarantees a service on every route without a terminal
  const svc = route.service!;
  const def = svc.def;
  const withBody = hasBody(req);
  const method = req.method ?? 'GET';
  const attempts = !withBody && IDEMPOTENT.has(method) ? 1 + (def.retries?.attempts ?? 0) : 1;
  const retryStatuses = def.retries?.onStatuses;
  const ac = new AbortController();
  x.abort = (reason) => ac.abort(reason);
  const timer = setTimeout(() => ac.abort(TOTAL_TIMEOUT), def.timeouts?.totalMs ?? 120_000);
  let body: NodeJS.ReadableStream | null = null;
  if (ctx.bufferedBody) {
    body = ctx.bufferedBody as never;
    ctx.upstreamHeaders['content-length'] = String(ctx.bufferedBody.length);
  } else if (withBody) body = ctx.bodyLimit === undefined ? req : req.pipe(new BodyLimit(ctx.bodyLimit));
  const headers = ctx.upstreamHeaders;
  let excluded: Set<Target> | undefined;

  for (let attempt = 0; attempt < attempts; attempt++) {
    const target = svc.pick(excluded);
    if (!target) {
      clearTimeout(timer);
      deps.respond.error(
        x,
        res,
        ctx.reject('PCS_ERR_NO_HEALTHY_UPSTREAM', { detail: `service ${def.name}: no available target` }),
      );
      return;
    }
    headers.host = route.def.preserveHost ? ctx.request.host : target.hostHeader;
    x.upstreamTarget = target.url;
    target.inflight++;
    const t0 = deps.monotonic();
    x.upstreamStart = t0;
    let r: Awaited<ReturnType<Target['pool']['request']>>;
    // undici's headers timeout ticks in half-seconds; without a request body to upload first,
    // this one keeps `readMs` to the millisecond.
    const headersTimer = withBody
      ? undefined
      : setTimeout(() => ac.abort(READ_TIMEOUT), def.timeouts?.readMs ?? 60_000);
    try {
      r = await target.pool.request({
        path: target.basePath + upstreamPath,
        method,
        headers: headers as Record<string, string | string[]>,
        body: body as never,
        signal: ac.signal,
      });
      clearTimeout(headersTimer);
    } catch (err) {
      clearTimeout(headersTimer);
      target.inflight--;
      const kind = classify(err, ac.signal.reason, req);
      if (kind === 'client') {
        clearTimeout(timer);
        x.code = 'PCS_ERR_CLIENT_ABORTED';
        return;
      }
      if (kind === 'too-large') {
        clearTimeout(timer);
        deps.respond.error(
          x,
          res,
          ctx.reject('PCS_ERR_BODY_TOO_LARGE', { rule: `stream>${ctx.bodyLimit}` }),
          true,
        );
        return;
      }
      svc.reportFailure(target, kind);
      deps.metrics.upstreamErrors.labels(def.name, kind).inc();
      const detail = `${target.url}: ${(err as { code?: string }).code ?? ''} ${(err as Error).message}`;
      if (attempt + 1 < attempts && kind !== 'timeout' && !ac.signal.aborted) {
        excluded = addTo(excluded, target);
        await sleep(backoff(def.retries?.backoffMs ?? 0, attempt, deps.random));
        continue;
      }
      clearTimeout(timer);
      deps.respond.error(x, res, ctx.reject(FAILURE_CODE[kind], { detail }), kind === 'reset');
      return;
    }
    const upstreamSeconds = (deps.monotonic() - t0) / 1000;
    x.upstreamMs = upstreamSeconds * 1000;
    deps.metrics.upstreamDuration.labels(def.name).observe(upstreamSeconds);
    if (r.statusCode >= 500) svc.reportFailure(target, `status ${r.statusCode}`);
    else svc.reportSuccess(target);
    if (attempt + 1 < attempts && retryStatuses?.includes(r.statusCode)) {
      deps.metrics.upstreamErrors.labels(def.name, 'status').inc();
      target.inflight--;
      await r.body.dump().catch(() => undefined);
      excluded = addTo(excluded, target);
      await sleep(backoff(def.retries?.backoffMs ?? 0, attempt, deps.random));
      continue;
    }
    x.upstreamStatus = r.statusCode;
    ctx.response = { status: r.statusCode, headers: r.headers };
    const responseChain = chain[PHASE_INDEX.response];
    if (responseChain.length) {
      const out = await runPhase(ctx, responseChain, deps.sink);
      if (out) {
        target.inflight--;
        clearTimeout(timer);
        r.body.destroy();
        if (out.kind === 'reject') deps.respond.error(x, res, out);
        else deps.respond.shortCircuit(x, res, ctx, out);
        return;
      }
    }
    const outHeaders = endToEnd(r.headers);
    deps.respond.decorate(ctx, route, outHeaders);
    if (res.destroyed) {
      target.inflight--;
      clearTimeout(timer);
      r.body.destroy();
      return;
    }
    res.writeHead(r.statusCode, outHeaders as Record<string, string | string[]>);
    // Before pipeline() destroys `res`: the access log must blame the upstream, not the client.
    r.body.once('error', (err: Error) => {
      if (ac.signal.reason === CLIENT_GONE) return;
      x.code ??= 'PCS_ERR_UPSTREAM_BAD_RESPONSE';
      x.detail ??= `upstream body: ${err.message}`;
    });
    r.body.on('data', (c: Buffer) => {
      x.bytesOut += c.length;
    });
    pipeline(r.body, res, (err) => {
      target.inflight--;
      clearTimeout(timer);
      if (err && ac.signal.reason !== CLIENT_GONE && !res.destroyed)
        x.detail = `upstream body: ${err.message}`;
      if (err && ac.signal.reason !== CLIENT_GONE) {
        deps.metrics.upstreamErrors.labels(def.name, 'body').inc();
        x.code ??= 'PCS_ERR_UPSTREAM_BAD_RESPONSE';
      }
    });
    return;
  }
}

/** Exponential backoff with full jitter. */
function backoff(base: number, attempt: number, random: () => number): number {
  return Math.floor(random() * base * 2 ** attempt);
}

function addTo(set: Set<Target> | undefined, t: Target): Set<Target> {
  const s = set ?? new Set<Target>();
  s.add(t);
  return s;
}
