import type { Command } from 'commander';
import { AdminCallError, adminCall, adminTarget } from './client.js';

export type AdminOpts = { adminUrl?: string; adminTokenFile?: string; json?: boolean };

/** Adds the options every admin-API command takes. */
export const withAdminOptions = (c: Command) =>
  c
    .option('--admin-url <url>', 'admin API of the running gateway (env PORTCULLIS_ADMIN_URL)')
    .option(
      '--admin-token-file <file>',
      'file holding the admin token (default: env PORTCULLIS_ADMIN_TOKEN)',
    );

/** Calls the admin API; on an error answer prints it (with issues) and exits 1. */
export async function callAdmin(o: AdminOpts, method: string, path: string, body?: unknown): Promise<any> {
  try {
    return await adminCall(
      adminTarget(o),
      method,
      path,
      body === undefined ? undefined : JSON.stringify(body),
      body === undefined ? {} : { 'content-type': 'application/json' },
    );
  } catch (err) {
    const code = err instanceof AdminCallError ? ` ${err.status} ${err.body.error?.code ?? ''}` : '';
    process.stderr.write(`error${code}: ${(err as Error).message}\n`);
    if (err instanceof AdminCallError)
      for (const i of err.body.error?.issues ?? []) process.stderr.write(`  ${i.path}: ${i.message}\n`);
    process.exit(1);
  }
}

export function printJson(v: unknown): void {
  process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
}
