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
    throw new Error(
      `cannot reach the admin API at ${t.url}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`,
    );
  }
  const text = await res.text();
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
