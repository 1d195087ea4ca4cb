import { createHash, timingSafeEqual } from 'node:crypto';

/** The admin token, kept only as its SHA-256. Compared in constant time. */
export class AdminToken {
  private readonly digest: Buffer;

  constructor(token: string) {
    if (token.length < 16) throw new Error('the admin token must be at least 16 characters');
    this.digest = createHash('sha256').update(token).digest();
  }

  check(header: string | undefined): boolean {
    if (!header?.startsWith('Bearer ')) return false;
    const given = createHash('sha256').update(header.slice(7).trim()).digest();
    return timingSafeEqual(given, this.digest);
  }
}
