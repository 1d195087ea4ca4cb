import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { type AdminOpts, callAdmin, withAdminOptions } from './admin-call.js';
import { adminTarget } from './client.js';

interface Event {
  id: number;
  ts: string;
  actor: string;
  action: string;
  target: string;
}

/** `portcullis audit [list] | verify | export`: the hash-chained audit log. */
export function registerAuditCommands(program: Command): void {
  const audit = withAdminOptions(program.command('audit').description('list, verify and export audit events'))
    .option('--json', 'print JSON lines')
    .action(async (o: AdminOpts) => {
      const r = (await callAdmin(o, 'GET', '/audit')) as { events: Event[] };
      for (const e of r.events)
        process.stdout.write(
          o.json ? `${JSON.stringify(e)}\n` : `${e.id}  ${e.ts}  ${e.actor}  ${e.action}  ${e.target}\n`,
        );
    });

  withAdminOptions(
    audit.command('verify').description('walk the hash chain; exit 1 when an event was edited or deleted'),
  )
    .option('--data-dir <dir>', 'check the SQLite store in this directory directly (no running gateway)')
    .option('--json', 'print JSON')
    .action(async (o: AdminOpts & { dataDir?: string }) => {
      let r: {
        ok: boolean;
        events: number;
        id?: number;
        reason?: string;
        head?: { id: number; hash: string } | null;
      };
      if (o.dataDir) {
        const [{ SqliteStore }, { verifyAudit }] = await Promise.all([
          import('../store/sqlite.js'),
          import('../admin/routes/audit.js'),
        ]);
        const store = new SqliteStore(join(o.dataDir, 'portcullis.db'));
        r = await verifyAudit(store);
        await store.close();
      } else r = await verifyRemote(o);
      if (o.json) process.stdout.write(`${JSON.stringify(r)}\n`);
      else if (r.ok)
        process.stdout.write(
          `audit chain intact: ${r.events} events${r.head ? `, head ${r.head.id} ${r.head.hash.slice(0, 12)}` : ''}\n`,
        );
      else
        process.stdout.write(
          `audit chain BROKEN at event ${r.id}: ${r.reason} (${r.events} event${r.events === 1 ? '' : 's'} verified before it)\n`,
        );
      if (!r.ok) process.exit(1);
    });

  withAdminOptions(audit.command('export').description('write every event as JSON lines'))
    .option('-o, --output <file>', 'write to this file instead of standard output')
    .option('--after <id>', 'only events after this id', '0')
    .action(async (o: AdminOpts & { output?: string; after: string }) => {
      const t = adminTarget(o);
      const res = await fetch(`${t.url}/audit/export?after=${encodeURIComponent(o.after)}`, {
        headers: t.token ? { authorization: `Bearer ${t.token}` } : {},
      }).catch((err: Error) => {
        process.stderr.write(`error: cannot reach the admin API at ${t.url}: ${err.message}\n`);
        process.exit(1);
      });
      if (!res.ok) {
        process.stderr.write(`error ${res.status}: ${await res.text()}\n`);
        process.exit(1);
      }
      const out = o.output ? createWriteStream(o.output) : process.stdout;
      const text = await res.text();
      await new Promise<void>((r) => out.write(text, () => r()));
      if (o.output) {
        (out as ReturnType<typeof createWriteStream>).end();
        process.stderr.write(
          `${text ? text.trimEnd().split('\n').length : 0} events written to ${o.output}\n`,
        );
      }
    });
}

type Report = {
  ok: boolean;
  events: number;
  id?: number;
  reason?: string;
  head?: { id: number; hash: string } | null;
};

async function verifyRemote(o: AdminOpts): Promise<Report> {
  const t = adminTarget(o);
  const res = await fetch(`${t.url}/audit/verify`, {
    headers: t.token ? { authorization: `Bearer ${t.token}` } : {},
  }).catch((err: Error) => {
    process.stderr.write(`error: cannot reach the admin API at ${t.url}: ${err.message}\n`);
    process.exit(1);
  });
  // 409 carries the report of a broken chain; anything else is an error.
  if (res.status !== 200 && res.status !== 409) {
    process.stderr.write(`error ${res.status}: ${await res.text()}\n`);
    process.exit(1);
  }
  return (await res.json()) as Report;
}
