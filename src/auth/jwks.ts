import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { Clock } from '../core/clock.js';
import type { PolicyDeps } from '../core/policy.js';
import { keysFromJwks, type VerifyKey } from './keys.js';

export interface RemoteJwksOptions {
  url: string;
  /** Keys older than this are refreshed in the background (the request is not held). */
  refreshMs: number;
  /** At most one fetch per this interval, whatever asks (unknown kids included). */
  minRefetchMs: number;
  timeoutMs: number;
}

/** Fetches JSON over HTTP with a timeout; `{ error }` instead of throwing. */
export async function fetchJson(url: string, timeoutMs: number): Promise<unknown> {
  const res = await fetch(url, {
    signal: AbortSignal.timeout(timeoutMs),
    headers: { accept: 'application/json' },
    redirect: 'error',
  });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const text = await res.text();
  if (text.length > 1_048_576) throw new Error('document larger than 1 MiB');
  return JSON.parse(text);
}

/**
 * A JWKS URL's keys: fetched at first use and refreshed in the background; an unknown kid asks
 * for one refetch, rate-limited to one per `minRefetchMs`. When the provider is down the last
 * good keys keep serving; the outage is logged and counted (`portcullis_auth_jwks_fetches_total`
 * with result `error`), apart from invalid tokens.
 */
export class RemoteJwks {
  private keys: VerifyKey[] | undefined;
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private attemptedAt = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | undefined;
  private lastError: string | undefined;

  constructor(
    readonly opts: RemoteJwksOptions,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly fetches: Counter<'result'>,
    private readonly fetcher: (url: string, timeoutMs: number) => Promise<unknown> = fetchJson,
  ) {}

  /** True when keys were never obtained (the provider was down from the start). */
  get unavailable(): boolean {
    return this.keys === undefined;
  }

  get error(): string | undefined {
    return this.lastError;
  }

  /** The current keys; waits for the first fetch, then never waits again unless `refetch`. */
  async get(): Promise<VerifyKey[] | undefined> {
    const now = this.clock.monotonic();
    if (this.keys === undefined) {
      if (now - this.attemptedAt >= this.opts.minRefetchMs || this.inflight) await this.fetch();
      return this.keys;
    }
    if (now - this.fetchedAt >= this.opts.refreshMs && now - this.attemptedAt >= this.opts.minRefetchMs)
      void this.fetch();
    return this.keys;
  }

  /** An unknown kid: one refetch if the rate limit allows; resolves when it is done. */
  async refetch(): Promise<boolean> {
    if (this.inflight) {
      await this.inflight;
      return true;
    }
    if (this.clock.monotonic() - this.attemptedAt < this.opts.minRefetchMs) return false;
    await this.fetch();
    return true;
  }

  private fetch(): Promise<void> {
    if (this.inflight) return this.inflight;
    this.attemptedAt = this.clock.monotonic();
    this.inflight = (async () => {
      try {
        const doc = await this.fetcher(this.opts.url, this.opts.timeoutMs);
        const { keys, skipped } = keysFromJwks(doc, false);
        if (skipped.length) this.logger.warn({ url: this.opts.url, skipped }, 'JWKS keys skipped');
        this.keys = keys;
        this.fetchedAt = this.clock.monotonic();
        this.lastError = undefined;
        this.fetches.labels('ok').inc();
      } catch (err) {
        this.lastError = (err as Error).message;
        this.fetches.labels('error').inc();
        this.logger.warn(
          { url: this.opts.url, err: this.lastError, servingCachedKeys: this.keys !== undefined },
          'JWKS fetch failed; identity provider unreachable or answering badly',
        );
      } finally {
        this.inflight = undefined;
      }
    })();
    return this.inflight;
  }
}

const registries = new WeakMap<object, Map<string, RemoteJwks>>();

/**
 * The RemoteJwks for a URL and settings, shared across revisions of one gateway: a policy change
 * does not refetch every JWKS, and the last good keys survive it.
 */
export function sharedJwks(deps: PolicyDeps, opts: RemoteJwksOptions): RemoteJwks {
  let reg = registries.get(deps.directory);
  if (!reg) {
    reg = new Map();
    registries.set(deps.directory, reg);
  }
  const key = JSON.stringify(opts);
  let j = reg.get(key);
  if (!j) {
    const fetches = deps.metrics.counter(
      'portcullis_auth_jwks_fetches_total',
      'JWKS and discovery fetches, by result (ok, error). Errors mean the identity provider is unreachable.',
      ['result'],
    );
    j = new RemoteJwks(opts, deps.clock, deps.logger, fetches);
    reg.set(key, j);
  }
  return j;
}
