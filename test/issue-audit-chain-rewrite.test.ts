import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { canonicalJson } from '../src/lib/canonical.js';
import { auditKeyId } from '../src/store/audit-keys.js';
import { ADMIN_TOKEN, adminCall, startGateway, type TestGateway } from './helpers/gateway.js';

// Issue 11 item 4: the chain had no key and its head lived in the same database, so a short
// script rewrote two events, recomputed the chain and `audit verify` said intact.

const tmp = mkdtempSync(join(tmpdir(), 'portcullis-audit-rewrite-'));
const KEY = randomBytes(32).toString('hex');
const keyFile = join(tmp, 'audit.key');
writeFileSync(keyFile, `${KEY}\n`, { mode: 0o600 });
const EMPTY = { services: [], routes: [], policies: [] };
const running: TestGateway[] = [];
after(async () => {
  for (const g of running) await g.stop().catch(() => undefined);
});

async function gateway(dataDir?: string, opts: Record<string, unknown> = {}): Promise<TestGateway> {
  const g = await startGateway(EMPTY, { ...(dataDir ? { dataDir } : {}), auditKey: KEY, ...opts });
  running.push(g);
  return g;
}

/** A keyed gateway that made five changes, then stopped; its heads as the log printed them. */
async function seed(opts: Record<string, unknown> = {}): Promise<{ dataDir: string; heads: string[] }> {
  const g = await gateway(undefined, opts);
  for (const name of ['acme', 'globex', 'initech', 'umbrella'])
    assert.equal((await adminCall(g, 'POST', '/consumers', { name })).status, 201);
  const heads = g.logs.lines.filter((l) => l.msg === 'audit event').map((l) => String(l.audit_head));
  await g.stop();
  return { dataDir: g.dataDir, heads };
}

type Mode = 'naive' | 'strip' | 'strip-all' | 'own-key' | 'own-key-our-id';

/**
 * The attack, with the gateway stopped: edit events 2 and 3 in the SQLite file and recompute
 * the chain from there (from event 1 for `strip-all`), as someone who read the source but has
 * not got the key would. `naive`: SHA-256 over the same fields, as before keys. `strip`: the
 * same, also clearing the key ids. `own-key`: HMAC with a key of one's own.
 */
function rewrite(dataDir: string, mode: Mode): void {
  const db = new Database(join(dataDir, 'portcullis.db'));
  const rows = db.prepare('SELECT * FROM audit ORDER BY id').all() as Record<string, any>[];
  const mine = randomBytes(32);
  let prev = '0'.repeat(64);
  const from = mode === 'strip-all' ? 1 : 2;
  for (const r of rows) {
    if (r.id < from) {
      prev = r.hash;
      continue;
    }
    const detail = r.id === 2 || r.id === 3 ? { note: 'nothing to see' } : JSON.parse(r.detail);
    const actor = r.id === 2 || r.id === 3 ? 'alice' : r.actor;
    const fields = {
      id: r.id,
      ts: r.ts,
      actor,
      action: r.action,
      target: r.target,
      beforeHash: r.before_hash,
      afterHash: r.after_hash,
      detail,
      prevHash: prev,
    };
    let keyId: string | null = r.key_id;
    let hash: string;
    if (mode === 'naive' || mode === 'strip' || mode === 'strip-all') {
      if (mode !== 'naive') keyId = null;
      hash = createHash('sha256').update(canonicalJson(fields)).digest('hex');
    } else {
      keyId = mode === 'own-key' ? auditKeyId(mine) : r.key_id;
      hash = createHmac('sha256', mine)
        .update(canonicalJson({ ...fields, keyId }))
        .digest('hex');
    }
    db.prepare(
      'UPDATE audit SET actor = ?, detail = ?, prev_hash = ?, key_id = ?, hash = ? WHERE id = ?',
    ).run(actor, JSON.stringify(detail), prev, keyId, hash, r.id);
    prev = hash;
  }
  db.prepare("UPDATE state SET value = ? WHERE key = 'audit_head'").run(`${rows.at(-1)!.id}:${prev}`);
  db.close();
}

