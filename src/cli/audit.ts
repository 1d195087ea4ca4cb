import { createWriteStream } from 'node:fs';
import type { Command } from 'commander';
import { type AdminOpts, callAdmin, withAdminOptions } from './admin-call.js';
import type { ChainReport } from '../store/audit-chain.js';
import { printReport, runVerify, type VerifyOpts } from './audit-verify.js';
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
    audit
      .command('verify')
      .description('walk the hash chain; exit 1 when an event was edited, deleted or re-hashed'),
  )
    .option('--data-dir <dir>', 'check the SQLite store in this directory directly (no running gateway)')
    .option('--file <file>', 'check an export or a file sink (JSON lines) instead')
    .option(
      '--audit-key-file <file>',
      "key that HMACs the chain (env PORTCULLIS_AUDIT_KEY_FILE); repeat for earlier keys. Without --data-dir or --file: verify the gateway's export here, with this key",
      (v: string, all: string[]) => [...all, v],
      [],
    )
    .option('--expect-head <id:hash>', 'a head recorded earlier: fail unless that event still has that hash')
    .option('--require-keyed', 'fail on any event hashed without a key')
    .option('--json', 'print JSON')
    .action(async (o: VerifyOpts & { json?: boolean }) => {
      let r: ChainReport;
      try {
        r = await runVerify(o);
      } catch (err) {
        process.stderr.write(`error: ${(err as Error).message}\n`);
        process.exit(1);
      }
      if (o.json) process.stdout.write(`${JSON.stringify(r)}\n`);
      else printReport(r);
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
        // The last line is the head (`{"auditHead": "ID:HASH"}`), not an event.
        const events = text.split('\n').filter((l) => l.startsWith('{"id":')).length;
        const head = res.headers.get('x-portcullis-audit-head') || 'none';
        process.stderr.write(`${events} events written to ${o.output}, head ${head}\n`);
      }
    });
}
