import { createHash } from 'node:crypto';
import { errors, jwtVerify } from 'jose';
import type { Clock } from '../core/clock.js';
import { type AuthFailure, fail } from './authenticator.js';
import { keyFits, type VerifyKey } from './keys.js';

/** Where an issuer's keys come from: fixed (inline JWKS, PEM, secrets) or a JWKS URL. */
export interface KeyProvider {
  get(): Promise<VerifyKey[] | undefined>;
  /** Asks for fresh keys (an unknown kid); false when the rate limit refused. */
  refetch?(): Promise<boolean>;
  /** Why keys are missing, when the provider could not be reached. */
  readonly error?: string;
}

export interface IssuerSpec {
  issuer: string;
  algorithms: readonly string[];
  audiences?: readonly string[];
  requiredClaims?: readonly string[];
  /** Claim → accepted values: a string claim must be one of them, an array claim must hold one. */
  claimValues?: Readonly<Record<string, readonly (string | number | boolean)[]>>;
  keys: KeyProvider;
}

export interface VerifierOptions {
  issuers: readonly IssuerSpec[];
  clockSkewSeconds: number;
  maxTokenBytes: number;
  /** Longest accepted age from `iat`, when set. */
  maxTokenAgeSeconds?: number;
  cacheEntries: number;
}

export interface Verified {
  claims: Record<string, unknown>;
  issuer: IssuerSpec;
  /** sha256 of the token, hex: the identity's credential when there is no `jti`. */
  hash: string;
}

interface CacheEntry {
  v: Verified;
  key: VerifyKey;
  exp: number;
  nbf: number;
}

const B64URL = /^[A-Za-z0-9_-]*$/;
const SAFE_KID = /^[A-Za-z0-9_.:=+/-]{1,128}$/;
/** Header parameters that point at keys chosen by the token's author: never fetched, never trusted. */
const KEY_POINTERS = ['jku', 'x5u', 'jwk', 'x5c'];

const invalid = (reason: string, detail: string) =>
  fail('PCS_ERR_AUTH_INVALID_TOKEN', reason, detail, {
    challenge: undefined,
  });

