import { createPublicKey, createSecretKey, type JsonWebKey, type KeyObject } from 'node:crypto';

export const JWS_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
  'HS256',
  'HS384',
  'HS512',
] as const;
export type JwsAlgorithm = (typeof JWS_ALGORITHMS)[number];

/** A verification key with what it may verify. */
export interface VerifyKey {
  kid?: string;
  /** The JWK's `alg` when it names one: the key then verifies that algorithm only. */
  alg?: string;
  key: KeyObject;
}

const EC_CURVES: Record<string, string> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };

/**
 * Can this key verify this algorithm? HS needs a secret key (so an HMAC key is never made from a
 * public key, the "key confusion" attack); RS/PS need RSA of at least 2048 bits; ES needs the
 * algorithm's curve; EdDSA needs an Edwards key.
 */
export function keyFits(k: VerifyKey, alg: string): boolean {
  if (k.alg && k.alg !== alg) return false;
  const key = k.key;
  if (alg.startsWith('HS')) return key.type === 'secret' && (key.symmetricKeySize ?? 0) >= 32;
  if (key.type !== 'public') return false;
  const t = key.asymmetricKeyType;
  if (alg.startsWith('RS') || alg.startsWith('PS'))
    return (
      (t === 'rsa' || (t === 'rsa-pss' && alg.startsWith('PS'))) &&
      (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048
    );
  if (alg.startsWith('ES')) return t === 'ec' && key.asymmetricKeyDetails?.namedCurve === EC_CURVES[alg];
  if (alg === 'EdDSA') return t === 'ed25519' || t === 'ed448';
  if (alg === 'Ed25519') return t === 'ed25519';
  return false;
}

/**
 * Keys from a JWKS document. Symmetric (`oct`) keys are taken only when `allowSecret` (an inline
 * JWKS in the config); a JWKS fetched over the network gives public keys only. Keys not for
 * signatures (`use` other than `sig`) and malformed keys are skipped and reported.
 */
export function keysFromJwks(doc: unknown, allowSecret: boolean): { keys: VerifyKey[]; skipped: string[] } {
  const keys: VerifyKey[] = [];
  const skipped: string[] = [];
  const list = (doc as { keys?: unknown })?.keys;
  if (!Array.isArray(list)) throw new Error('JWKS has no "keys" array');
  list.forEach((raw, i) => {
    const jwk = raw as JsonWebKey & { kid?: unknown; alg?: unknown; use?: unknown; k?: string };
    const name = typeof jwk?.kid === 'string' ? jwk.kid : `#${i}`;
    try {
      if (!jwk || typeof jwk !== 'object') throw new Error('not an object');
      if (jwk.use !== undefined && jwk.use !== 'sig') throw new Error(`use '${String(jwk.use)}'`);
      let key: KeyObject;
      if (jwk.kty === 'oct') {
        if (!allowSecret) throw new Error('symmetric key in a fetched JWKS');
        key = createSecretKey(Buffer.from(String(jwk.k ?? ''), 'base64url'));
      } else {
        if ('d' in jwk) throw new Error('private key material');
        key = createPublicKey({ key: jwk, format: 'jwk' });
      }
      keys.push({
        kid: typeof jwk.kid === 'string' ? jwk.kid : undefined,
        alg: typeof jwk.alg === 'string' ? jwk.alg : undefined,
        key,
      });
    } catch (err) {
      skipped.push(`${name}: ${(err as Error).message}`);
    }
  });
  return { keys, skipped };
}

/** A public key from PEM (SPKI or a certificate). Private keys are refused. */
export function keyFromPem(pem: string, kid?: string): VerifyKey {
  if (/PRIVATE KEY/.test(pem)) throw new Error('a private key was given where a public key belongs');
  return { kid, key: createPublicKey(pem) };
}

/** An HMAC secret; at least 32 bytes (RFC 7518 §3.2 asks for the hash size). */
export function keyFromSecret(secret: string, kid?: string): VerifyKey {
  const bytes = Buffer.from(secret, 'utf8');
  if (bytes.length < 32) throw new Error('an HMAC secret needs at least 32 bytes');
  return { kid, key: createSecretKey(bytes) };
}
