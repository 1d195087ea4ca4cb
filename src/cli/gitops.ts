import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ConfigDiff } from '../core/diff.js';
import { renderDiff } from '../core/diff.js';
import { adminCall, adminTarget } from './client.js';
import { printReport, type ReplayCliOptions, replayViaAdmin, THRESHOLD_EXIT } from './replay.js';

/**
 * `portcullis diff --live config.yaml`: what applying the file would change against the running
 * revision. A dry-run apply (`POST /config?dry_run=true`): validated and compiled by the
 * gateway, nothing activated.
 */
export async function diffLive(
  file: string,
  o: { adminUrl?: string; adminTokenFile?: string; json?: boolean },
): Promise<void> {
  const text = readFileSync(resolve(file), 'utf8');
  const r = (await adminCall(adminTarget(o), 'POST', '/config?dry_run=true', text, {
    'content-type': 'application/yaml',
  })) as { diff: ConfigDiff };
  process.stdout.write(o.json ? `${JSON.stringify(r.diff, null, 2)}\n` : `${renderDiff(r.diff)}\n`);
}

interface ApplyOptions extends ReplayCliOptions {
  dryRun?: boolean;
  message?: string;
  json?: boolean;
  replay: string;
}

interface ApplyAnswer {
  status: string;
  revision?: { id: number; hash: string };
  diff: ConfigDiff;
}

/**
 * `portcullis apply FILE [--dry-run] --replay 24h [--fail-on-newly-denied 0.1%]`: a dry-run
 * apply (validate, compile, diff), then a replay of the recorded traffic against the file. With
 * --dry-run nothing is activated; without it the file is applied only if the threshold was not
 * crossed. Exit 3 when it was.
 */
export async function applyWithReplay(file: string, o: ApplyOptions): Promise<void> {
  const text = readFileSync(resolve(file), 'utf8');
  const t = adminTarget(o);
  const yaml = { 'content-type': 'application/yaml' };
  const dry = (await adminCall(t, 'POST', '/config?dry_run=true', text, yaml)) as ApplyAnswer;
  if (!o.json) process.stdout.write(`dry-run\n${renderDiff(dry.diff)}\n\n`);
  const report = await replayViaAdmin(t, text, { ...o, since: o.replay });
  const crossed = report.threshold?.crossed === true;
  let applied: ApplyAnswer | undefined;
  if (!o.dryRun && !crossed) {
    const q = new URLSearchParams();
    if (o.message) q.set('message', o.message);
    applied = (await adminCall(t, 'POST', `/config?${q}`, text, yaml)) as ApplyAnswer;
  }
  const status = applied?.status ?? (o.dryRun ? 'dry-run' : 'not-applied');
  if (o.json) {
    process.stdout.write(
      `${JSON.stringify({ status, revision: applied?.revision, diff: dry.diff, replay: report }, null, 2)}\n`,
    );
  } else {
    printReport(report, 'text');
    if (applied)
      process.stdout.write(
        `\n${applied.status}${applied.revision ? `: revision ${applied.revision.id} (${applied.revision.hash.slice(0, 12)})` : ''}\n`,
      );
    else if (!o.dryRun) process.stdout.write('\nnot applied: the replay crossed --fail-on-newly-denied\n');
  }
  if (crossed) process.exitCode = THRESHOLD_EXIT;
}
