import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { parseConfigText } from '../config/load.js';
import { type AdminOpts, callAdmin, printJson, withAdminOptions } from './admin-call.js';

interface Proposal {
  id: number;
  createdAt: string;
  author: string;
  message: string;
  status: string;
  activateAt: string | null;
  decidedBy: string | null;
  reason: string | null;
  revisionId: number | null;
  touches?: string[];
}

function line(p: Proposal): string {
  const extra = [
    p.activateAt ? `at ${p.activateAt}` : '',
    p.decidedBy ? `by ${p.decidedBy}` : '',
    p.revisionId ? `revision ${p.revisionId}` : '',
    p.reason ? `reason: ${p.reason}` : '',
  ].filter(Boolean);
  return `${String(p.id).padStart(4)}  ${p.status.padEnd(9)}  ${p.author}  ${p.message}${extra.length ? `  (${extra.join(', ')})` : ''}`;
}

/** `portcullis proposals create | list | show | approve | reject`: four-eyes changes. */
export function registerProposalCommands(program: Command): void {
  const proposals = program
    .command('proposals')
    .description('propose, approve and reject changes (four-eyes)');

  withAdminOptions(proposals.command('create <file>').description('propose a config file'))
    .option('-m, --message <text>', 'why: recorded with the proposal and the revision')
    .option('--at <time>', 'activate at this ISO time once approved')
    .option('--canary-percent <n>', 'activate as a canary of this percent instead of an apply')
    .option(
      '--canary <json>',
      'activate as a canary: the POST /canary fields as JSON (percent, group, sticky, rollback)',
    )
    .option('--json', 'print JSON')
    .action(
      async (
        file: string,
        o: AdminOpts & { message?: string; at?: string; canaryPercent?: string; canary?: string },
      ) => {
        const config = parseConfigText(readFileSync(resolve(file), 'utf8'), file);
        const p = (await callAdmin(o, 'POST', '/proposals', {
          config,
          message: o.message,
          activateAt: o.at,
          canary: canarySpec(o.canary, o.canaryPercent),
        })) as Proposal;
        if (o.json) return printJson(p);
        process.stdout.write(
          `proposal ${p.id} pending${p.touches?.length ? `; touches ${p.touches.join(', ')}` : ''}\n`,
        );
      },
    );

  withAdminOptions(proposals.command('list').description('proposals, newest first'))
    .option('--status <status>', 'pending, scheduled, applied, rejected or failed')
    .option('--json', 'print JSON')
    .action(async (o: AdminOpts & { status?: string }) => {
      const r = await callAdmin(
        o,
        'GET',
        `/proposals${o.status ? `?status=${encodeURIComponent(o.status)}` : ''}`,
      );
      if (o.json) return printJson(r.proposals);
      if (!r.proposals.length) return void process.stdout.write('no proposals\n');
      for (const p of r.proposals as Proposal[]) process.stdout.write(`${line(p)}\n`);
    });

  withAdminOptions(proposals.command('show <id>').description('one proposal with its config')).action(
    async (id: string, o: AdminOpts) =>
      printJson(await callAdmin(o, 'GET', `/proposals/${encodeURIComponent(id)}`)),
  );

  withAdminOptions(proposals.command('approve <id>').description('approve (you must not be its author)'))
    .option('--at <time>', 'activate at this ISO time instead of now')
    .action(async (id: string, o: AdminOpts & { at?: string }) => {
      const p = (await callAdmin(o, 'POST', `/proposals/${encodeURIComponent(id)}/approve`, {
        activateAt: o.at,
      })) as Proposal;
      process.stdout.write(`${line(p)}\n`);
      if (p.status === 'failed') process.exit(1);
    });

  withAdminOptions(proposals.command('reject <id>').description('reject with a reason'))
    .requiredOption('--reason <text>', 'why: kept with the proposal')
    .action(async (id: string, o: AdminOpts & { reason: string }) => {
      const p = (await callAdmin(o, 'POST', `/proposals/${encodeURIComponent(id)}/reject`, {
        reason: o.reason,
      })) as Proposal;
      process.stdout.write(`${line(p)}\n`);
    });
}

function canarySpec(
  json: string | undefined,
  percent: string | undefined,
): Record<string, unknown> | undefined {
  let spec: Record<string, unknown> | undefined;
  if (json) {
    try {
      spec = JSON.parse(json);
    } catch {
      process.stderr.write('error: --canary is not valid JSON\n');
      process.exit(1);
    }
  }
  if (percent) spec = { ...spec, percent: Number(percent) };
  return spec;
}
