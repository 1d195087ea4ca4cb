import type { Command } from 'commander';
import { AdminCallError, adminCall, adminTarget } from './client.js';

interface AdminOpts {
  adminUrl?: string;
  adminTokenFile?: string;
  json?: boolean;
}

interface ListedCredential {
  id: string;
  consumer: string;
  kind: string;
  lookup: string;
  label: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

const SHOWN_ONCE = ['key', 'password', 'keyId', 'secret'] as const;

function admin(c: Command): Command {
  return c
    .option('--admin-url <url>', 'admin API of the running gateway (env PORTCULLIS_ADMIN_URL)')
    .option('--admin-token-file <file>', 'file holding the admin token (default: env PORTCULLIS_ADMIN_TOKEN)')
    .option('--json', 'print JSON');
}

async function call(
  o: AdminOpts,
  method: string,
  path: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  try {
    return (await adminCall(
      adminTarget(o),
      method,
      path,
      body === undefined ? undefined : JSON.stringify(body),
      { 'content-type': 'application/json', 'x-portcullis-author': process.env.USER ?? 'cli' },
    )) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof AdminCallError)
      process.stderr.write(`error ${err.status} ${err.body.error?.code ?? ''}: ${err.message}\n`);
    else process.stderr.write(`error: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

function line(c: ListedCredential): string {
  const state = c.revokedAt ? 'revoked' : c.expiresAt ? `expires ${c.expiresAt}` : 'active';
  return `${c.id}  ${c.consumer}  ${c.kind}  ${c.lookup}  ${state}  ${c.label}\n`;
}

function issued(o: AdminOpts, r: Record<string, unknown>): void {
  if (o.json) return void process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  process.stdout.write(line(r.credential as ListedCredential));
  for (const k of SHOWN_ONCE) if (typeof r[k] === 'string') process.stdout.write(`${k}: ${r[k]}\n`);
  if (SHOWN_ONCE.some((k) => k !== 'keyId' && typeof r[k] === 'string'))
    process.stderr.write('store it now: it is shown once and cannot be read back\n');
}

/** `portcullis credentials issue | list | rotate | revoke`, through the admin API. */
export function registerCredentialCommands(program: Command): void {
  const cmd = program
    .command('credentials')
    .description('issue, list, rotate and revoke consumer credentials');

  admin(cmd.command('issue <consumer>').description('issue a credential; the key or secret is printed once'))
    .requiredOption('-k, --kind <kind>', 'key-auth | basic-auth | hmac-auth | mtls-auth')
    .option('--label <text>', 'a note shown in listings')
    .option('--expires-at <iso>', 'when the credential stops working (ISO date-time)')
    .option('--username <name>', 'basic-auth: the username')
    .option(
      '--password-env <var>',
      'basic-auth: read the password from this environment variable (else generated)',
    )
    .option('--key-id <id>', 'hmac-auth: the key id (else generated)')
    .option('--match <what>', 'mtls-auth: fingerprint | subject | san')
    .option('--value <v>', 'mtls-auth: the fingerprint, subject or SAN')
    .action(async (consumer: string, o) => {
      const body: Record<string, unknown> = { kind: o.kind };
      if (o.label) body.label = o.label;
      if (o.expiresAt) body.expiresAt = o.expiresAt;
      if (o.username) body.username = o.username;
      if (o.passwordEnv) body.password = process.env[o.passwordEnv];
      if (o.keyId) body.keyId = o.keyId;
      if (o.match) body.match = o.match;
      if (o.value) body.value = o.value;
      issued(o, await call(o, 'POST', `/consumers/${encodeURIComponent(consumer)}/credentials`, body));
    });

  admin(cmd.command('list').description('list credentials (never their secrets)'))
    .option('--consumer <name>', 'only this consumer')
    .option('--kind <kind>', 'only this kind')
    .option('--prefix <text>', 'only lookups (key prefixes, usernames, key ids) starting with this')
    .option('--all', 'include revoked credentials')
    .action(async (o) => {
      const q = new URLSearchParams();
      if (o.consumer) q.set('consumer', o.consumer);
      if (o.kind) q.set('kind', o.kind);
      if (o.prefix) q.set('prefix', o.prefix);
      if (o.all) q.set('include_revoked', 'true');
      const r = (await call(o, 'GET', `/credentials?${q}`)) as { credentials: ListedCredential[] };
      if (o.json) return void process.stdout.write(`${JSON.stringify(r.credentials, null, 2)}\n`);
      for (const c of r.credentials) process.stdout.write(line(c));
    });

  admin(
    cmd
      .command('rotate <id>')
      .description('issue a successor key; the old one keeps working unless --revoke-old'),
  )
    .option('--revoke-old', 'revoke the old credential at once (no overlap)')
    .option('--expires-at <iso>', 'expiry of the new credential')
    .action(async (id: string, o) => {
      const body: Record<string, unknown> = {};
      if (o.revokeOld) body.revokeOld = true;
      if (o.expiresAt) body.expiresAt = o.expiresAt;
      issued(o, await call(o, 'POST', `/credentials/${encodeURIComponent(id)}/rotate`, body));
    });

  admin(
    cmd.command('revoke <id>').description('revoke a credential (effective within one second everywhere)'),
  ).action(async (id: string, o) => {
    const r = await call(o, 'POST', `/credentials/${encodeURIComponent(id)}/revoke`);
    if (o.json) return void process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    process.stdout.write(line(r as unknown as ListedCredential));
  });
}
