import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Breakdown, Example, ReplayReport } from '../replay/report.js';
import { type AdminTarget, adminTarget, cliAuthor } from './client.js';

/** Exit status when `--fail-on-newly-denied` is crossed (1 stays for errors). */
export const THRESHOLD_EXIT = 3;

export interface ReplayCliOptions {
  adminUrl?: string;
  adminTokenFile?: string;
  since?: string;
  from?: string;
  to?: string;
  route?: string;
  consumer?: string;
  limit?: string;
  examples?: string;
  format?: string;
  failOnNewlyDenied?: string;
}

/** `portcullis replay --candidate new.yaml --since 24h [--format json] [--fail-on-newly-denied 0.1%]`. */
export function registerReplayCommand(program: Command): void {
  program
    .command('replay')
    .description(
      'replay recorded requests through a candidate config and the running revision; report what would change',
    )
    .requiredOption('--candidate <file>', 'the candidate config (YAML or JSON)')
    .option('--since <duration>', 'recorded requests of the last 90s, 30m, 24h, 7d...', '24h')
    .option('--from <time>', 'start of the range (ISO date or epoch ms) instead of --since')
    .option('--to <time>', 'end of the range (default now)')
    .option('--route <name>', 'only requests recorded on this route')
    .option('--consumer <name>', 'only requests of this consumer')
    .option('--limit <n>', 'at most this many records, oldest first')
    .option('--examples <n>', 'example requests per kind of change', '5')
    .option('--format <format>', 'text or json', 'text')
    .option(
      '--fail-on-newly-denied <rate>',
      `exit ${THRESHOLD_EXIT} when more than this share of requests is newly denied (0.1%)`,
    )
    .option('--admin-url <url>', 'admin API of the running gateway (env PORTCULLIS_ADMIN_URL)')
    .option('--admin-token-file <file>', 'file holding the admin token (default: env PORTCULLIS_ADMIN_TOKEN)')
    .action(async (o: ReplayCliOptions & { candidate: string }) => {
      try {
        const text = readFileSync(resolve(o.candidate), 'utf8');
        const report = await replayViaAdmin(adminTarget(o), text, o);
        process.exitCode = printReport(report, o.format);
      } catch (err) {
        process.stderr.write(`error: ${(err as Error).message}\n`);
        for (const i of (err as { issues?: { path: string; message: string }[] }).issues ?? [])
          process.stderr.write(`  ${i.path}: ${i.message}\n`);
        process.exitCode = 1;
      }
    });
}

/** Prints the report; returns the exit status (THRESHOLD_EXIT when the threshold was crossed). */
export function printReport(report: ReplayReport, format = 'text'): number {
  process.stdout.write(format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report));
  return report.threshold?.crossed ? THRESHOLD_EXIT : 0;
}

/** Runs POST /replay, drawing its streamed progress on stderr. */
export async function replayViaAdmin(
  t: AdminTarget,
  candidate: string,
  o: ReplayCliOptions,
): Promise<ReplayReport> {
  const body = {
    candidate,
    since: o.from ? undefined : o.since,
    from: o.from,
    to: o.to,
    route: o.route,
    consumer: o.consumer,
    limit: o.limit ? Number(o.limit) : undefined,
    examples: o.examples ? Number(o.examples) : undefined,
    failOnNewlyDenied: o.failOnNewlyDenied,
  };
  let res: Response;
  try {
    res = await fetch(`${t.url}/replay`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: {
        ...(t.token ? { authorization: `Bearer ${t.token}` } : {}),
        'x-portcullis-author': cliAuthor(),
        'content-type': 'application/json',
        accept: 'application/x-ndjson',
      },
    });
  } catch (err) {
    throw new Error(
      `cannot reach the admin API at ${t.url}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`,
    );
  }
  if (!res.ok) {
    const text = await res.text();
    let e: { error?: { code?: string; message?: string; issues?: unknown } } = {};
    try {
      e = JSON.parse(text);
    } catch {}
    throw Object.assign(
      new Error(`${res.status} ${e.error?.code ?? ''}: ${e.error?.message ?? text.slice(0, 200)}`),
      {
        issues: e.error?.issues,
      },
    );
  }
  const bar = new ProgressBar();
  let report: ReplayReport | undefined;
  let rest = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    rest += decoder.decode(chunk, { stream: true });
    let nl = rest.indexOf('\n');
    while (nl >= 0) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      nl = rest.indexOf('\n');
      if (!line) continue;
      const m = JSON.parse(line);
      if (m.progress) bar.update(m.progress.done, m.progress.total);
      else if (m.report) report = m.report;
      else if (m.error) throw new Error(`replay failed: ${m.error.message}`);
    }
  }
  bar.done();
  if (!report) throw new Error('the admin API ended the replay without a report');
  return report;
}

