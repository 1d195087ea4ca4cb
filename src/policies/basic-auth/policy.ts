import { createHash, randomBytes } from 'node:crypto';
import {
  type Authenticator,
  absent,
  authPolicy,
  fail,
  headerCount,
  quoted,
} from '../../auth/authenticator.js';
import { verifyPassword } from '../../auth/secrets.js';
import { definePolicy, type PolicyDeps } from '../../core/policy.js';
import { type BasicAuthConfig, BasicAuthSchema } from './schema.js';

/** HTTP Basic (RFC 7617) against scrypt password hashes issued by the admin API. */
export function basicAuthenticator(config: BasicAuthConfig, deps: PolicyDeps): Authenticator {
  const challenge = `Basic realm=${quoted(config.realm)}, charset="UTF-8"`;
  const verified = new Map<string, number>();
  const pepper = randomBytes(16);
  const ttl = config.cacheSeconds * 1000;
  return {
    method: 'basic-auth',
    challenge,
    async authenticate(ctx) {
      const h = ctx.request.headers.authorization;
      if (h === undefined) return absent('basic-auth');
      if (headerCount(ctx, 'authorization') > 1)
        return fail(
          'PCS_ERR_AUTH_INVALID_CREDENTIALS',
          'duplicate_authorization',
          'Authorization header sent more than once',
        );
      const m = /^Basic[ \t]+([A-Za-z0-9+/]+=*)[ \t]*$/i.exec(h);
      if (!m) {
        if (/^basic\b/i.test(h.trim()) || h.trim() === '')
          return fail('PCS_ERR_AUTH_INVALID_CREDENTIALS', 'malformed', 'malformed Basic credentials');
        return absent('basic-auth');
      }
      const text = Buffer.from(m[1], 'base64').toString('utf8');
      const colon = text.indexOf(':');
      if (colon < 1) return fail('PCS_ERR_AUTH_INVALID_CREDENTIALS', 'malformed', 'no user-id:password pair');
      const user = text.slice(0, colon);
      const password = text.slice(colon + 1);
      const creds = await deps.directory.credentialsFor('basic-auth', user);
      const cred = creds[0];
      if (!cred) {
        // Same work as a real check, so unknown users cannot be told apart by timing.
        await verifyPassword(
          password,
          'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
        );
        return fail(
          'PCS_ERR_AUTH_INVALID_CREDENTIALS',
          'unknown_user',
          `no active basic-auth user '${user.slice(0, 64)}'`,
        );
      }
      const key = createHash('sha256')
        .update(pepper)
        .update(cred.id)
        .update('\0')
        .update(password)
        .digest('hex');
      const now = deps.clock.now();
      const until = verified.get(key);
      if (!(until !== undefined && until > now)) {
        if (!(await verifyPassword(password, cred.secret)))
          return fail('PCS_ERR_AUTH_INVALID_CREDENTIALS', 'bad_password', `wrong password for '${user}'`, {
            subject: cred.consumer,
          });
        if (ttl > 0) {
          if (verified.size > 10_000) verified.clear();
          verified.set(key, now + ttl);
        }
      }
      const consumer = await deps.directory.consumer(cred.consumer);
      if (!consumer)
        return fail(
          'PCS_ERR_AUTH_INVALID_CREDENTIALS',
          'unknown_consumer',
          `consumer '${cred.consumer}' missing`,
        );
      return {
        ok: true,
        consumer,
        identity: { method: 'basic-auth', credential: cred.id },
        rule: `basic:${user}`,
        apply: config.hideCredentials ? (c) => c.removeRequestHeader('authorization') : undefined,
      };
    },
  };
}

export const basicAuth = definePolicy({
  name: 'basic-auth',
  description: 'Authenticate by HTTP Basic username and password, checked against scrypt hashes.',
  schema: BasicAuthSchema,
  priority: 100,
  create(config, deps) {
    return { auth: authPolicy('basic-auth', [basicAuthenticator(config, deps)], config, deps) };
  },
});
