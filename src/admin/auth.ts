import { createHash, timingSafeEqual } from 'node:crypto';

/** The admin token, kept only as its SHA-256. Compared in constant time. */
export class AdminToken {
  private readonly digest: Buffer;

  constructor(token: string) {
    if (token.length < 16) throw new Error('the admin token must be at least 16 characters');
    this.digest = createHash('sha256').update(token).digest();
  }

  check(header: string | undefined): boolean {
    const token = bearerToken(header);
    if (token === undefined) return false;
    const given = createHash('sha256').update(token).digest();
    return timingSafeEqual(given, this.digest);
  }
}

const BEARER = /^bearer[ \t]+([^ \t].*?)[ \t]*$/i;

/** The token of `Authorization: Bearer <token>`; the scheme is case-insensitive (RFC 9110 §11.1). */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  return BEARER.exec(header)?.[1];
}
