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
      headers: { ...(t.token ? { authorization: `Bearer ${t.token}` } : {}), ...headers },
    });
  } catch (err) {
    throw new Error(
      `cannot reach the admin API at ${t.url}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`,
    );
  }
  const text = await res.text();
  const parsed = text ? JSON.parse(text) : {};
  if (!res.ok) throw new AdminCallError(res.status, parsed);
  return parsed;
}