/** A progress bar on stderr when it is a terminal; a line per 10% otherwise. */
class ProgressBar {
  private last = -1;
  private readonly tty = process.stderr.isTTY === true;
  update(done: number, total: number): void {
    const pct = total ? Math.floor((done / total) * 100) : 100;
    if (this.tty) {
      const width = 30;
      const fill = Math.round((pct / 100) * width);
      process.stderr.write(
        `\rreplay [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${done}/${total} (${pct}%)`,
      );
    } else if (Math.floor(pct / 10) !== Math.floor(this.last / 10) || done === total) {
      process.stderr.write(`replay: ${done}/${total} recorded requests (${pct}%)\n`);
    }
    this.last = pct;
  }
  done(): void {
    if (this.tty && this.last >= 0) process.stderr.write('\n');
  }
}

export function renderReport(r: ReplayReport): string {
  const out: string[] = [];
  const pct = (n: number) => (r.replayed ? `${((n / r.replayed) * 100).toFixed(2)}%` : '0%');
  out.push(
    `replayed ${r.replayed} of ${r.records} recorded requests from ${r.from} to ${r.to}`,
    `current revision ${r.current.revision ?? '-'} (${r.current.hash.slice(0, 12)}) -> candidate ${r.candidate.hash.slice(0, 12)}`,
    '',
    `  newly denied    ${String(r.newlyDenied).padStart(7)}  ${pct(r.newlyDenied)}`,
    `  newly allowed   ${String(r.newlyAllowed).padStart(7)}  ${pct(r.newlyAllowed)}`,
    `  changed denial  ${String(r.changedDenial).padStart(7)}  ${pct(r.changedDenial)}`,
    `  unchanged       ${String(r.unchanged).padStart(7)}  ${pct(r.unchanged)}`,
  );
  if (r.records === 0)
    out.push(
      '',
      '  no recorded requests in this range: is `gateway.requestLog.enabled` on, and was there traffic?',
    );
  const table = (title: string, rows: Breakdown[]) => {
    if (!rows.length) return;
    const w = Math.max(title.length, ...rows.map((b) => b.key.length)) + 2;
    out.push(
      '',
      `  ${title.padEnd(w)}${'newly denied'.padStart(14)}${'newly allowed'.padStart(15)}${'changed'.padStart(9)}`,
    );
    for (const b of rows.slice(0, 20))
      out.push(
        `  ${b.key.padEnd(w)}${String(b.newlyDenied).padStart(14)}${String(b.newlyAllowed).padStart(15)}${String(b.changedDenial).padStart(9)}`,
      );
  };
  table('by policy', r.byPolicy);
  table('by rule', r.byRule);
  table('by route', r.byRoute);
  table('by consumer', r.byConsumer);
  if (r.shadow.length) {
    out.push('', '  shadow policies, would deny (current -> candidate)');
    for (const s of r.shadow.slice(0, 20))
      out.push(`    ${s.policy}${s.rule ? ` ${s.rule}` : ''}: ${s.current} -> ${s.candidate}`);
  }
  const examples = (title: string, list: Example[]) => {
    if (!list.length) return;
    out.push('', `  examples, ${title}`);
    for (const e of list) {
      const side = title === 'newly allowed' ? e.current : e.candidate;
      out.push(
        `    #${e.id} ${e.time} ${e.method} ${e.path}${e.query ? `?${e.query}` : ''} consumer=${e.consumer ?? '-'} ip=${e.clientIp}: ${title === 'newly allowed' ? 'was ' : ''}${side.status ?? ''} ${side.policy ?? ''}${side.rule ? ` (${side.rule})` : ''} ${side.code ?? ''}`.trimEnd(),
      );
    }
  };
  examples('newly denied', r.examples.newlyDenied);
  examples('newly allowed', r.examples.newlyAllowed);
  examples('changed denial', r.examples.changedDenial);
  if (r.notReplayable.length) {
    out.push('', '  not replayable (reported, not simulated)');
    for (const n of r.notReplayable) out.push(`    ${n.policy} ${n.change}: ${n.reason}`);
  }
  if (r.currentMismatch)
    out.push(
      '',
      `  note: for ${r.currentMismatch} request(s) the current revision's replay differs from what was recorded (older revisions in the range, or state replay does not have)`,
    );
  out.push(
    '',
    `  ${r.replayed} requests in ${r.durationMs} ms (compiling ${r.compileMs} ms; ${r.requestsPerSecond} recorded requests/s)`,
  );
  if (r.threshold)
    out.push(
      `  threshold: newly denied ${r.newlyDeniedPercent}% ${r.threshold.crossed ? '>' : '<='} ${r.threshold.newlyDeniedPercent}%: ${r.threshold.crossed ? 'CROSSED' : 'ok'}`,
    );
  return `${out.join('\n')}\n`;
}
