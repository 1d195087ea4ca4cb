import { createHash } from 'node:crypto';
import { Agent, request } from 'undici';

/**
 * An HTTP prompt-injection classifier (a fine-tuned model behind a small service). The gateway
 * POSTs `{ "text": "..." }` (or `{ "inputs": "..." }`, as Hugging Face's text-embeddings-inference
 * `/predict` and Inference API take it) and reads a score in [0, 1] from `{ "score": 0.97 }` or
 * from a text-classification answer `[{ "label": "INJECTION", "score": 0.97 }]`.
 */
export interface ClassifierConfig {
  url: string;
  /** The JSON property the text is sent in: `text`, or `inputs` for Hugging Face servers. */
  field: 'text' | 'inputs';
  timeoutMs: number;
  threshold: number;
  headers?: Record<string, string>;
}

export class ClassifierFailure extends Error {}

const INJECTION_LABEL = /inject|jailbreak|unsafe|malicious|attack|^label_1$|^1$/i;

export function scoreFrom(body: unknown): number {
  const one = Array.isArray(body) && Array.isArray(body[0]) ? body[0] : body;
  if (
    one &&
    typeof one === 'object' &&
    !Array.isArray(one) &&
    typeof (one as { score?: unknown }).score === 'number'
  )
    return (one as { score: number }).score;
  if (Array.isArray(one)) {
    const hit = one.find(
      (x) => x && typeof x.label === 'string' && typeof x.score === 'number' && INJECTION_LABEL.test(x.label),
    );
    if (hit) return hit.score;
    const safe = one.find((x) => x && typeof x.label === 'string' && typeof x.score === 'number');
    if (safe) return 1 - safe.score;
  }
  throw new ClassifierFailure('classifier answer has no score');
}

export interface Classifier {
  score(text: string): Promise<number>;
}

/**
 * Scores remembered per text (by hash) for `ttlMs`, at most `max` of them, the oldest dropped
 * first: a conversation re-sends its history on every turn, and only the new message is asked.
 */
export function cachedClassifier(
  inner: Classifier,
  ttlMs: number,
  now: () => number,
  max = 10_000,
): Classifier {
  if (ttlMs <= 0) return inner;
  const seen = new Map<string, { score: number; expires: number }>();
  return {
    async score(text) {
      const key = createHash('sha256').update(text).digest('base64url');
      const hit = seen.get(key);
      if (hit && hit.expires > now()) return hit.score;
      const score = await inner.score(text);
      seen.delete(key);
      seen.set(key, { score, expires: now() + ttlMs });
      if (seen.size > max) seen.delete(seen.keys().next().value as string);
      return score;
    },
  };
}

// One pool for every revision's classifiers: policies have no teardown, so a pool per revision would leak.
let dispatcher: Agent | undefined;

export function makeClassifier(cfg: ClassifierConfig): Classifier {
  const url = new URL(cfg.url);
  dispatcher ??= new Agent({ connections: 32, keepAliveTimeout: 30_000 });
  const agent = dispatcher;
  return {
    async score(text) {
      let r: Awaited<ReturnType<typeof request>>;
      try {
        r = await request(url, {
          method: 'POST',
          dispatcher: agent,
          headers: { 'content-type': 'application/json', ...cfg.headers },
          body: JSON.stringify({ [cfg.field]: text }),
          headersTimeout: cfg.timeoutMs,
          bodyTimeout: cfg.timeoutMs,
          signal: AbortSignal.timeout(cfg.timeoutMs),
        });
      } catch (err) {
        throw new ClassifierFailure(`classifier unreachable: ${(err as Error).message}`);
      }
      if (r.statusCode !== 200) {
        await r.body.dump();
        throw new ClassifierFailure(`classifier answered ${r.statusCode}`);
      }
      let body: unknown;
      try {
        body = await r.body.json();
      } catch (err) {
        throw new ClassifierFailure(`classifier answer is not JSON: ${(err as Error).message}`);
      }
      return scoreFrom(body);
    },
  };
}
