/**
 * Request headers that say who the caller is or what it proved: the gateway asserts them to
 * upstreams, so a client never may. The data plane drops every one from each request before
 * the policy chain runs, on every route, whether or not a policy on that route sets them.
 * One list for the whole gateway; policies take their header names from here.
 */

/** acl: the consumer's groups. */
export const CONSUMER_GROUPS_HEADER = 'x-consumer-groups';
/** mtls-auth: the verified client certificate's subject and SHA-256 fingerprint. */
export const CLIENT_CERT_SUBJECT_HEADER = 'x-client-cert-subject';
export const CLIENT_CERT_FINGERPRINT_HEADER = 'x-client-cert-fingerprint';

/**
 * Families reserved for identity: ours above, and the ones gateways in front of the same
 * upstreams set (Kong's `X-Consumer-*`, `X-Credential-*`, `X-Authenticated-*`,
 * `X-Anonymous-*`), so an upstream moved behind Portcullis cannot be fooled by the client.
 */
const PREFIXES = ['x-consumer-', 'x-credential-', 'x-authenticated-', 'x-anonymous-', 'x-client-cert-'];
/** Single names: Kong's OIDC user info, Envoy's client-certificate header. */
const NAMES: ReadonlySet<string> = new Set(['x-userinfo', 'x-forwarded-client-cert', 'x-client-cert']);

/**
 * True for a (lower-case) header name the gateway asserts: the fixed list above, or one a
 * policy of the revision declared (`asserted`: forwarded JWT claims, the bot class header).
 * Costs two character reads for almost every header.
 */
export function isIdentityHeader(name: string, asserted: ReadonlySet<string>): boolean {
  if (asserted.size !== 0 && asserted.has(name)) return true;
  if (name.charCodeAt(0) !== 120 /* x */ || name.charCodeAt(1) !== 45 /* - */) return false;
  for (const p of PREFIXES) if (name.startsWith(p)) return true;
  return NAMES.has(name);
}

/** Headers a client legitimately sends or the gateway manages: a policy may not assert them. */
const NOT_ASSERTABLE: ReadonlySet<string> = new Set([
  'host',
  'authorization',
  'proxy-authorization',
  'cookie',
  'content-type',
  'content-length',
  'content-encoding',
  'transfer-encoding',
  'connection',
  'user-agent',
  'accept',
  'x-request-id',
  'x-real-ip',
  'forwarded',
]);

/**
 * Why a policy may not declare `name` as an asserted header (it would be stripped from every
 * request of the revision, breaking the clients that send it), or undefined when it may.
 */
export function assertableHeaderProblem(name: string): string | undefined {
  if (NOT_ASSERTABLE.has(name) || name.startsWith('x-forwarded-'))
    return `header '${name}' is sent by clients or managed by the gateway; choose another name (e.g. x-user-${name})`;
  return undefined;
}
