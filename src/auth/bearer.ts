import type { Identity, PolicyContext } from '../core/context.js';
import type { PolicyDeps } from '../core/policy.js';
import {
  type AuthFailure,
  type Authenticator,
  type AuthResult,
  absent,
  fail,
  headerCount,
  quoted,
} from './authenticator.js';

export interface BearerOptions {
  realm: string;
  /** Claim naming the consumer (`sub` by default). */
  consumerClaim: string;
  /** Refuse a valid token whose consumer does not exist. */
  consumerRequired: boolean;
  /** Claims forwarded upstream: claim → header name. */
  forwardClaims: Readonly<Record<string, string>>;
  hideCredentials: boolean;
}

/** What a token check gives back: verified claims, or a failure. */
export type TokenCheck = (
  token: string,
  ctx: PolicyContext,
) => Promise<{ claims: Record<string, unknown>; credential: string; rule: string } | AuthFailure>;

const BEARER = /^Bearer[ \t]+(.*)$/i;
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

/** A claim as a header value: strings as they are, everything else as JSON; control characters dropped. */
function headerValue(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.replace(/[^\x20-\x7e\x80-\xff]/g, '').slice(0, 4096);
}

/** Scopes from `scope` (space-separated) or `scp` (array or string). */
export function scopesOf(claims: Record<string, unknown>): string[] | undefined {
  const s = claims.scope ?? claims.scp;
  if (typeof s === 'string') return s.split(' ').filter(Boolean);
  if (Array.isArray(s)) return s.filter((x): x is string => typeof x === 'string');
  return undefined;
}

/**
 * An authenticator for `Authorization: Bearer <token>` (RFC 6750): jwt, oidc and introspection
 * differ only in how the token is checked. A header with another scheme counts as absent (so a
 * multi-auth route can try Basic next); a blank or malformed bearer value is an invalid token.
 * Headers that forward claims are removed from every request first, so a client cannot forge them.
 */
export function bearerAuthenticator(
  method: string,
  check: TokenCheck,
  o: BearerOptions,
  deps: PolicyDeps,
): Authenticator {
  const base = `Bearer realm=${quoted(o.realm)}`;
  const invalidChallenge = `${base}, error="invalid_token"`;
  const forward = Object.entries(o.forwardClaims).map(
    ([claim, header]) => [claim, header.toLowerCase()] as const,
  );
  for (const [, h] of forward) deps.assertsHeader?.(h);

  function invalid(f: AuthFailure): AuthFailure {
    return f.challenge || f.providerDown ? f : { ...f, challenge: invalidChallenge };
  }

  return {
    method,
    challenge: base,
    scrub(ctx) {
      for (const [, h] of forward) ctx.removeRequestHeader(h);
    },
    async authenticate(ctx): Promise<AuthResult> {
      const h = ctx.request.headers.authorization;
      if (h === undefined) return absent(method);
      if (headerCount(ctx, 'authorization') > 1)
        return invalid(
          fail(
            'PCS_ERR_AUTH_INVALID_TOKEN',
            'duplicate_authorization',
            'Authorization header sent more than once',
          ),
        );
      const value = h.trim();
      if (value === '')
        return invalid(
          fail('PCS_ERR_AUTH_INVALID_TOKEN', 'blank_authorization', 'Authorization header is blank'),
        );
      const m = BEARER.exec(value);
      if (!m) {
        if (/^bearer$/i.test(value))
          return invalid(fail('PCS_ERR_AUTH_INVALID_TOKEN', 'malformed', 'Bearer without a token'));
        return absent(method);
      }
      const token = m[1].trim();
      if (!TOKEN68.test(token))
        return invalid(
          fail('PCS_ERR_AUTH_INVALID_TOKEN', 'malformed', 'bearer value is not a single token68'),
        );
      const r = await check(token, ctx);
      if ('ok' in r) return invalid(r);
      const claims = r.claims;
      const identity: Identity = { method, credential: r.credential, claims, scopes: scopesOf(claims) };
      const who = claims[o.consumerClaim];
      const consumer = typeof who === 'string' && who ? await deps.directory.consumer(who) : undefined;
      if (!consumer && o.consumerRequired)
        return invalid(
          fail(
            'PCS_ERR_AUTH_INVALID_TOKEN',
            'unknown_consumer',
            `${o.consumerClaim} ${JSON.stringify(who)} is not a consumer`,
            {
              subject: typeof who === 'string' ? who : undefined,
            },
          ),
        );
      return {
        ok: true,
        consumer,
        identity,
        rule: r.rule,
        apply(c) {
          if (o.hideCredentials) c.removeRequestHeader('authorization');
          for (const [claim, header] of forward)
            if (claims[claim] !== undefined) c.setRequestHeader(header, headerValue(claims[claim]));
        },
      };
    },
  };
}
