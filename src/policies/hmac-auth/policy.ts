import { timingSafeEqual } from 'node:crypto';
import { type Authenticator, absent, authPolicy, fail, quoted } from '../../auth/authenticator.js';
import { HMAC_SECRET_PREFIX } from '../../auth/issue.js';
import type { PolicyContext } from '../../core/context.js';
import { definePolicy, type PolicyDeps } from '../../core/policy.js';
import { type HmacAuthConfig, HmacAuthSchema } from './schema.js';
import { bodyDigest, parseAuthorization, sign, stringToSign } from './signature.js';

export const HMAC_KIND = 'hmac-auth';

/**
 * The hmac-auth method: the client signs method, path, date, nonce and a SHA-256 digest of the
 * body with a secret issued by the admin API. The date must be within the clock skew, and a
 * signature is accepted once: it is remembered in the counter store (shared across processes
 * with Redis) for twice the skew, so a captured request cannot be sent again.
 */
export function hmacAuthenticator(config: HmacAuthConfig, deps: PolicyDeps): Authenticator {
  const algorithms = new Set<string>(config.algorithms ?? ['hmac-sha256', 'hmac-sha512']);
  const skewMs = (config.clockSkewSeconds ?? 300) * 1000;
  const dateHeaders = (config.dateHeaders ?? ['x-date', 'date']).map((h) => h.toLowerCase());
  const maxBody = config.maxBodyBytes ?? 1024 * 1024;
  const hide = config.hideCredentials === true;
  const challenge = `HMAC realm=${quoted(config.realm ?? 'portcullis')}, algorithms=${quoted([...algorithms].join(' '))}, headers="method path date nonce digest"`;

  function signedDate(ctx: PolicyContext): string | undefined {
    for (const h of dateHeaders) {
      const v = ctx.request.headers[h];
      if (typeof v === 'string') return v;
    }
    return undefined;
  }

  return {
    method: 'hmac-auth',
    challenge,
    async authenticate(ctx) {
      const header = ctx.request.headers.authorization;
      if (header === undefined) return absent('hmac-auth');
      const p = parseAuthorization(header);
      if (p === undefined) return absent('hmac-auth');
      if (p instanceof Error)
        return fail('PCS_ERR_AUTH_INVALID_CREDENTIALS', 'malformed', `hmac: ${p.message}`);
      if (!algorithms.has(p.algorithm))
        return fail(
          'PCS_ERR_AUTH_INVALID_CREDENTIALS',
          'algorithm',
          `hmac: algorithm '${p.algorithm}' not accepted`,
        );
      const date = signedDate(ctx);
      if (date === undefined)
        return fail(
          'PCS_ERR_AUTH_INVALID_CREDENTIALS',
          'no_date',
          `hmac: none of ${dateHeaders.join(', ')} sent`,
        );
      const at = Date.parse(date);
      if (Number.isNaN(at))
        return fail('PCS_ERR_AUTH_INVALID_CREDENTIALS', 'malformed', `hmac: bad date '${date}'`);
      const now = ctx.now();
      if (Math.abs(now - at) > skewMs)
        return fail(
          'PCS_ERR_AUTH_REPLAY',
          'clock_skew',
          `hmac: date ${date} is ${Math.round((now - at) / 1000)} s off`,
        );

      const creds = await deps.directory.credentialsFor(HMAC_KIND, p.keyId);
      const cred = creds[0];
      if (!cred?.secret.startsWith(HMAC_SECRET_PREFIX))
        return fail('PCS_ERR_AUTH_INVALID_CREDENTIALS', 'unknown_key', `hmac: no active key '${p.keyId}'`);

      const body = await ctx.readBody(maxBody);
      const r = ctx.request;
      const target = r.rawQuery ? `${r.path}?${r.rawQuery}` : r.path;
      const text = stringToSign(r.method, target, date, p.nonce, bodyDigest(body));
      const expected = sign(p.algorithm, cred.secret.slice(HMAC_SECRET_PREFIX.length), text);
      const given = Buffer.from(p.signature, 'base64');
      if (given.length !== expected.length || !timingSafeEqual(given, expected))
        return fail(
          'PCS_ERR_AUTH_INVALID_CREDENTIALS',
          'bad_signature',
          `hmac: signature mismatch for key '${p.keyId}'`,
          {
            subject: cred.consumer,
          },
        );

      try {
        const seen = await deps.counters.incrBy(`hmac:seen:${p.keyId}:${p.signature}`, 1, 2 * skewMs);
        if (seen > 1)
          return fail('PCS_ERR_AUTH_REPLAY', 'replayed', `hmac: signature of key '${p.keyId}' already used`, {
            subject: cred.consumer,
          });
      } catch (err) {
        deps.logger.warn(
          { err: (err as Error).message },
          'hmac-auth: replay store unavailable, refusing signatures',
        );
        return fail(
          'PCS_ERR_AUTH_PROVIDER_UNAVAILABLE',
          'replay_store_down',
          `hmac: ${(err as Error).message}`,
          {
            providerDown: true,
          },
        );
      }

      const consumer = await deps.directory.consumer(cred.consumer);
      if (!consumer)
        return fail(
          'PCS_ERR_AUTH_INVALID_CREDENTIALS',
          'unknown_consumer',
          `hmac: consumer '${cred.consumer}' missing`,
        );
      return {
        ok: true,
        consumer,
        identity: { method: 'hmac-auth', credential: cred.id },
        rule: `hmac:${p.keyId}`,
        apply: hide ? (c) => c.removeRequestHeader('authorization') : undefined,
      };
    },
  };
}

/** HMAC request signatures with keys issued by the admin API (`kind: hmac-auth`). */
export const hmacAuth = definePolicy({
  name: 'hmac-auth',
  description:
    'Authenticate by an HMAC signature over method, path, date, nonce and body digest, with replay protection.',
  schema: HmacAuthSchema,
  priority: 100,
  create(config, deps) {
    return { auth: authPolicy('hmac-auth', [hmacAuthenticator(config, deps)], config, deps) };
  },
});
