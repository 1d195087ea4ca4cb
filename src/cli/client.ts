import { readFileSync } from 'node:fs';

export interface AdminTarget {
  url: string;
  token: string | undefined;
}

export function adminTarget(opts: { adminUrl?: string; adminTokenFile?: string }): AdminTarget {
  const token = opts.adminTokenFile
    ? readFileSync(opts.adminTokenFile, 'utf8').trim()
    : process.env.PORTCULLIS_ADMIN_TOKEN;
  return {
    url: (opts.adminUrl ?? process.env.PORTCULLIS_ADMIN_URL ?? 'http://127.0.0.1:8081').replace(/\/$/, ''),
    token,
  };
}

export class AdminCallError extends Error {
  constructor(
    readonly status: number,
    readonly body: {
      error?: { code?: string; message?: string; issues?: { path: string; message: string }[] };
    },
  ) {
    super(body.error?.message ?? `admin API answered ${status}`);
  }
}

/** Recorded as the actor of every change (audit log, revision author). */
export function cliAuthor(): string {
  return process.env.PORTCULLIS_AUTHOR || process.env.USER || 'cli';
}

/**
 * Failures after the connection was made: the request went out (or may have), and the answer was
 * lost. Anything else (refused, unknown host, connect timeout) failed before anything was sent.
 */
const LOST_AFTER_SENDING = new Set([
  'UND_ERR_SOCKET',
  'ECONNRESET',
  'EPIPE',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

const SAFE_METHODS = new Set(['GET', 'HEAD']);

/** What the caller should do when a change's answer was lost: find out whether it was made. */
const CHECK_HINT = 'check `portcullis revisions` (or `portcullis audit`) to see whether it was applied';

/** Calls the admin API of a running gateway. */
export async function adminCall(
  t: AdminTarget,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${t.url}${path}`, {
      method,
      body,
      headers: {
        ...(t.token ? { authorization: `Bearer ${t.token}` } : {}),
        'x-portcullis-author': cliAuthor(),
        ...headers,
      },
    });
  } catch (err) {
    const cause = (err as Error & { cause?: Error & { code?: string } }).cause;
    const why = cause?.message ?? (err as Error).message;
    if (cause?.code && LOST_AFTER_SENDING.has(cause.code))
      throw new Error(
        SAFE_METHODS.has(method)
          ? `the connection to the admin API at ${t.url} was lost before its answer (${why}): try again`
          : `the request was sent to the admin API at ${t.url} but the answer was lost (${why}): ${CHECK_HINT} before trying again`,
      );
    throw new Error(`cannot reach the admin API at ${t.url}: ${why}`);
  }
  let text: string;
  try {
    text = await res.text();
  } catch (err) {
    const why = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
    throw new Error(
      res.ok && !SAFE_METHODS.has(method)
        ? `the admin API at ${t.url} answered ${res.status}, so the change was made, but the rest of its answer was lost (${why}): see \`portcullis revisions\` (or \`portcullis audit\`)`
        : `the admin API at ${t.url} answered ${res.status} but the rest of its answer was lost (${why}): try again`,
    );
  }
  let parsed: unknown = {};
  try {
    if (text) parsed = JSON.parse(text);
  } catch {
    throw new Error(
      `${t.url}${path} answered ${res.status} with a body that is not JSON: is ${t.url} the admin API?`,
    );
  }
  if (!res.ok) throw new AdminCallError(res.status, parsed as AdminCallError['body']);
  return parsed;
}
