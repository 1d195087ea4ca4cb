import { createHash } from 'node:crypto';
import { Pool } from 'undici';
import type { AiProviderConfig } from '../config/ai-schema.js';

/**
 * Provider connection pools, kept across revisions: a pool is keyed by the hash of its
 * provider's config and made on first use, so a revision that changes only policies or routes
 * finds the same pool (and the streams in flight on it go on). A pool unused for IDLE_MS with
 * nothing in flight is closed by a sweeper, which is how a changed or removed provider's pool goes.
 */
interface Entry {
  pool: Pool;
  lastUsed: number;
}

const POOLS = new Map<string, Entry>();
const IDLE_MS = 5 * 60_000;
let sweeper: NodeJS.Timeout | undefined;

export function providerHash(p: AiProviderConfig): string {
  return createHash('sha256').update(JSON.stringify(p)).digest('hex').slice(0, 32);
}

export function poolFor(key: string, p: AiProviderConfig, origin: string): Pool {
  let e = POOLS.get(key);
  if (!e) {
    e = {
      pool: new Pool(origin, {
        connections: p.connections,
        keepAliveTimeout: p.keepAliveMs,
        pipelining: 1,
        connect: { timeout: 10_000 },
      }),
      lastUsed: 0,
    };
    POOLS.set(key, e);
    if (!sweeper) {
      sweeper = setInterval(sweep, 60_000);
      sweeper.unref();
    }
  }
  e.lastUsed = performance.now();
  return e.pool;
}

function sweep(): void {
  const now = performance.now();
  for (const [k, e] of POOLS) {
    const busy = e.pool.stats.running + e.pool.stats.pending > 0;
    if (!busy && now - e.lastUsed > IDLE_MS) {
      POOLS.delete(k);
      void e.pool.close().catch(() => undefined);
    }
  }
}

/** The pools alive now (tests check that a policy change keeps them). */
export function livePools(): ReadonlyMap<string, { pool: Pool }> {
  return POOLS;
}

export type UpstreamFailureKind = 'connect' | 'timeout' | 'status' | 'aborted';

export class UpstreamFailure extends Error {
  constructor(
    readonly kind: UpstreamFailureKind,
    message: string,
  ) {
    super(message);
  }
}

export interface ProviderReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Awaited<ReturnType<Pool['request']>>['body'];
}

/** One HTTP call to a provider. Errors are classified for the routing layer. */
export async function callProvider(
  pool: Pool,
  opts: {
    path: string;
    headers: Record<string, string>;
    body: string;
    signal: AbortSignal;
    headersTimeout: number;
    bodyTimeout: number;
  },
): Promise<ProviderReply> {
  try {
    const r = await pool.request({
      method: 'POST',
      path: opts.path,
      headers: opts.headers,
      body: opts.body,
      signal: opts.signal,
      headersTimeout: opts.headersTimeout,
      bodyTimeout: opts.bodyTimeout,
    });
    return { status: r.statusCode, headers: r.headers, body: r.body };
  } catch (err) {
    throw classify(err, opts.signal);
  }
}

export function classify(err: unknown, signal?: AbortSignal): UpstreamFailure {
  if (err instanceof UpstreamFailure) return err;
  const code = (err as { code?: string })?.code ?? '';
  const msg = (err as Error)?.message ?? String(err);
  if (signal?.aborted) {
    const reason = signal.reason;
    if (reason instanceof UpstreamFailure) return reason;
    return new UpstreamFailure('aborted', 'request aborted');
  }
  if (
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT'
  )
    return new UpstreamFailure('timeout', msg);
  return new UpstreamFailure('connect', msg);
}
