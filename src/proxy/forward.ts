import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Chain } from '../core/chain.js';
import type { CompiledRoute } from '../runtime/compile.js';
import type { PolicyContext } from '../core/context.js';
import type { ErrorCode } from '../core/errors.js';
import { PHASE_INDEX } from '../core/phases.js';
import { type DecisionSink, runPhase } from '../core/pipeline.js';
import { BodyLimit, BodyTooLargeError } from '../core/body-limit.js';
import { carriesBody } from './edge.js';
import type { Exchange } from './exchange.js';
import type { Waiter } from './gate.js';
import { endToEnd } from './headers.js';
import { readRequestBody } from './read-body.js';
import type { Responder } from './respond.js';
import type { Target } from './target.js';
import { CallAborted, UpstreamCall, type UpstreamHead } from './upstream-call.js';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

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

function classify(err: unknown, req: IncomingMessage): FailureKind {
  if (err instanceof CallAborted)
    return err.reason === 'client-gone' || err.reason === 'dropped' ? 'client' : 'timeout';
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
  const withBody = !x.bodyDropped && carriesBody(req);
  const method = req.method ?? 'GET';
  const attempts = !withBody && IDEMPOTENT.has(method) ? 1 + (def.retries?.attempts ?? 0) : 1;
  const retryStatuses = def.retries?.onStatuses;
  const rt = route.def.timeouts;
  const readMs = rt?.readMs ?? def.timeouts?.readMs ?? 60_000;
  if (withBody && !ctx.bufferedBody && !(await bufferSmallBody(x, req, ctx, def.bufferBodyBytes ?? 65_536)))
    return;
  const deadline = deps.monotonic() + (rt?.totalMs ?? def.timeouts?.totalMs ?? 120_000);
  let body: NodeJS.ReadableStream | Buffer | null = null;
  if (ctx.bufferedBody) {
    body = ctx.bufferedBody;
    ctx.upstreamHeaders['content-length'] = String(ctx.bufferedBody.length);
  } else if (withBody) body = ctx.bodyLimit === undefined ? req : req.pipe(new BodyLimit(ctx.bodyLimit));
  const headers = ctx.upstreamHeaders;
  let excluded: Set<Target> | undefined;

  for (let attempt = 0; attempt < attempts; attempt++) {
    const admission = svc.gate.enter();
    if (admission !== true) {
      const refused = await notAdmitted(admission, x);
      if (refused === 'cancelled') return;
      if (refused) {
        deps.metrics.upstreamErrors.labels(def.name, 'busy').inc();
        deps.respond.error(
          x,
          res,
          ctx.reject('PCS_ERR_UPSTREAM_BUSY', { detail: `service ${def.name}: ${refused}` }),
        );
        return;
      }
    }
    const target = svc.pick(excluded);
    if (!target) {
      svc.gate.leave();
      deps.respond.error(
        x,
        res,
        ctx.reject('PCS_ERR_NO_HEALTHY_UPSTREAM', { detail: `service ${def.name}: no available target` }),
      );
      return;
    }
    headers.host = route.def.preserveHost ? ctx.request.host : target.hostHeader;
    x.upstreamTarget = target.url;
    const t0 = deps.monotonic();
    x.upstreamStart = t0;
    const call = new UpstreamCall();
    x.abort = (reason) => call.abort(new CallAborted(reason === 'client-gone' ? 'client-gone' : 'dropped'));
    // One timer per attempt: first the wait for the response head (`readMs`, measured here to
    // the millisecond when there is no body to upload first; undici's own coarser timer covers
    // uploads), then the rest of `totalMs`.
    const totalLeft = Math.max(1, deadline - t0);
    let timer =
      withBody || totalLeft <= readMs
        ? setTimeout(() => call.abort(new CallAborted('total-timeout')), totalLeft)
        : setTimeout(() => call.abort(new CallAborted('read-timeout')), readMs);
    target.inflight++;
    call.onSettled = () => {
      target.inflight--;
      svc.gate.leave();
      clearTimeout(timer);
      x.bytesOut = call.bytes;
    };
    try {
      target.pool.dispatch(
        {
          path: target.basePath + upstreamPath,
          method,
          headers: headers as Record<string, string | string[]>,
          body: body as never,
        },
        call,
      );
    } catch (err) {
      // undici refused the request before sending it (e.g. an invalid header value).
      call.onResponseError(undefined as never, err as Error);
    }
    let head: UpstreamHead;
    try {
      head = await call.head;
    } catch (err) {
      const kind = classify(err, req);
      if (kind === 'client') {
        x.code = 'PCS_ERR_CLIENT_ABORTED';
        return;
      }
      if (kind === 'too-large') {
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
      if (attempt + 1 < attempts && kind !== 'timeout') {
        excluded = addTo(excluded, target);
        await sleep(backoff(def.retries?.backoffMs ?? 0, attempt, deps.random));
        continue;
      }
      deps.respond.error(x, res, ctx.reject(FAILURE_CODE[kind], { detail }), kind === 'reset');
      return;
    }
    const now = deps.monotonic();
    clearTimeout(timer);
    timer = setTimeout(() => call.abort(new CallAborted('total-timeout')), Math.max(1, deadline - now));
    const upstreamSeconds = (now - t0) / 1000;
    x.upstreamMs = upstreamSeconds * 1000;
    deps.metrics.upstreamDuration.labels(def.name).observe(upstreamSeconds);
    if (head.statusCode >= 500) svc.reportFailure(target, `status ${head.statusCode}`);
    else svc.reportSuccess(target);
    if (attempt + 1 < attempts && retryStatuses?.includes(head.statusCode)) {
      deps.metrics.upstreamErrors.labels(def.name, 'status').inc();
      await call.discard();
      excluded = addTo(excluded, target);
      await sleep(backoff(def.retries?.backoffMs ?? 0, attempt, deps.random));
      continue;
    }
    x.upstreamStatus = head.statusCode;
    ctx.response = { status: head.statusCode, headers: head.headers };
    const responseChain = chain[PHASE_INDEX.response];
    if (responseChain.length) {
      const out = await runPhase(ctx, responseChain, deps.sink);
      if (out) {
        call.abort(new CallAborted('dropped'));
        if (out.kind === 'reject') deps.respond.error(x, res, out);
        else deps.respond.shortCircuit(x, res, ctx, out);
        return;
      }
    }
    if (res.destroyed) {
      call.abort(new CallAborted('client-gone'));
      return;
    }
    const outHeaders = endToEnd(head.headers);
    deps.respond.decorate(ctx, route, outHeaders);
    res.writeHead(head.statusCode, outHeaders as Record<string, string | string[]>);
    const settled = call.onSettled;
    const observe = ctx.bodyObservers ? observeBody(call, ctx, deps.sink) : undefined;
    call.onSettled = (err) => {
      settled(err);
      if (!err) observe?.();
      if (!err || (err instanceof CallAborted && err.reason === 'client-gone')) return;
      // The access log must blame the upstream for a body cut short, not the client.
      deps.metrics.upstreamErrors.labels(def.name, err instanceof CallAborted ? 'timeout' : 'body').inc();
      x.code ??= err instanceof CallAborted ? 'PCS_ERR_UPSTREAM_TIMEOUT' : 'PCS_ERR_UPSTREAM_BAD_RESPONSE';
      x.detail ??= `upstream body: ${err.message}`;
    };
    call.pipeTo(res);
    return;
  }
}

/**
 * Why a request the gate did not admit at once gets no slot: `cancelled` when the client left
 * while waiting, a reason for the log when it is refused, undefined once a slot is its own.
 */
async function notAdmitted(admission: false | Waiter, x: Exchange): Promise<string | undefined> {
  if (admission === false) return 'maxConnections reached and the queue is full';
  x.abort = () => admission.cancel();
  const a = await admission.admitted;
  x.abort = undefined;
  if (a === 'admitted') return undefined;
  return a === 'cancelled' ? 'cancelled' : 'waited queueTimeoutMs for a connection';
}

/**
 * Reads a small declared body (Content-Length up to `maxBytes`, and within a body limit) whole
 * before any upstream connection is taken, so that a slow client holds none; the buffer is then
 * sent as is. False when the client went away meanwhile. Chunked and larger bodies stream.
 */
async function bufferSmallBody(
  x: Exchange,
  req: IncomingMessage,
  ctx: PolicyContext,
  maxBytes: number,
): Promise<boolean> {
  const declared = Number(req.headers['content-length']);
  if (!(declared <= maxBytes) || (ctx.bodyLimit !== undefined && declared > ctx.bodyLimit)) return true;
  try {
    ctx.bufferedBody = await readRequestBody(req, declared);
    return true;
  } catch {
    x.code = 'PCS_ERR_CLIENT_ABORTED';
    return false;
  }
}

/**
 * Copies the response body for the policies that asked (up to the largest cap) and, once the
 * upstream finished, runs their checks. Their rejections become `would_deny` decisions: the
 * body has already gone to the client.
 */
function observeBody(call: UpstreamCall, ctx: PolicyContext, sink: DecisionSink): () => void {
  const observers = ctx.bodyObservers ?? [];
  const cap = Math.max(...observers.map((o) => o.maxBytes));
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  call.tap = (chunk) => {
    if (size >= cap) {
      truncated = true;
      return;
    }
    const part = size + chunk.length > cap ? chunk.subarray(0, cap - size) : chunk;
    if (part !== chunk) truncated = true;
    chunks.push(part);
    size += part.length;
  };
  return () => {
    const body = Buffer.concat(chunks, size);
    for (const o of observers) {
      const s = o.source;
      let out: ReturnType<typeof o.check>;
      try {
        out = o.check(
          body.length > o.maxBytes ? body.subarray(0, o.maxBytes) : body,
          truncated || body.length > o.maxBytes,
        );
      } catch {
        sink.countDecision(s.label, s.mode, 'error');
        ctx.decisions.push({
          policy: s.policy,
          id: s.id,
          scope: s.scopeText,
          phase: 'response',
          mode: s.mode,
          outcome: 'error',
          rule: 'response-body',
          code: 'PCS_ERR_POLICY_FAILURE',
        });
        continue;
      }
      if (out?.kind !== 'reject') continue;
      sink.countDecision(s.label, s.mode, 'would_deny');
      ctx.decisions.push({
        policy: s.policy,
        id: s.id,
        scope: s.scopeText,
        phase: 'response',
        mode: s.mode,
        outcome: 'would_deny',
        rule: out.rule,
        code: out.code,
      });
    }
  };
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
