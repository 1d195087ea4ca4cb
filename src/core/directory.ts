import type { Credential, IdentityStore } from '../store/identity-store.js';
import type { Clock } from './clock.js';
import type { Consumer } from './context.js';

interface Cached<T> {
  value: T;
  at: number;
}

/**
 * Consumers and credentials as policies see them: read from the store through a small cache
 * whose entries live `ttlMs` (1 s by default), so a revoked key or a deleted consumer stops
 * working on every process within that time, and at once on the process that made the change
 * (the admin API calls `invalidate`). Misses are cached too, so unknown keys do not hit the store
 * on every request. The cache is bounded.
 */
export class Directory {
  private readonly consumers = new Map<string, Cached<Consumer | undefined>>();
  private readonly credentials = new Map<string, Cached<Credential[]>>();

  constructor(
    readonly store: IdentityStore,
    private readonly clock: Clock,
    private readonly ttlMs = 1000,
    private readonly maxEntries = 100_000,
  ) {}

  async consumer(name: string): Promise<Consumer | undefined> {
    const hit = this.fresh(this.consumers, name);
    if (hit) return hit.value;
    const c = await this.store.getConsumer(name);
    const value = c ? { id: c.id, name: c.name, groups: c.groups, metadata: c.metadata } : undefined;
    this.put(this.consumers, name, value);
    return value;
  }

  /** Active credentials of a kind for a lookup value, not revoked and not expired. */
  async credentialsFor(kind: string, lookup: string): Promise<Credential[]> {
    const key = `${kind}\0${lookup}`;
    let hit = this.fresh(this.credentials, key);
    if (!hit) {
      hit = this.put(this.credentials, key, await this.store.findCredentials(kind, lookup));
    }
    const now = this.clock.now();
    return hit.value.filter((c) => !c.expiresAt || Date.parse(c.expiresAt) > now);
  }

  invalidate(): void {
    this.consumers.clear();
    this.credentials.clear();
    this.generation++;
  }

  /** Bumped by every invalidate(): caches built on the directory compare it to drop stale entries. */
  generation = 0;

  /** How long a looked-up entry may be trusted, in ms (1 s by default). */
  get ttl(): number {
    return this.ttlMs;
  }

  private fresh<T>(m: Map<string, Cached<T>>, k: string): Cached<T> | undefined {
    const e = m.get(k);
    return e && this.clock.now() - e.at < this.ttlMs ? e : undefined;
  }

  private put<T>(m: Map<string, Cached<T>>, k: string, value: T): Cached<T> {
    if (m.size >= this.maxEntries) m.clear();
    const e = { value, at: this.clock.now() };
    m.set(k, e);
    return e;
  }
}
