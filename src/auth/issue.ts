import { randomBytes } from 'node:crypto';
import type { Credential, IdentityStore } from '../store/identity-store.js';
import { hashPassword, newApiKey, randomText } from './secrets.js';

/** Credential kinds the admin API issues, and what each needs. */
export const CREDENTIAL_KINDS = ['key-auth', 'basic-auth', 'hmac-auth', 'mtls-auth'] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

/** What the caller asks for. Unused fields for a kind are refused by the admin schema's checks here. */
export interface IssueRequest {
  kind: CredentialKind;
  label?: string;
  /** ISO time after which the credential stops working. */
  expiresAt?: string;
  /** basic-auth: the username (the lookup value). */
  username?: string;
  /** basic-auth: the password; generated when absent. */
  password?: string;
  /** hmac-auth: the key id; generated when absent. */
  keyId?: string;
  /** mtls-auth: what the certificate is matched on, and the value. */
  match?: 'fingerprint' | 'subject' | 'san';
  value?: string;
  metadata?: Record<string, unknown>;
}

export class IssueError extends Error {
  constructor(
    message: string,
    readonly conflict = false,
  ) {
    super(message);
  }
}

/** A credential as listed: never the secret or its hash. */
export function publicCredential(c: Credential): Omit<Credential, 'secret'> {
  const { secret: _secret, ...rest } = c;
  return rest;
}

/** The stored form of an HMAC secret: the algorithm needs it back, so it is kept, marked. */
export const HMAC_SECRET_PREFIX = 'raw:';

/** The lookup value of an mTLS credential. Fingerprints are lower-case hex without colons. */
export function mtlsLookup(match: string, value: string): string {
  const v = match === 'fingerprint' ? value.replace(/:/g, '').toLowerCase() : value;
  return `${match}:${v}`;
}

/**
 * Issues a credential for a consumer. Returns the stored credential (without its secret) and the
 * material to show once: the API key, the generated password, the HMAC secret.
 */
export async function issueCredential(
  store: IdentityStore,
  consumer: string,
  req: IssueRequest,
  now: number,
): Promise<{ credential: Omit<Credential, 'secret'>; shownOnce?: Record<string, string> }> {
  if (req.expiresAt !== undefined) {
    const t = Date.parse(req.expiresAt);
    if (Number.isNaN(t)) throw new IssueError('expiresAt is not an ISO date-time');
    if (t <= now) throw new IssueError('expiresAt is in the past');
  }
  const common = {
    consumer,
    kind: req.kind,
    label: req.label ?? '',
    metadata: req.metadata ?? {},
    expiresAt: req.expiresAt ? new Date(req.expiresAt).toISOString() : undefined,
  };
  switch (req.kind) {
    case 'key-auth': {
      const k = newApiKey();
      const c = await store.insertCredential({ ...common, lookup: k.prefix, secret: k.hash });
      return { credential: publicCredential(c), shownOnce: { key: k.key } };
    }
    case 'basic-auth': {
      const username = req.username;
      if (!username || !/^[^:\s]{1,128}$/.test(username))
        throw new IssueError('basic-auth needs a username of 1-128 characters without ":" or spaces');
      if ((await store.findCredentials('basic-auth', username)).length)
        throw new IssueError(`username '${username}' is taken`, true);
      const generated = req.password === undefined;
      const password = req.password ?? randomBytes(18).toString('base64url');
      if (password.length < 8) throw new IssueError('password must have at least 8 characters');
      const c = await store.insertCredential({
        ...common,
        lookup: username,
        secret: await hashPassword(password),
      });
      return { credential: publicCredential(c), shownOnce: generated ? { password } : undefined };
    }
    case 'hmac-auth': {
      const keyId = req.keyId ?? `hk_${randomText(16)}`;
      if (!/^[A-Za-z0-9._-]{1,128}$/.test(keyId))
        throw new IssueError('keyId must match [A-Za-z0-9._-]{1,128}');
      if ((await store.findCredentials('hmac-auth', keyId)).length)
        throw new IssueError(`keyId '${keyId}' is taken`, true);
      const secret = randomBytes(32).toString('base64url');
      const c = await store.insertCredential({
        ...common,
        lookup: keyId,
        secret: HMAC_SECRET_PREFIX + secret,
      });
      return { credential: publicCredential(c), shownOnce: { keyId, secret } };
    }
    case 'mtls-auth': {
      const match = req.match ?? 'fingerprint';
      if (!['fingerprint', 'subject', 'san'].includes(match))
        throw new IssueError('match must be fingerprint, subject or san');
      if (!req.value) throw new IssueError('mtls-auth needs a value (the fingerprint, subject or SAN)');
      if (match === 'fingerprint' && !/^([0-9a-fA-F]{2}:?){31}[0-9a-fA-F]{2}$/.test(req.value))
        throw new IssueError('fingerprint must be a SHA-256 fingerprint in hex');
      const lookup = mtlsLookup(match, req.value);
      if ((await store.findCredentials('mtls-auth', lookup)).length)
        throw new IssueError(`${lookup} is already bound to a consumer`, true);
      const c = await store.insertCredential({ ...common, lookup, secret: '' });
      return { credential: publicCredential(c) };
    }
    default:
      throw new IssueError(`unknown credential kind '${(req as { kind: string }).kind}'`);
  }
}
