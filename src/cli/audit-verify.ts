import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ChainOptions, type ChainReport, ChainWalker, parseHead } from '../store/audit-chain.js';
import { type AuditKeyRing, readAuditKeyFile } from '../store/audit-keys.js';
import type { AuditEvent } from '../store/store.js';
import type { AdminOpts } from './admin-call.js';
import { adminTarget } from './client.js';

export interface VerifyOpts extends AdminOpts {
  dataDir?: string;
  file?: string;
  auditKeyFile: string[];
  expectHead?: string;
  requireKeyed?: boolean;
}

/**
 * `portcullis audit verify`, in one of four ways: the gateway walks its own store with the keys
 * it holds (the default); the CLI walks a SQLite store (`--data-dir`), an export or sink file
 * (`--file`), or, given `--audit-key-file` alone, the running gateway's export, with the key
 * files given here, so an auditor need not trust the gateway's own verdict.
 */
export async function runVerify(o: VerifyOpts): Promise<ChainReport> {
  const keyFiles = o.auditKeyFile.length
    ? o.auditKeyFile
    : process.env.PORTCULLIS_AUDIT_KEY_FILE
      ? [process.env.PORTCULLIS_AUDIT_KEY_FILE]
      : [];
  const keys: AuditKeyRing = keyFiles.map(readAuditKeyFile);
  const expectHead = o.expectHead === undefined ? undefined : parseHead(o.expectHead);
  if (o.expectHead !== undefined && !expectHead)
    throw new Error('--expect-head must be ID:HASH, an event id and its full 64-hex hash');
  const chain: ChainOptions = { keys, expectHead, requireKeyed: o.requireKeyed };
  if (o.file) return verifyExport(readFileSync(o.file, 'utf8'), chain);
  if (o.dataDir) {
    const [{ SqliteStore }, { verifyAudit }] = await Promise.all([
      import('../store/sqlite.js'),
      import('../admin/routes/audit.js'),
    ]);
    const store = new SqliteStore(join(o.dataDir, 'portcullis.db'));
    try {
      return await verifyAudit(store, chain);
    } finally {
      await store.close();
    }
  }
  if (keys.length) return verifyExport(await fetchAdmin(o, '/audit/export', [200]), chain);
  const q = new URLSearchParams();
  if (o.expectHead) q.set('expect_head', o.expectHead);
  if (o.requireKeyed) q.set('require_keyed', 'true');
  // 409 carries the report of a broken chain; anything else is an error.
  return JSON.parse(await fetchAdmin(o, `/audit/verify?${q}`, [200, 409])) as ChainReport;
}

/**
 * Walks JSON lines as `audit export` and the file sink write them: event lines, and `auditHead`
 * lines (each export ends with one), each of which must name the event just before it.
 */
export function verifyExport(text: string, chain: ChainOptions): ChainReport {
  const w = new ChainWalker(chain);
  let last: { id: number; hash: string } | undefined;
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    if (!line.trim()) continue;
    let v: AuditEvent & { auditHead?: string | null };
    try {
      v = JSON.parse(line);
    } catch {
      throw new Error(`line ${lineNo} is not JSON`);
    }
    if ('auditHead' in v) {
      const head = v.auditHead === null ? undefined : parseHead(String(v.auditHead));
      if (v.auditHead !== null && !head) throw new Error(`line ${lineNo}: auditHead is not ID:HASH`);
      if (head?.id !== last?.id || head?.hash !== last?.hash)
        return {
          ok: false,
          events: last?.id ?? 0,
          id: head?.id ?? 0,
          reason: `the export's head ${v.auditHead} is not its last event ${last ? `${last.id}:${last.hash}` : '(none)'}: events were removed`,
        };
      continue;
    }
    if (!w.push({ ...v, keyId: v.keyId ?? null })) break;
    last = { id: v.id, hash: v.hash };
  }
  return w.finish();
}

async function fetchAdmin(o: AdminOpts, path: string, statuses: number[]): Promise<string> {
  const t = adminTarget(o);
  const res = await fetch(`${t.url}${path}`, {
    headers: t.token ? { authorization: `Bearer ${t.token}` } : {},
  }).catch((err: Error) => {
    throw new Error(`cannot reach the admin API at ${t.url}: ${err.message}`);
  });
  const body = await res.text();
  if (!statuses.includes(res.status)) throw new Error(`${res.status}: ${body}`);
  return body;
}

/** What `audit verify` prints: the verdict on stdout, warnings about unkeyed events on stderr. */
export function printReport(r: ChainReport): void {
  if (!r.ok) {
    process.stdout.write(
      `audit chain BROKEN at event ${r.id}: ${r.reason} (${r.events} event${r.events === 1 ? '' : 's'} verified before it)\n`,
    );
    return;
  }
  process.stdout.write(
    `audit chain intact: ${r.events} events${r.head ? `, head ${r.head.id}:${r.head.hash}` : ''}\n`,
  );
  if (r.keyed)
    process.stdout.write(
      `keyed (HMAC-SHA256): events ${r.keyed.from} to ${r.keyed.to}, key ${r.keyed.keyIds.join(', ')}\n`,
    );
  if (r.unkeyed > 0)
    process.stderr.write(
      `warning: ${r.keyed ? `events 1 to ${r.unkeyed} are` : 'the whole chain is'} unkeyed (plain SHA-256): that shows naive edits only, since whoever can write the store can recompute it. Key the chain (--audit-key-file) and pin heads (--expect-head).\n`,
    );
}
