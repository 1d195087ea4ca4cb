import type { Consumer, Identity, PolicyContext } from '../core/context.js';
import type { ErrorCode } from '../core/errors.js';
import type { PolicyDeps, PolicyFn, Rejection } from '../core/policy.js';
import { FailureTracker } from './failures.js';

/** A successful authentication, before it is applied to the context. */
export interface AuthSuccess {
  ok: true;
  /** The consumer proven, when the method maps to one. */
  consumer?: Consumer;
  identity: Identity;
  /** Names what decided, for the access log (`key:ab12cd34`, `jwt:https://idp`). */
  rule: string;
  /** Changes to the upstream request made only on success (hide credentials, claim headers). */
  apply?: (ctx: PolicyContext) => void;
}

/** A failed authentication. `absent` means no credential of this method was presented at all. */
export interface AuthFailure {
  ok: false;
  absent: boolean;
  code: ErrorCode;
  /** Short, stable reason for metrics and the rule (`expired`, `bad_signature`, `unknown_key`). */
  reason: string;
  /** The cause in full, for the log only. */
  detail: string;
  /** The consumer the credential claimed to be, when known (for per-consumer failure counts). */
  subject?: string;
  /** Overrides the method's WWW-Authenticate challenge (`Bearer error="invalid_token"`). */
  challenge?: string;
  /** True when the identity provider could not be reached: counted apart from bad credentials. */
  providerDown?: boolean;
}

export type AuthResult = AuthSuccess | AuthFailure;

/** One authentication method: what `multi-auth` composes and `authPolicy` turns into a policy. */
export interface Authenticator {
  /** The policy name (`key-auth`, `jwt`...), used as identity method and metric label. */
  readonly method: string;
  /** The WWW-Authenticate challenge sent when credentials are missing. */
  readonly challenge: string;
  /** Cleans the upstream request before any method runs (headers only the gateway may set). */
  scrub?(ctx: PolicyContext): void;
  authenticate(ctx: PolicyContext): AuthResult | Promise<AuthResult>;
}

export function fail(
  code: ErrorCode,
  reason: string,
  detail: string,
  extra: Partial<Pick<AuthFailure, 'subject' | 'challenge' | 'providerDown' | 'absent'>> = {},
): AuthFailure {
  return { ok: false, absent: false, code, reason, detail, ...extra };
}

export function absent(method: string): AuthFailure {
  return {
    ok: false,
    absent: true,
    code: 'PCS_ERR_AUTH_REQUIRED',
    reason: 'missing',
    detail: `${method}: no credentials`,
  };
}

/** A quoted-string for a challenge parameter (RFC 9110 §5.6.4). */
export function quoted(v: string): string {
  return `"${v.replace(/[\\"]/g, '\\$&').replace(/[^\x20-\x7e]/g, '')}"`;
}

export interface AuthPolicyOptions {
  /** Consumer assigned when no credentials were presented; unset: 401. */
  anonymous?: string;
}

/**
 * Turns authenticators into the `auth` phase function: the first that succeeds wins, in order.
 * When none does, the answer is 401 with every method's challenge; a presented-but-bad credential
 * decides the code over a missing one. Failures are counted per method and reason, and repeated
 * failures per client IP and per consumer raise a security event.
 */
export function authPolicy(
  name: string,
  methods: readonly Authenticator[],
  opts: AuthPolicyOptions,
  deps: PolicyDeps,
): PolicyFn {
  const tracker = FailureTracker.for(deps);
  const anonymous = opts.anonymous;
  const challenges = [...new Set(methods.map((m) => m.challenge))];

  async function resolveAnonymous(ctx: PolicyContext): Promise<Consumer | Rejection> {
    const c = await deps.directory.consumer(anonymous!);
    if (!c)
      return ctx.reject('PCS_ERR_AUTH_REQUIRED', {
        rule: 'anonymous:missing',
        detail: `${name}: anonymous consumer '${anonymous}' does not exist`,
        headers: { 'www-authenticate': challenges.join(', ') },
      });
    return c;
  }

  return async function authenticate(ctx: PolicyContext) {
    let worst: AuthFailure | undefined;
    let worstMethod = methods[0];
    for (const m of methods) m.scrub?.(ctx);
    for (const m of methods) {
      const r = await m.authenticate(ctx);
      if (r.ok) {
        if (r.consumer) ctx.setConsumer(r.consumer);
        ctx.setIdentity(r.identity);
        if (ctx.acting) r.apply?.(ctx);
        tracker.success(m.method);
        return ctx.allow(r.rule);
      }
      if (!worst || (worst.absent && !r.absent)) {
        worst = r;
        worstMethod = m;
      }
    }
    const f = worst!;
    if (f.absent && anonymous !== undefined) {
      const c = await resolveAnonymous(ctx);
      if ('kind' in c) return c;
      ctx.setConsumer(c);
      ctx.setIdentity({ method: name, anonymous: true });
      return ctx.allow('anonymous');
    }
    tracker.failure(ctx, name, worstMethod.method, f);
    const challenge = f.challenge ?? worstMethod.challenge;
    const header = f.absent
      ? challenges.join(', ')
      : [challenge, ...challenges.filter((c) => c !== worstMethod.challenge)].join(', ');
    return ctx.reject(f.code, {
      rule: `${worstMethod.method}:${f.reason}`,
      detail: f.detail,
      headers: { 'www-authenticate': header },
    });
  };
}

/**
 * How many times a header was sent. Node keeps only the first `Authorization` and drops the
 * rest silently; two different credentials in one request are an attack signal (which one does
 * the upstream read?), so authentication refuses them.
 */
export function headerCount(ctx: PolicyContext, name: string): number {
  const raw = ctx.request.rawHeaders;
  if (!raw) return ctx.request.headers[name] === undefined ? 0 : 1;
  let n = 0;
  for (let i = 0; i < raw.length; i += 2)
    if (raw[i].length === name.length && raw[i].toLowerCase() === name) n++;
  return n;
}