function decodeJson(part: string): unknown {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

/**
 * Verifies JWS-signed JWTs against an explicit per-issuer algorithm allow-list. Everything that
 * can be refused before the signature is checked is refused first and cheaply: size, shape,
 * `alg: none` in any case, key-pointer headers, odd `kid`s, unknown issuers. Then jose verifies
 * signature, `crit`, `iss`, `aud`, `exp`, `nbf` and required claims with the configured skew.
 * Verified tokens are cached by hash until they expire, and dropped when their key leaves the JWKS.
 */
export class JwtVerifier {
  private readonly byIssuer = new Map<string, IssuerSpec>();
  private readonly cache = new Map<string, CacheEntry>();
  private readonly skewMs: number;

  constructor(
    private readonly opts: VerifierOptions,
    private readonly clock: Clock,
  ) {
    for (const i of opts.issuers) this.byIssuer.set(i.issuer, i);
    this.skewMs = opts.clockSkewSeconds * 1000;
  }

  async verify(token: string): Promise<Verified | AuthFailure> {
    if (token.length > this.opts.maxTokenBytes)
      return invalid(
        'too_large',
        `token of ${token.length} bytes exceeds maxTokenBytes ${this.opts.maxTokenBytes}`,
      );
    const hash = createHash('sha256').update(token).digest('hex');
    const now = this.clock.now();
    const hit = this.cache.get(hash);
    if (hit) {
      if (now < hit.exp + this.skewMs && now >= hit.nbf - this.skewMs && (await this.stillServed(hit)))
        return hit.v;
      this.cache.delete(hash);
    }

    const parts = token.split('.');
    if (parts.length !== 3 || !parts.every((p) => B64URL.test(p)) || !parts[0] || !parts[1])
      return invalid('malformed', `not a compact JWS (${parts.length} parts)`);
    if (!parts[2]) return invalid('no_signature', 'signature part is empty');
    let header: Record<string, unknown>;
    let payload: Record<string, unknown>;
    try {
      header = decodeJson(parts[0]) as Record<string, unknown>;
    } catch {
      return invalid('malformed', 'header is not JSON');
    }
    if (!header || typeof header !== 'object' || Array.isArray(header))
      return invalid('malformed', 'header is not a JSON object');
    const alg = header.alg;
    if (typeof alg !== 'string') return invalid('malformed', 'no alg');
    if (alg.toLowerCase() === 'none') return invalid('alg_none', `alg '${alg}' refused`);
    const pointer = KEY_POINTERS.find((k) => k in header);
    if (pointer)
      return invalid('untrusted_key_header', `header carries '${pointer}'; keys come only from config`);
    const kid = header.kid;
    if (kid !== undefined && (typeof kid !== 'string' || !SAFE_KID.test(kid) || kid.includes('..')))
      return invalid('bad_kid', `kid refused: ${JSON.stringify(kid).slice(0, 80)}`);
    try {
      payload = decodeJson(parts[1]) as Record<string, unknown>;
    } catch {
      return invalid('malformed', 'payload is not JSON');
    }
    if (!payload || typeof payload !== 'object' || Array.isArray(payload))
      return invalid('malformed', 'payload is not a JSON object');
    const iss = payload.iss;
    const spec = typeof iss === 'string' ? this.byIssuer.get(iss) : undefined;
    if (!spec) return invalid('wrong_issuer', `issuer ${JSON.stringify(iss)?.slice(0, 120)} not configured`);
    if (!spec.algorithms.includes(alg))
      return invalid('alg_not_allowed', `alg ${alg} not allowed for ${spec.issuer}`);

    let keys = await spec.keys.get();
    if (keys === undefined) return this.down(spec);
    let candidates = this.candidates(keys, alg, kid as string | undefined);
    if (candidates.length === 0 && kid !== undefined && spec.keys.refetch) {
      await spec.keys.refetch();
      keys = await spec.keys.get();
      if (keys === undefined) return this.down(spec);
      candidates = this.candidates(keys, alg, kid as string);
    }
    if (candidates.length === 0)
      return invalid('unknown_key', `no ${alg} key${kid ? ` with kid '${kid}'` : ''} for ${spec.issuer}`);

    let lastErr: unknown;
    for (const k of candidates.slice(0, 5)) {
      try {
        const r = await jwtVerify(token, k.key, {
          algorithms: [alg],
          issuer: spec.issuer,
          audience: spec.audiences?.length ? [...spec.audiences] : undefined,
          clockTolerance: this.opts.clockSkewSeconds,
          requiredClaims: spec.requiredClaims ? [...spec.requiredClaims] : undefined,
          maxTokenAge: this.opts.maxTokenAgeSeconds,
          currentDate: new Date(now),
        });
        const claims = r.payload as Record<string, unknown>;
        const extra = this.checkClaims(spec, claims, now);
        if (extra) return extra;
        const v: Verified = { claims, issuer: spec, hash };
        this.remember(hash, v, k, claims);
        return v;
      } catch (err) {
        lastErr = err;
        if (!(err instanceof errors.JWSSignatureVerificationFailed)) break;
      }
    }
    return this.explain(lastErr);
  }

  private candidates(keys: VerifyKey[], alg: string, kid: string | undefined): VerifyKey[] {
    return keys.filter((k) => (kid === undefined || k.kid === kid) && keyFits(k, alg));
  }

  private down(spec: IssuerSpec): AuthFailure {
    return fail(
      'PCS_ERR_AUTH_PROVIDER_UNAVAILABLE',
      'provider_unavailable',
      `keys of ${spec.issuer} unavailable: ${spec.keys.error ?? 'not fetched yet'}`,
      { providerDown: true },
    );
  }

  private checkClaims(
    spec: IssuerSpec,
    claims: Record<string, unknown>,
    now: number,
  ): AuthFailure | undefined {
    if (typeof claims.iat === 'number' && claims.iat * 1000 > now + this.skewMs)
      return invalid('iat_future', `iat ${claims.iat} is in the future`);
    if (claims.exp === undefined) return invalid('missing_claim', 'token has no exp');
    for (const [name, accepted] of Object.entries(spec.claimValues ?? {})) {
      const v = claims[name];
      const ok = Array.isArray(v) ? v.some((x) => accepted.includes(x)) : accepted.includes(v as string);
      if (!ok) return invalid('claim_value', `claim ${name} has no accepted value`);
    }
    return undefined;
  }

  private explain(err: unknown): AuthFailure {
    const msg = (err as Error)?.message ?? String(err);
    if (err instanceof errors.JWTExpired) return invalid('expired', msg);
    if (err instanceof errors.JWTClaimValidationFailed) {
      const reason =
        {
          nbf: 'not_yet_valid',
          iss: 'wrong_issuer',
          aud: 'wrong_audience',
          iat: 'iat_invalid',
        }[err.claim] ?? (err.reason === 'missing' ? 'missing_claim' : 'claim_invalid');
      return invalid(reason, `${err.claim}: ${msg}`);
    }
    if (err instanceof errors.JWSSignatureVerificationFailed) return invalid('bad_signature', msg);
    if (err instanceof errors.JOSEAlgNotAllowed) return invalid('alg_not_allowed', msg);
    if (/crit|Extension Header/i.test(msg)) return invalid('unknown_crit', msg);
    return invalid('malformed', msg);
  }

  private remember(hash: string, v: Verified, key: VerifyKey, claims: Record<string, unknown>): void {
    if (this.opts.cacheEntries <= 0) return;
    if (this.cache.size >= this.opts.cacheEntries) this.cache.clear();
    this.cache.set(hash, {
      v,
      key,
      exp: (claims.exp as number) * 1000,
      nbf: typeof claims.nbf === 'number' ? claims.nbf * 1000 : Number.NEGATIVE_INFINITY,
    });
  }

  /** A cached token stays valid only while the key that verified it is still published. */
  private async stillServed(e: CacheEntry): Promise<boolean> {
    const keys = await e.v.issuer.keys.get();
    return keys?.includes(e.key) === true;
  }
}
