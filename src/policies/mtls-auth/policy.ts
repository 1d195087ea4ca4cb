import { type Authenticator, absent, authPolicy, fail, quoted } from '../../auth/authenticator.js';
import { mtlsLookup } from '../../auth/issue.js';
import type { TlsInfo } from '../../core/context.js';
import { CLIENT_CERT_FINGERPRINT_HEADER, CLIENT_CERT_SUBJECT_HEADER } from '../../core/identity-headers.js';
import { definePolicy, type PolicyDeps } from '../../core/policy.js';
import { type MtlsAuthConfig, MtlsAuthSchema } from './schema.js';

export const MTLS_KIND = 'mtls-auth';
const SUBJECT_HEADER = CLIENT_CERT_SUBJECT_HEADER;
const FINGERPRINT_HEADER = CLIENT_CERT_FINGERPRINT_HEADER;

/** The lookup values of a certificate, in the configured order. */
function lookups(tls: TlsInfo, match: readonly string[]): string[] {
  const out: string[] = [];
  for (const m of match) {
    if (m === 'fingerprint' && tls.fingerprint256) out.push(mtlsLookup('fingerprint', tls.fingerprint256));
    else if (m === 'subject' && tls.subject) out.push(mtlsLookup('subject', tls.subject));
    else if (m === 'san') for (const s of tls.san) out.push(mtlsLookup('san', s));
  }
  return out;
}

/**
 * The mtls-auth method: the HTTPS listener asks for a client certificate and verifies it against
 * its CA files; this maps a verified certificate to a consumer through credentials of kind
 * `mtls-auth` (fingerprint, subject or SAN). An unverified certificate is refused with 401.
 */
export function mtlsAuthenticator(config: MtlsAuthConfig, deps: PolicyDeps): Authenticator {
  const match = config.match ?? ['fingerprint', 'subject', 'san'];
  const forward = config.forwardHeaders === true;
  return {
    method: 'mtls-auth',
    challenge: `ClientCertificate realm=${quoted(config.realm ?? 'portcullis')}`,
    scrub(ctx) {
      ctx.removeRequestHeader(SUBJECT_HEADER);
      ctx.removeRequestHeader(FINGERPRINT_HEADER);
    },
    async authenticate(ctx) {
      const tls = ctx.request.tls;
      if (!tls || tls.fingerprint256 === undefined) {
        const a = absent('mtls-auth');
        return tls ? a : { ...a, detail: 'mtls-auth: plain HTTP, no TLS client certificate possible' };
      }
      if (!tls.authorized)
        return fail(
          'PCS_ERR_AUTH_INVALID_CREDENTIALS',
          'unverified',
          `mtls: certificate ${tls.subject} (${tls.fingerprint256}) not verified: ${tls.error}`,
        );
      for (const lookup of lookups(tls, match)) {
        const cred = (await deps.directory.credentialsFor(MTLS_KIND, lookup))[0];
        if (!cred) continue;
        const consumer = await deps.directory.consumer(cred.consumer);
        if (!consumer)
          return fail(
            'PCS_ERR_AUTH_INVALID_CREDENTIALS',
            'unknown_consumer',
            `mtls: consumer '${cred.consumer}' missing`,
          );
        return {
          ok: true,
          consumer,
          identity: { method: 'mtls-auth', credential: cred.id },
          rule: `mtls:${lookup.slice(0, lookup.indexOf(':'))}`,
          apply: forward
            ? (c) => {
                c.setRequestHeader(SUBJECT_HEADER, tls.subject ?? '');
                c.setRequestHeader(FINGERPRINT_HEADER, tls.fingerprint256 ?? '');
              }
            : undefined,
        };
      }
      return fail(
        'PCS_ERR_AUTH_INVALID_CREDENTIALS',
        'unknown_certificate',
        `mtls: no credential for ${tls.subject} (${tls.fingerprint256})`,
      );
    },
  };
}

/** Client certificates over the HTTPS listener, mapped to consumers (`kind: mtls-auth` credentials). */
export const mtlsAuth = definePolicy({
  name: 'mtls-auth',
  description: 'Authenticate by a verified TLS client certificate, matched on fingerprint, subject or SAN.',
  schema: MtlsAuthSchema,
  priority: 100,
  create(config, deps) {
    return { auth: authPolicy('mtls-auth', [mtlsAuthenticator(config, deps)], config, deps) };
  },
});
