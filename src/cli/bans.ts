import type { Command } from 'commander';
import { AdminCallError, adminCall, adminTarget } from './client.js';

interface Ban {
  key: string;
  until: string;
  reason: string;
  by: string;
}

type Opts = { adminUrl?: string; adminTokenFile?: string; json?: boolean };

async function call(o: Opts, method: string, path: string, body?: unknown): Promise<unknown> {
  try {
    return await adminCall(
      adminTarget(o),
      method,
      path,
      body === undefined ? undefined : JSON.stringify(body),
      body === undefined
        ? { 'x-portcullis-author': process.env.USER ?? 'cli' }
        : { 'content-type': 'application/json', 'x-portcullis-author': process.env.USER ?? 'cli' },
    );
  } catch (err) {
    const code = err instanceof AdminCallError ? ` ${err.status} ${err.body.error?.code ?? ''}` : '';
    process.stderr.write(`error${code}: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

const admin = (c: Command) =>
  c
    .option('--admin-url <url>', 'admin API of the running gateway (env PORTCULLIS_ADMIN_URL)')
    .option(
      '--admin-token-file <file>',
      'file holding the admin token (default: env PORTCULLIS_ADMIN_TOKEN)',
    );

/** `portcullis bans list | add | lift`: the admin API's /bans. */
export function registerBanCommands(program: Command): void {
  const bans = program
    .command('bans')
    .description('list, add and lift bans (shared through the counter store)');
  admin(bans.command('list').description('list active bans'))
    .option('--shadow', 'bans a shadowed ban policy would have made')
    .option('--json', 'print JSON')
    .action(async (o: Opts & { shadow?: boolean }) => {
      const r = (await call(o, 'GET', `/bans${o.shadow ? '?shadow=true' : ''}`)) as { bans: Ban[] };
      if (o.json) return void process.stdout.write(`${JSON.stringify(r.bans, null, 2)}\n`);
      if (r.bans.length === 0) return void process.stdout.write('no bans\n');
      for (const b of r.bans) process.stdout.write(`${b.key}  until ${b.until}  ${b.by}  ${b.reason}\n`);
    });
  admin(bans.command('add <key>').description('ban a key (`ip=1.2.3.4`, `consumer=alice`, or a bare IP)'))
    .requiredOption('--for <duration>', 'how long: 15m, 1h, 7d')
    .option('--reason <text>', 'why: recorded with the ban and in the audit log')
    .action(async (key: string, o: Opts & { for: string; reason?: string }) => {
      const r = (await call(o, 'POST', '/bans', { key, duration: o.for, reason: o.reason })) as Ban;
      process.stdout.write(`banned ${r.key} until ${r.until}\n`);
    });
  admin(bans.command('lift <key>').description('lift a ban')).action(async (key: string, o: Opts) => {
    await call(o, 'DELETE', `/bans/${encodeURIComponent(key)}`);
    process.stdout.write(`lifted the ban on ${key}\n`);
  });
}
