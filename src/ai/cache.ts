import { createHash } from 'node:crypto';

/**
 * The exact-match response cache for non-streamed calls: key = hash of the output format, the
 * alias and the canonical request. Bounded by entries and entry size; the oldest entry goes
 * first (a Map keeps insertion order), expired entries are dropped when met.
 */
export interface CachedAnswer {
  body: string;
  expires: number;
  inputTokens: number;
  outputTokens: number;
  provider: string;
  providerModel: string;
}

export class ResponseCache {
  private readonly map = new Map<string, CachedAnswer>();

  constructor(
    readonly ttlMs: number,
    private readonly maxEntries: number,
    readonly maxEntryBytes: number,
  ) {}

  static key(parts: unknown[]): string {
    return createHash('sha256').update(JSON.stringify(parts)).digest('base64url');
  }

  get(key: string, now: number): CachedAnswer | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    if (e.expires <= now) {
      this.map.delete(key);
      return undefined;
    }
    return e;
  }

  set(key: string, a: CachedAnswer): void {
    if (a.body.length > this.maxEntryBytes) return;
    this.map.delete(key);
    this.map.set(key, a);
    while (this.map.size > this.maxEntries) this.map.delete(this.map.keys().next().value as string);
  }

  get size(): number {
    return this.map.size;
  }
}