function cli(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', ...args],
      { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

describe('issue: the audit chain can be rewritten', () => {
  it('a keyed chain: a rewrite recomputed without the key is found (API, after a restart)', async () => {
    for (const [mode, id, reason] of [
      ['naive', 2, 'event content does not match its keyed hash (edited, or recomputed without the key)'],
      ['strip', 2, 'event is unkeyed after keyed events (from 1): a key was stripped'],
      [
        'own-key-our-id',
        2,
        'event content does not match its keyed hash (edited, or recomputed without the key)',
      ],
    ] as const) {
      const { dataDir } = await seed();
      rewrite(dataDir, mode);
      const g = await gateway(dataDir);
      const r = await adminCall(g, 'GET', '/audit/verify');
      assert.equal(r.status, 409, mode);
      assert.deepEqual(r.json, { ok: false, events: 1, id, reason }, mode);
      await g.stop();
    }
  });

  it('a chain recomputed with another key names the key it was signed with', async () => {
    const { dataDir } = await seed();
    rewrite(dataDir, 'own-key');
    const g = await gateway(dataDir);
    const r = await adminCall(g, 'GET', '/audit/verify');
    assert.equal(r.status, 409);
    assert.match(r.json.reason, /^event is keyed with key [0-9a-f]{8}, not a given key \([0-9a-f]{8}\)/);
    assert.equal(r.json.id, 2);
  });

  it('a fully stripped chain, or a truncated one, fails against a head pinned from the log', async () => {
    const { dataDir, heads } = await seed();
    assert.equal(heads.length, 5);
    assert.match(heads[4], /^5:[0-9a-f]{64}$/);
    rewrite(dataDir, 'strip-all');
    const g = await gateway(dataDir);
    // Without a pin the forgery looks like a chain that was never keyed: the report says so.
    const plain = (await adminCall(g, 'GET', '/audit/verify')).json;
    assert.equal(plain.ok, true);
    assert.deepEqual([plain.keyed, plain.unkeyed], [null, 5]);
    const pinned = await adminCall(g, 'GET', `/audit/verify?expect_head=${heads[4]}`);
    assert.equal(pinned.status, 409);
    assert.deepEqual(pinned.json, {
      ok: false,
      events: 5,
      id: 5,
      reason: 'event 5 does not have the expected head hash: the chain was rewritten',
    });
    const strict = await adminCall(g, 'GET', '/audit/verify?require_keyed=true');
    assert.equal(strict.json.reason, 'event is unkeyed, and every event must be keyed');
    const bad = await adminCall(g, 'GET', '/audit/verify?expect_head=5:abc');
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.code, 'PCS_ERR_ADMIN_BAD_INPUT');
    await g.stop();

    // Truncation: the last two events deleted and the recorded head moved back to event 3.
    const t = await seed();
    const db = new Database(join(t.dataDir, 'portcullis.db'));
    db.prepare('DELETE FROM audit WHERE id > 3').run();
    db.prepare("UPDATE state SET value = ? WHERE key = 'audit_head'").run(t.heads[2]);
    db.close();
    const off = await cli([
      'audit',
      'verify',
      '--data-dir',
      t.dataDir,
      '--audit-key-file',
      keyFile,
      '--expect-head',
      t.heads[4],
    ]);
    assert.equal(off.code, 1, off.stderr);
    assert.equal(
      off.stdout,
      'audit chain BROKEN at event 5: the chain ends at event 3, before the expected head 5: events were removed (3 events verified before it)\n',
    );
  });

  it('the CLI verifies offline with the key file, and fails without it or with a wrong one', async () => {
    const { dataDir, heads } = await seed();
    const wrong = join(tmp, 'wrong.key');
    writeFileSync(wrong, randomBytes(32).toString('hex'));
    const [ok, none, other] = await Promise.all([
      cli(['audit', 'verify', '--data-dir', dataDir, '--expect-head', heads[4]], {
        PORTCULLIS_AUDIT_KEY_FILE: keyFile,
      }),
      cli(['audit', 'verify', '--data-dir', dataDir]),
      cli(['audit', 'verify', '--data-dir', dataDir, '--audit-key-file', wrong]),
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(
      ok.stdout,
      `audit chain intact: 5 events, head ${heads[4]}\nkeyed (HMAC-SHA256): events 1 to 5, key ${auditKeyId(Buffer.from(KEY))}\n`,
    );
    assert.equal(none.code, 1);
    assert.match(
      none.stdout,
      /BROKEN at event 1: event is keyed \(key [0-9a-f]{8}\) and no audit key was given/,
    );
    assert.equal(other.code, 1);
    assert.match(other.stdout, /BROKEN at event 1: event is keyed with key [0-9a-f]{8}, not a given key/);

    rewrite(dataDir, 'naive');
    const after = await cli(['audit', 'verify', '--data-dir', dataDir, '--audit-key-file', keyFile]);
    assert.equal(after.code, 1);
    assert.match(after.stdout, /^audit chain BROKEN at event 2: event content does not match its keyed hash/);
  });

  it('an unkeyed chain keyed later: old events stay verifiable, and rewriting them is found', async () => {
    const g0 = await startGateway(EMPTY);
    running.push(g0);
    await adminCall(g0, 'POST', '/consumers', { name: 'before-keys' });
    assert.ok(g0.logs.lines.some((l) => l.level === 40 && /AUDIT CHAIN IS UNKEYED/.test(String(l.msg))));
    assert.match((await adminCall(g0, 'GET', '/metrics')).text, /^portcullis_audit_chain_keyed 0$/m);
    await g0.stop();
    const g = await gateway(g0.dataDir);
    await adminCall(g, 'POST', '/consumers', { name: 'after-keys' });
    const r = (await adminCall(g, 'GET', '/audit/verify')).json;
    assert.equal(r.ok, true);
    assert.deepEqual([r.events, r.unkeyed, r.keyed.from, r.keyed.to], [3, 2, 3, 3]);
    await g.stop();
    // Event 3 is keyed and its HMAC covers event 2's hash: recomputing events 1-2 breaks it.
    const db = new Database(join(g0.dataDir, 'portcullis.db'));
    const rows = db.prepare('SELECT * FROM audit WHERE id <= 2 ORDER BY id').all() as Record<string, any>[];
    let prev = '0'.repeat(64);
    for (const row of rows) {
      const f = {
        id: row.id,
        ts: row.ts,
        actor: 'mallory',
        action: row.action,
        target: row.target,
        beforeHash: row.before_hash,
        afterHash: row.after_hash,
        detail: JSON.parse(row.detail),
        prevHash: prev,
      };
      prev = createHash('sha256').update(canonicalJson(f)).digest('hex');
      db.prepare("UPDATE audit SET actor = 'mallory', prev_hash = ?, hash = ? WHERE id = ?").run(
        f.prevHash,
        prev,
        row.id,
      );
    }
    db.close();
    const g2 = await gateway(g0.dataDir);
    const broken = (await adminCall(g2, 'GET', '/audit/verify')).json;
    assert.deepEqual(broken, {
      ok: false,
      events: 2,
      id: 3,
      reason: 'prevHash does not match the previous event',
    });
  });
});

describe('issue: the head outside the store (log lines, exports, sinks)', () => {
  it('every audit log line and every export carries the head; the file sink gets every event', async () => {
    const sink = join(tmp, 'sink.jsonl');
    writeFileSync(sink, '');
    const { dataDir, heads } = await seed({ auditSinks: [`file:${sink}`] });
    const lines = readFileSync(sink, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((e) => `${e.id}:${e.hash}`),
      heads,
    );
    const g = await gateway(dataDir);
    const exp = await fetch(`${g.admin}/audit/export`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const text = await exp.text();
    assert.equal(text.trimEnd().split('\n').at(-1), JSON.stringify({ auditHead: heads[4] }));
    const exportFile = join(tmp, 'export.jsonl');
    writeFileSync(exportFile, text);
    await g.stop();

    // The attacker rewrites the store; the sink and the export still hold the truth.
    rewrite(dataDir, 'naive');
    const [fromSink, fromExport, truncated] = await Promise.all([
      cli(['audit', 'verify', '--file', sink, '--audit-key-file', keyFile]),
      cli(['audit', 'verify', '--file', exportFile, '--audit-key-file', keyFile, '--expect-head', heads[4]]),
      (async () => {
        const cut = join(tmp, 'cut.jsonl');
        const l = text.trimEnd().split('\n');
        writeFileSync(cut, [...l.slice(0, 3), l.at(-1)].join('\n'));
        return cli(['audit', 'verify', '--file', cut, '--audit-key-file', keyFile]);
      })(),
    ]);
    assert.equal(fromSink.code, 0, fromSink.stdout + fromSink.stderr);
    assert.match(fromSink.stdout, new RegExp(`^audit chain intact: 5 events, head ${heads[4]}\n`));
    assert.equal(fromExport.code, 0, fromExport.stdout + fromExport.stderr);
    assert.equal(truncated.code, 1);
    assert.match(
      truncated.stdout,
      /BROKEN at event 5: the export's head 5:[0-9a-f]{64} is not its last event 3:/,
    );
  });

  it('an HTTP sink retries a failing collector and delivers every event in order', async () => {
    const got: Record<string, unknown>[] = [];
    let calls = 0;
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        calls++;
        if (calls <= 2) {
          res.writeHead(503).end();
          return;
        }
        got.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/audit`;
    try {
      const g = await gateway(undefined, { auditSinks: [url], auditSinkRetryMs: 5 });
      await adminCall(g, 'POST', '/consumers', { name: 'acme' });
      await adminCall(g, 'POST', '/consumers', { name: 'globex' });
      for (let i = 0; i < 400 && got.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(
        got.map((e) => [e.id, e.action]),
        [
          [1, 'revision.apply'],
          [2, 'consumer.create'],
          [3, 'consumer.create'],
        ],
      );
      const metrics = (await adminCall(g, 'GET', '/metrics')).text;
      assert.match(
        metrics,
        /portcullis_audit_sink_failures_total\{sink="http:\/\/127\.0\.0\.1:\d+\/audit"\} 2/,
      );
      assert.match(metrics, /^portcullis_audit_chain_keyed 1$/m);
      assert.ok(g.logs.lines.some((l) => l.msg === 'AUDIT SINK WRITE FAILED'));
      await g.stop();
    } finally {
      server.close();
    }
  });
});
