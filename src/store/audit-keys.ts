import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** A key of the audit chain: the secret stays in memory, only `id` is stored with each event. */
export interface AuditKey {
  /** First 8 hex of HMAC-SHA256(secret, "portcullis-audit-key-id"): names the key, reveals nothing. */
  readonly id: string;
  readonly secret: Buffer;
}

/** The keys that verify the chain; the first one also signs new events (rotation: new key first). */
export type AuditKeyRing = readonly AuditKey[];

/** Shorter secrets are refused: 32 bytes is what `openssl rand -hex 32` gives as 64 characters. */
export const MIN_AUDIT_KEY_BYTES = 32;

export function auditKeyId(secret: Buffer): string {
  return createHmac('sha256', secret).update('portcullis-audit-key-id').digest('hex').slice(0, 8);
}

/** A key from its secret (a string is taken as UTF-8; whitespace at either end is dropped). */
export function auditKey(secret: Buffer | string): AuditKey {
  const buf = trimBuffer(typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret);
  if (buf.length < MIN_AUDIT_KEY_BYTES)
    throw new Error(
      `audit key too short: ${buf.length} bytes, at least ${MIN_AUDIT_KEY_BYTES} (make one with: openssl rand -hex 32)`,
    );
  return { id: auditKeyId(buf), secret: buf };
}

/** Reads a key file (its whole content, trailing newline dropped); the error names the file. */
export function readAuditKeyFile(path: string): AuditKey {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read audit key file ${path}: ${(err as Error).message}`);
  }
  try {
    return auditKey(raw);
  } catch (err) {
    throw new Error(`audit key file ${path}: ${(err as Error).message}`);
  }
}

/** Drops ASCII whitespace at both ends (a text key file's newline), leaving binary bytes as they are. */
function trimBuffer(b: Buffer): Buffer {
  const ws = (c: number | undefined) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
  let start = 0;
  let end = b.length;
  while (start < end && ws(b[start])) start++;
  while (end > start && ws(b[end - 1])) end--;
  return b.subarray(start, end);
}
