import {
  type AuthFailure,
  type AuthResult,
  type Authenticator,
  absent,
  authPolicy,
  fail,
  quoted,
} from '../../auth/authenticator.js';
import { apiKeyPrefix, sha256Hex } from '../../auth/secrets.js';
import { timingSafeEqual } from 'node:crypto';
import type { PolicyContext } from '../../core/context.js';
import { definePolicy, type PolicyDeps } from '../../core/policy.js';
import { type KeyAuthConfig, KeyAuthSchema } from './schema.js';

export const KEY_AUTH_KIND = 'key-auth';

/** The key-auth method: a key from a header or query parameter, checked against hashed keys. */
export function keyAuthenticator(config: KeyAuthConfig, deps: PolicyDeps): Authenticator {
  const header = (config.header ?? 'x-api-key').toLowerCase();
  const query = config.query;
  if (query && config.hideCredentials)
    throw new Error(
      'hideCredentials cannot strip a key sent in the query string; drop `query` or `hideCredentials`',
    );
  const challenge = `ApiKey realm=${quoted(config.realm ?? 'portcullis')}, header=${quoted(header)}`;
  const hide = config.hideCredentials === true;

  function presented(ctx: PolicyContext): string | string[] | undefined {
    const h = ctx.request.headers[header];
    if (h !== undefined) return h;
    if (!query || !ctx.request.rawQuery) return undefined;
    const all = new URLSearchParams(ctx.request.rawQuery).getAll(query);
    return all.length === 0 ? undefined : all.length === 1 ? all[0] : all;
  }

  // Keys verified in the last directory TTL (1 s), so the hot path skips the hash and the
  // lookups. Entries die with the TTL, with the key's expiry, and on any admin write to
  // consumers or credentials (the directory's generation), so a revocation still takes effect
  // at once on this process and within the TTL elsewhere.
  const verified = new Map<string, { result: AuthResult; at: number; expires: number; generation: number }>();
  const directory = deps.directory;

  return {
    method: 'key-auth',
    challenge,
    async authenticate(ctx) {
      const key = presented(ctx);
      if (key === undefined) return absent('key-auth');
      if (typeof key !== 'string')
        return fail('PCS_ERR_AUTH_INVALID_KEY', 'duplicate', 'key sent more than once');
      const now = deps.clock.now();
      const hit = verified.get(key);
      if (hit && now - hit.at < directory.ttl && now < hit.expires && hit.generation === directory.generation)
        return hit.result;
      const generation = directory.generation;
      const r = await lookup(key);
      if (!('result' in r)) return r;
      if (verified.size >= 10_000) verified.clear();
      verified.set(key, { result: r.result, at: now, expires: r.expires, generation });
      return r.result;
    },
  };

  async function lookup(key: string): Promise<AuthFailure | { result: AuthResult; expires: number }> {
    {
      const prefix = apiKeyPrefix(key.trim());
      if (!prefix)
        return fail('PCS_ERR_AUTH_INVALID_KEY', 'malformed', `malformed key (${key.length} chars)`);
      const hash = Buffer.from(sha256Hex(key.trim()), 'hex');
      const creds = await deps.directory.credentialsFor(KEY_AUTH_KIND, prefix);
      const cred = creds.find((c) => {
        const stored = Buffer.from(c.secret, 'hex');
        return stored.length === hash.length && timingSafeEqual(stored, hash);
      });
      if (!cred)
        return fail('PCS_ERR_AUTH_INVALID_KEY', 'unknown_key', `no active key with prefix ${prefix}`);
      const consumer = await deps.directory.consumer(cred.consumer);
      if (!consumer)
        return fail(
          'PCS_ERR_AUTH_INVALID_KEY',
          'unknown_consumer',
          `key ${prefix}: consumer '${cred.consumer}' missing`,
          {
            subject: cred.consumer,
          },
        );
      return {
        result: {
          ok: true,
          consumer,
          identity: { method: 'key-auth', credential: cred.id },
          rule: `key:${prefix}`,
          apply: hide ? (c) => c.removeRequestHeader(header) : undefined,
        },
        expires: cred.expiresAt ? Date.parse(cred.expiresAt) : Number.POSITIVE_INFINITY,
      };
    }
  }
}

/** API keys issued by the admin API or CLI, stored as SHA-256 hashes with a public prefix. */
export const keyAuth = definePolicy({
  name: 'key-auth',
  description:
    'Authenticate by API key in a header or query parameter; keys are issued, rotated and revoked by the admin API.',
  schema: KeyAuthSchema,
  priority: 100,
  create(config, deps) {
    return { auth: authPolicy('key-auth', [keyAuthenticator(config, deps)], config, deps) };
  },
});
