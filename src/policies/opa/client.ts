import { createHash } from 'node:crypto';
import { request } from 'undici';

export interface OpaDecision {
  allow: boolean;
  /** The engine's `reason`, or `undefined` when the rule gave no result. */
  reason?: string;
  undefinedResult?: boolean;
}

/** Reads `{ result: true|false }`, `{ result: { allow, reason? } }` or `{}` (undefined: deny). */
export function readDecision(body: unknown): OpaDecision {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw new Error('answer is not a JSON object');
  if (!('result' in body)) return { allow: false, undefinedResult: true };
  const r = (body as { result: unknown }).result;
  if (typeof r === 'boolean') return { allow: r };
  if (r && typeof r === 'object' && typeof (r as { allow?: unknown }).allow === 'boolean') {
    const reason = (r as { reason?: unknown }).reason;
    return {
      allow: (r as { allow: boolean }).allow,
      reason: typeof reason === 'string' ? reason : undefined,
    };
  }
  throw new Error(`result is neither a bool nor { allow: bool } (${JSON.stringify(r)?.slice(0, 80)})`);
}

/** One decision call: POST { input }, the whole answer within `timeoutMs`. */
export async function askOpa(
  url: string,
  body: string,
  timeoutMs: number,
  token: string | undefined,
): Promise<OpaDecision> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const signal = AbortSignal.timeout(timeoutMs);
  const res = await request(url, { method: 'POST', body, headers, signal });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('answer is not JSON');
  }
  return readDecision(json);
}

interface Entry {
  decision: OpaDecision;
  until: number;
}

/** Decisions by input hash, for `ttlMs`, at most `max` (oldest evicted first). */
export class DecisionCache {
  private readonly map = new Map<string, Entry>();

  constructor(
    private readonly ttlMs: number,
    private readonly max: number,
  ) {}

  static key(body: string): string {
    return createHash('sha256').update(body).digest('base64url');
  }

  get(key: string, now: number): OpaDecision | undefined {
    if (this.ttlMs === 0) return undefined;
    const e = this.map.get(key);
    if (!e) return undefined;
    if (e.until > now) return e.decision;
    this.map.delete(key);
    return undefined;
  }

  set(key: string, decision: OpaDecision, now: number): void {
    if (this.ttlMs === 0) return;
    this.map.delete(key);
    if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value as string);
    this.map.set(key, { decision, until: now + this.ttlMs });
  }
}
