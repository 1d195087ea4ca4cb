import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Random text over [a-z0-9], unbiased. */
export function randomText(len: number): string {
  let out = '';
  while (out.length < len) {
    for (const b of randomBytes(len * 2)) {
      if (b < 252 && out.length < len) out += ALPHABET[b % 36];
    }
  }
  return out;
}

/** Length of the public prefix of an API key: the lookup value, shown in listings. */
export const KEY_PREFIX_LENGTH = 8;

/**
 * A new API key: `pcs_<prefix>_<secret>`. The prefix (8 chars) is stored in clear for lookup;
 * the whole key only as a SHA-256 hash. 43 random base64url chars give 256 bits, so a fast hash
 * is safe here (no dictionary to try) and keeps the hot path cheap.
 */
export function newApiKey(): { key: string; prefix: string; hash: string } {
  const prefix = randomText(KEY_PREFIX_LENGTH);
  const key = `pcs_${prefix}_${randomBytes(32).toString('base64url')}`;
  return { key, prefix, hash: sha256Hex(key) };
}

const KEY_SHAPE = /^pcs_([a-z0-9]{8})_[A-Za-z0-9_-]{43}$/;

/** The prefix of a well-formed key, or undefined. */
export function apiKeyPrefix(key: string): string | undefined {
  return KEY_SHAPE.exec(key)?.[1];
}

export function sha256Hex(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Constant-time comparison of two strings of any length. */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

/** scrypt cost: N=2^15, r=8, p=1 (32 MiB per hash). Each hash records its parameters, so they can be raised later without breaking stored ones. */
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

function scryptAsync(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, 32, { N: n, r, p, maxmem: SCRYPT.maxmem }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** A password hash in the form `scrypt$N$r$p$salt$hash` (base64url). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, SCRYPT.N, SCRYPT.r, SCRYPT.p);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Checks a password against a stored scrypt hash in constant time; false on any malformed hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = parts.slice(1, 4).map(Number);
  if (!(n >= 1024 && n <= 1 << 20 && r >= 1 && r <= 32 && p >= 1 && p <= 16)) return false;
  const expected = Buffer.from(parts[5], 'base64url');
  if (expected.length !== 32) return false;
  const key = await scryptAsync(password, Buffer.from(parts[4], 'base64url'), n, r, p);
  return timingSafeEqual(key, expected);
}
