import { formatAjvErrors, validator } from '../../config/ajv.js';
import { authPolicy, type Authenticator } from '../../auth/authenticator.js';
import { definePolicy, type PolicyDeps } from '../../core/policy.js';
import { basicAuthenticator } from '../basic-auth/policy.js';
import { BasicAuthSchema } from '../basic-auth/schema.js';
import { hmacAuthenticator } from '../hmac-auth/policy.js';
import { HmacAuthSchema } from '../hmac-auth/schema.js';
import { issuerSpec, jwtAuthenticator } from '../jwt/policy.js';
import { JwtSchema } from '../jwt/schema.js';
import { keyAuthenticator } from '../key-auth/policy.js';
import { KeyAuthSchema } from '../key-auth/schema.js';
import { mtlsAuthenticator } from '../mtls-auth/policy.js';
import { MtlsAuthSchema } from '../mtls-auth/schema.js';
import { oauth2Introspection } from '../oauth2-introspection/policy.js';
import { oidc } from '../oidc/policy.js';
import { type MultiAuthConfig, MultiAuthSchema } from './schema.js';

type Builder = (config: never, deps: PolicyDeps) => Authenticator;

/** Wraps a whole-policy module as one authenticator (oidc, introspection): their single method. */
function fromPolicy(mod: typeof oidc | typeof oauth2Introspection, method: string): [object, Builder] {
  return [
    mod.schema,
    (config, deps) => {
      const fn = mod.create(config as never, deps).auth!;
      // The policy's own wrapper answers; run it and translate its outcome.
      return {
        method,
        challenge: 'Bearer realm="portcullis"',
        async authenticate(ctx) {
          const out = await fn(ctx);
          if (!out || out.kind === 'allow')
            return {
              ok: true,
              identity: ctx.identity ?? { method },
              consumer: ctx.consumer,
              rule: out?.rule ?? method,
            };
          if (out.kind !== 'reject')
            return {
              ok: false,
              absent: false,
              code: 'PCS_ERR_AUTH_INVALID_TOKEN',
              reason: 'unexpected',
              detail: method,
            };
          return {
            ok: false,
            absent: out.code === 'PCS_ERR_AUTH_REQUIRED',
            code: out.code,
            reason: out.rule?.split(':').pop() ?? 'invalid',
            detail: out.detail ?? '',
            challenge: out.headers?.['www-authenticate'],
          };
        },
      };
    },
  ];
}

const BUILDERS: Record<string, [object, Builder]> = {
  'key-auth': [KeyAuthSchema, (c, d) => keyAuthenticator(c, d)],
  'basic-auth': [BasicAuthSchema, (c, d) => basicAuthenticator(c, d)],
  'hmac-auth': [HmacAuthSchema, (c, d) => hmacAuthenticator(c, d)],
  'mtls-auth': [MtlsAuthSchema, (c, d) => mtlsAuthenticator(c, d)],
  jwt: [
    JwtSchema,
    (c: never, d) => {
      const cfg = c as unknown as import('../jwt/schema.js').JwtConfig;
      return jwtAuthenticator(
        'jwt',
        cfg.issuers.map((i, n) => issuerSpec(i, `issuers/${n}`, cfg, d)),
        cfg,
        d,
      );
    },
  ],
  oidc: fromPolicy(oidc, 'oidc'),
  'oauth2-introspection': fromPolicy(oauth2Introspection, 'oauth2-introspection'),
};

/** Several authentication methods on one route: tried in order, the first success wins. */
export const multiAuth = definePolicy({
  name: 'multi-auth',
  description:
    'Accept several authentication methods on one route, tried in a set order, with an optional anonymous consumer.',
  schema: MultiAuthSchema,
  priority: 100,
  create(config: MultiAuthConfig, deps) {
    const methods = config.methods.map((m, i) => {
      const [schema, build] = BUILDERS[m.policy];
      const { anonymous: _ignored, ...own } = m.config;
      const v = validator(schema as never);
      if (!v(own))
        throw new Error(
          `methods/${i}/config: ${formatAjvErrors(v.errors)
            .map((e) => `${e.path} ${e.message}`)
            .join('; ')}`,
        );
      return build(own as never, deps);
    });
    return { auth: authPolicy('multi-auth', methods, config, deps) };
  },
});
