import type { IncomingHttpHeaders } from 'node:http';
import type { ManualClock } from '../core/clock.js';
import type { CompiledRevision } from '../runtime/compile.js';
import { type Consumer, PolicyContext, type RequestView } from '../core/context.js';
import type { Directory } from '../core/directory.js';
import { ERRORS, type ErrorCode } from '../core/errors.js';
import { FIRST_CONSUMER_PHASE, PHASE_INDEX } from '../core/phases.js';
import { type DecisionSink, runPhase } from '../core/pipeline.js';
import type { Decision } from '../core/policy.js';
import { BodyTooLargeError } from '../core/body-limit.js';
import { routePath } from '../proxy/route-path.js';
import type { StoredRequestLog } from '../reqlog/types.js';

/** What one revision decides for one recorded request, phases `request` to `validate`. */
export interface ReplayOutcome {
  /** `allow`: it would go on to the upstream; `respond`: a policy answers (a CORS preflight). */
  result: 'allow' | 'deny' | 'respond';
  status?: number;
  route: string | null;
  /** The deciding policy instance (`policy` or `policy#id`). */
  policy?: string;
  rule?: string;
  code?: string;
  phase?: string;
  /** The auth denial was restored from the record (auth policies are not re-run). */
  recorded?: boolean;
  /** Shadow policies that would have denied: `policy` and `rule`. */
  wouldDeny: { policy: string; rule?: string; code?: string }[];
}

const AUTH = PHASE_INDEX.auth;
const LAST = PHASE_INDEX.validate;
const CONSUMER_PHASE = PHASE_INDEX[FIRST_CONSUMER_PHASE];

/** Looks consumers up once per replay: the directory's cache lives a second, a replay longer. */
export class ConsumerCache {
  private readonly m = new Map<string, Promise<Consumer>>();
  constructor(private readonly directory: Directory) {}
  get(name: string): Promise<Consumer> {
    let c = this.m.get(name);
    if (!c) {
      // A consumer deleted since is restored by name alone, without groups or metadata.
      c = this.directory.consumer(name).then((v) => v ?? { id: '', name, groups: [], metadata: {} });
      this.m.set(name, c);
    }
    return c;
  }
}

export const label = (d: Pick<Decision, 'policy' | 'id'>) =>
  d.id === d.policy ? d.policy : `${d.policy}#${d.id}`;

function bare(code: ErrorCode, route: string | null): ReplayOutcome {
  return { result: 'deny', status: ERRORS[code].status, code, route, wouldDeny: [] };
}

/**
 * Runs one recorded request through a revision as the data plane would, without the upstream:
 * route match, then the request phases up to `validate`, at the recorded time (the clock is set
 * to it). Auth policies are not re-run (a record holds no credentials): the recorded consumer
 * and identity are restored, and a recorded auth denial stands.
 */
export async function evaluate(
  rev: CompiledRevision,
  rec: StoredRequestLog,
  clock: ManualClock,
  consumers: ConsumerCache,
  sink: DecisionSink,
): Promise<ReplayOutcome> {
  clock.set(rec.ts);
  const url = rec.query ? `${rec.path}?${rec.query}` : rec.path;
  if (url.length > rev.maxUrlLength) return bare('PCS_ERR_URI_TOO_LONG', null);
  const headers: IncomingHttpHeaders = { ...rec.headers, host: rec.host };
  const acrm = rec.method === 'OPTIONS' ? headers['access-control-request-method'] : undefined;
  const routed = routePath(
    rev,
    typeof acrm === 'string' && headers.origin ? acrm : rec.method,
    rec.host,
    rec.path,
    headers,
  );
  if (routed.code !== undefined) return bare(routed.code, null);
  const match = routed.match;
  const route = match.route;
  const name = route.def.name;
  if (route.def.lifecycle === 'sunset') return bare('PCS_ERR_ROUTE_SUNSET', name);

  const view: RequestView = {
    id: rec.requestId,
    method: rec.method,
    path: routed.path,
    rawQuery: rec.query,
    host: rec.host,
    headers,
    clientIp: rec.clientIp,
    remoteAddress: rec.clientIp,
    protocol: 'http',
    time: rec.ts,
    params: match.params,
    route: name,
    service: route.def.service ?? '',
  };
  const ctx = new PolicyContext(view, { ...rec.headers }, clock);
  const cap = rev.maxBufferedBodyBytes;
  ctx.bodySource = async (max) => {
    const limit = Math.min(max, cap);
    const body = Buffer.from(rec.body ?? '', 'utf8');
    if ((rec.bodyBytes ?? body.length) > limit) throw new BodyTooLargeError(limit);
    return body;
  };

  let chain = route.chain;
  for (let i = 0; i <= LAST; i++) {
    if (i === AUTH) {
      const denied = rec.decisions.find((d) => d.phase === 'auth' && d.outcome === 'deny');
      if (denied)
        return {
          result: 'deny',
          status: denied.code ? ERRORS[denied.code as ErrorCode]?.status : undefined,
          route: name,
          policy: label(denied),
          rule: denied.rule,
          code: denied.code,
          phase: 'auth',
          recorded: true,
          wouldDeny: wouldDeny(ctx.decisions),
        };
      if (rec.consumer) ctx.consumer = await consumers.get(rec.consumer);
      if (rec.identity) ctx.identity = { ...rec.identity };
      continue;
    }
    if (i === CONSUMER_PHASE && ctx.consumer) chain = route.chainFor(ctx.consumer);
    const entries = chain[i];
    if (entries.length === 0) continue;
    const out = await runPhase(ctx, entries, sink);
    if (!out) continue;
    const last = ctx.decisions[ctx.decisions.length - 1];
    return {
      result: out.kind === 'reject' ? 'deny' : 'respond',
      status: out.status,
      route: name,
      policy: last ? label(last) : undefined,
      rule: out.rule,
      code: out.kind === 'reject' ? out.code : undefined,
      phase: last?.phase,
      wouldDeny: wouldDeny(ctx.decisions),
    };
  }
  return { result: 'allow', route: name, wouldDeny: wouldDeny(ctx.decisions) };
}

function wouldDeny(decisions: readonly Decision[]): ReplayOutcome['wouldDeny'] {
  const out: ReplayOutcome['wouldDeny'] = [];
  for (const d of decisions)
    if (d.outcome === 'would_deny') out.push({ policy: label(d), rule: d.rule, code: d.code });
  return out;
}
