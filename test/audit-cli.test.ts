import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { ADMIN_TOKEN, adminCall, startGateway, type TestGateway } from './helpers/gateway.js';

const dir = mkdtempSync(join(tmpdir(), 'portcullis-audit-cli-'));
let g: TestGateway;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI as a child process against the gateway running in this process. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', ...args],
      {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          PORTCULLIS_ADMIN_URL: g.admin,
          PORTCULLIS_ADMIN_TOKEN: ADMIN_TOKEN,
          ...env,
        },
        timeout: 60_000,
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

before(async () => {
  g = await startGateway({ services: [], routes: [], policies: [] });
  await adminCall(g, 'POST', '/consumers', { name: 'acme' });
});
after(() => g.stop());

describe('cli: audit, canary, proposals and admins commands', () => {
  it('audit verify, export, canary status, proposals list, admins list', async () => {
    const out = join(dir, 'audit.jsonl');
    const cfg = join(dir, 'candidate.yaml');
    writeFileSync(cfg, 'services: []\nroutes: []\npolicies: []\ngateway: { trustedProxies: [10.0.0.0/8] }\n');
    const [verify, exp, status, admins] = await Promise.all([
      cli(['audit', 'verify']),
      cli(['audit', 'export', '-o', out]),
      cli(['canary', 'status']),
      cli(['admins', 'list']),
    ]);
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stdout, /^audit chain intact: 2 events, head 2:[0-9a-f]{64}\n$/);
    assert.match(verify.stderr, /warning: the whole chain is unkeyed/);
    assert.equal(exp.code, 0, exp.stderr);
    assert.deepEqual(
      readFileSync(out, 'utf8')
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l).action ?? 'head'),
      ['revision.apply', 'consumer.create', 'head'],
    );
    assert.equal(status.stdout, 'no canary; active revision 1\n');
    assert.equal(admins.stdout, 'root  admin  -  start-up token\n');

    const proposed = await cli(['proposals', 'create', cfg, '-m', 'trust the LB']);
    assert.equal(proposed.stdout, 'proposal 1 pending\n');
    const list = await cli(['proposals', 'list']);
    assert.equal(list.stdout, '   1  pending    root  trust the LB\n');
  });

  it('audit verify exits 1 and names the event when a row was edited in the SQLite file', async () => {
    const db = new Database(join(g.dataDir, 'portcullis.db'));
    db.prepare("UPDATE audit SET target = 'consumer/other' WHERE id = 2").run();
    db.close();
    const [remote, offline] = await Promise.all([
      cli(['audit', 'verify']),
      cli(['audit', 'verify', '--data-dir', g.dataDir]),
    ]);
    for (const r of [remote, offline]) {
      assert.equal(r.code, 1);
      assert.equal(
        r.stdout,
        'audit chain BROKEN at event 2: event content does not match its hash (1 event verified before it)\n',
      );
    }
  });
});
