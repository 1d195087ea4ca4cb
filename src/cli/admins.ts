import type { Command } from 'commander';
import { type AdminOpts, callAdmin, printJson, withAdminOptions } from './admin-call.js';

/** What each role may do, as `admins add` explains it (src/admin/server.ts enforces it). */
const ROLES = {
  admin: 'may change config, approve the proposals of other admins and manage admins',
  viewer: 'read only: may not change anything nor approve proposals',
} as const;

/** `portcullis admins list | add | confirm | remove`: named admins with their own tokens and roles. */
export function registerAdminCommands(program: Command): void {
  const admins = program.command('admins').description('admins of the admin API, their roles and tokens');

  withAdminOptions(admins.command('list').description('admins and their roles'))
    .option('--json', 'print JSON')
    .action(async (o: AdminOpts) => {
      const r = await callAdmin(o, 'GET', '/admins');
      if (o.json) return printJson(r.admins);
      for (const a of r.admins as {
        name: string;
        role: string;
        createdBy: string;
        createdAt: string | null;
        status?: string;
      }[]) {
        const pending = a.status === 'pending' ? '  (pending confirmation)' : '';
        process.stdout.write(`${a.name}  ${a.role}  ${a.createdAt ?? '-'}  ${a.createdBy}${pending}\n`);
      }
    });

  withAdminOptions(admins.command('add <name>').description('create an admin; prints its token once'))
    .option(
      '--role <role>',
      `required: ${Object.entries(ROLES)
        .map(([r, can]) => `${r} (${can})`)
        .join(' or ')}`,
    )
    .action(async (name: string, o: AdminOpts & { role?: string }) => {
      // No default: a viewer cannot approve a proposal, an admin can change everything; the one
      // adding an admin says which it is.
      if (!o.role || !Object.hasOwn(ROLES, o.role)) {
        process.stderr.write(
          `error: give --role:\n${Object.entries(ROLES)
            .map(([r, can]) => `  --role ${r.padEnd(6)}  ${can}\n`)
            .join('')}`,
        );
        process.exit(1);
      }
      const r = await callAdmin(o, 'POST', '/admins', { name, role: o.role });
      process.stdout.write(
        `admin ${r.name} (${r.role}: ${ROLES[r.role as keyof typeof ROLES]}) created; token (shown once): ${r.token}\n`,
      );
      if (r.status === 'pending')
        process.stdout.write(
          `approvals are on: the token works once another admin runs \`portcullis admins confirm ${r.name}\`\n`,
        );
    });

  withAdminOptions(
    admins
      .command('confirm <name>')
      .description('confirm an admin created while approvals are on (not by its creator)'),
  ).action(async (name: string, o: AdminOpts) => {
    await callAdmin(o, 'POST', `/admins/${encodeURIComponent(name)}/confirm`);
    process.stdout.write(`confirmed admin ${name}\n`);
  });

  withAdminOptions(
    admins.command('remove <name>').description('remove an admin; its token stops working'),
  ).action(async (name: string, o: AdminOpts) => {
    await callAdmin(o, 'DELETE', `/admins/${encodeURIComponent(name)}`);
    process.stdout.write(`removed admin ${name}\n`);
  });
}
