import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { parseConfigText } from '../config/load.js';
import { type AdminOpts, callAdmin, printJson, withAdminOptions } from './admin-call.js';

interface Summary {
  requests: number;
  denyRate: number;
  denyRateByPolicy: Record<string, number>;
  rate4xx: number;
  rate5xx: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
const ms = (x: number | null) => (x === null ? '-' : `${x}ms`);

/** The side-by-side table of `portcullis canary status`. */
export function renderCohorts(stable: Summary, canary: Summary): string {
  const rows: [string, string, string][] = [
    ['requests', String(stable.requests), String(canary.requests)],
    ['deny rate', pct(stable.denyRate), pct(canary.denyRate)],
    ['4xx rate', pct(stable.rate4xx), pct(canary.rate4xx)],
    ['5xx rate', pct(stable.rate5xx), pct(canary.rate5xx)],
    ['p50', ms(stable.p50Ms), ms(canary.p50Ms)],
    ['p99', ms(stable.p99Ms), ms(canary.p99Ms)],
  ];
  const policies = new Set([
    ...Object.keys(stable.denyRateByPolicy),
    ...Object.keys(canary.denyRateByPolicy),
  ]);
  for (const p of [...policies].sort())
    rows.push([`  deny ${p}`, pct(stable.denyRateByPolicy[p] ?? 0), pct(canary.denyRateByPolicy[p] ?? 0)]);
  const w = Math.max(...rows.map((r) => r[0].length));
  return [`${''.padEnd(w)}  ${'stable'.padStart(10)}  ${'canary'.padStart(10)}`]
    .concat(rows.map(([a, b, c]) => `${a.padEnd(w)}  ${b.padStart(10)}  ${c.padStart(10)}`))
    .join('\n');
}

/** Who the canary serves, in words: the sticky key says what a "caller" is. */
export function describeSlice(slice: { percent?: number; group?: string; sticky: string }): string {
  if (slice.group) return `consumer group ${slice.group}`;
  if (slice.sticky === 'ip') return `${slice.percent}% of callers, sticky on the client IP`;
  return `${slice.percent}% of callers, sticky on the credential presented, falling back to the client IP for anonymous requests`;
}

/** `portcullis canary start | status | promote | abort`: the admin API's /canary. */
export function registerCanaryCommands(program: Command): void {
  const canary = program.command('canary').description('serve a candidate revision to a slice of traffic');

  withAdminOptions(canary.command('start <file>').description('start a canary with a config file'))
    .option('--percent <n>', 'share of callers (0.01-100), sticky')
    .option('--group <name>', 'a consumer group served by the canary')
    .option(
      '--sticky <key>',
      'percent mode: consumer (the credential presented; the client IP when there is none) or ip',
      'consumer',
    )
    .option('-m, --message <text>', 'why: recorded with the revision')
    .option('--max-deny-rate <x>', 'roll back above this deny rate (0-1)')
    .option('--max-5xx-rate <x>', 'roll back above this 5xx rate (0-1)')
    .option('--max-p99 <ms>', 'roll back above this p99 latency (ms)')
    .option('--for <duration>', 'how long a bound must stay exceeded', '1m')
    .option('--interval <duration>', 'how often the guard evaluates', '10s')
    .option('--min-requests <n>', 'fewer canary requests in an interval: inconclusive', '20')
    .option('--json', 'print JSON')
    .action(async (file: string, o: AdminOpts & Record<string, string | undefined>) => {
      const config = parseConfigText(readFileSync(resolve(file), 'utf8'), file);
      const bounds = {
        maxDenyRate: num(o.maxDenyRate),
        max5xxRate: num(o.max5xxRate),
        maxP99Ms: num(o.maxP99),
      };
      const guarded = Object.values(bounds).some((v) => v !== undefined);
      const r = await callAdmin(o, 'POST', '/canary', {
        config,
        message: o.message,
        percent: num(o.percent),
        group: o.group,
        sticky: o.sticky,
        rollback: guarded
          ? { ...bounds, for: o.for, interval: o.interval, minRequests: Number(o.minRequests) }
          : undefined,
      });
      if (o.json) return printJson(r);
      const c = r.canary;
      process.stdout.write(
        `canary revision ${c.revision.id} (${c.revision.hash.slice(0, 12)}) serving ${describeSlice(c.slice)}\n`,
      );
      if (!c.slice.group)
        process.stdout.write(
          'a caller keeps its cohort: all requests with one credential, or from one client IP, land on the same side\n',
        );
    });

  withAdminOptions(canary.command('status').description('both cohorts side by side'))
    .option('--json', 'print JSON')
    .action(async (o: AdminOpts) => {
      const r = await callAdmin(o, 'GET', '/canary');
      if (o.json) return printJson(r);
      const c = r.canary;
      if (!c) return void process.stdout.write(`no canary; active revision ${r.stable?.id ?? '-'}\n`);
      process.stdout.write(
        `canary revision ${c.revision.id} vs stable ${r.stable?.id ?? '-'}: ${describeSlice(c.slice)}, for ${c.runningSeconds}s, started by ${c.startedBy}\n`,
      );
      process.stdout.write(`${renderCohorts(c.cohorts.stable, c.cohorts.canary)}\n`);
      const e = c.lastEvaluation;
      if (e)
        process.stdout.write(
          `guard: ${e.verdict}${e.violations.length ? ` (${e.violations.join(', ')})` : ''} at ${e.at}\n`,
        );
    });

  withAdminOptions(canary.command('promote').description('make the canary the active revision')).action(
    async (o: AdminOpts) => {
      const r = await callAdmin(o, 'POST', '/canary/promote');
      process.stdout.write(
        `promoted: revision ${r.revision.id} (${r.revision.hash.slice(0, 12)}) is active\n`,
      );
    },
  );

  withAdminOptions(canary.command('abort').description('send all traffic back to the stable revision'))
    .option('--reason <text>', 'why: recorded in the audit log')
    .action(async (o: AdminOpts & { reason?: string }) => {
      const r = await callAdmin(o, 'POST', '/canary/abort', o.reason ? { reason: o.reason } : {});
      process.stdout.write(`aborted canary revision ${r.revision.id}\n`);
    });
}

function num(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) {
    process.stderr.write(`error: '${v}' is not a number\n`);
    process.exit(1);
  }
  return n;
}
