import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { killAll, LOOPBACK, spawnStart, started, terminate } from './helpers/cli-process.js';
import { ADMIN_TOKEN, call } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

// Issue 11 item 8: a second start on the data dir of a running gateway wrote a startup revision
// and an audit event into its store, then failed on EADDRINUSE.

const dir = mkdtempSync(join(tmpdir(), 'portcullis-lock-'));
const dataDir = join(dir, 'data');
let up: Upstream;
let fileA: string;
let fileB: string;

const config = (deny: string) => `services:
  - name: echo
    targets:
      - url: ${up.url}
routes:
  - name: hello
    service: echo
    paths: [/hello]
policies:
  - name: ip-restriction
    config: { deny: [${deny}] }
`;

const get = async (base: string, path: string) =>
  (await call(`${base}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json;

/** Rows written to a store, read from the file as another tool would. */
function rows(data: string): { revisions: number; audit: number } {
  const db = new Database(join(data, 'portcullis.db'), { readonly: true });
  try {
    const n = (t: string) => (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
    return { revisions: n('revisions'), audit: n('audit') };
  } finally {
    db.close();
  }
}

before(async () => {
  up = await startUpstream();
  fileA = join(dir, 'a.yaml');
  fileB = join(dir, 'b.yaml');
  writeFileSync(fileA, config('10.0.0.0/8'));
  writeFileSync(fileB, config('192.168.0.0/16'));
});
after(async () => {
  killAll();
  await up.close();
});

describe('the data dir is locked for the gateway process', () => {
  it('a second start on the same data dir fails fast and writes nothing', async () => {
    const one = spawnStart([...LOOPBACK, '--data-dir', dataDir, '--config', fileA]);
    const a = await started(one);
    assert.equal(readFileSync(join(dataDir, 'portcullis.pid'), 'utf8'), `${one.child.pid}\n`);
    const before = [
      (await get(a.admin, '/revisions')).revisions.length,
      (await get(a.admin, '/audit')).events.length,
    ];

    // A different config and free ports: only the lock stops it.
    const two = spawnStart([...LOOPBACK, '--data-dir', dataDir, '--config', fileB]);
    assert.equal(await two.exited, 1);
    assert.equal(
      two.stderr(),
      `error: data dir '${dataDir}' is in use by another portcullis process (pid ${one.child.pid}): stop it first, or start with another --data-dir\n`,
    );
    const after = [
      (await get(a.admin, '/revisions')).revisions.length,
      (await get(a.admin, '/audit')).events.length,
    ];
    assert.deepEqual(after, before);
    assert.equal((await get(a.admin, '/revisions')).active, 1);
    assert.equal((await call(`${a.url}/hello`)).status, 200, 'the running gateway still serves');

    assert.equal(await terminate(one), 0);
    assert.equal(existsSync(join(dataDir, 'portcullis.pid')), false, 'a clean stop removes the pid file');
  });

  it('a start whose port is taken writes nothing to its store', async () => {
    const one = spawnStart([...LOOPBACK, '--data-dir', dataDir, '--config', fileA]);
    const a = await started(one);
    const taken = new URL(a.url).port;
    const other = join(dir, 'other');
    const two = spawnStart([
      '--host',
      '127.0.0.1',
      '--port',
      taken,
      '--admin-port',
      '0',
      '--data-dir',
      other,
      '--config',
      fileA,
    ]);
    assert.equal(await two.exited, 1);
    assert.match(two.stderr(), /EADDRINUSE/);
    assert.deepEqual(rows(other), { revisions: 0, audit: 0 });
    assert.equal(await terminate(one), 0);
  });

  it('a killed gateway leaves no stale lock', async () => {
    const one = spawnStart([...LOOPBACK, '--data-dir', dataDir, '--config', fileA]);
    await started(one);
    one.child.kill('SIGKILL');
    assert.equal(await one.exited, 'SIGKILL');
    const two = spawnStart([...LOOPBACK, '--data-dir', dataDir, '--config', fileA]);
    const b = await started(two);
    assert.equal(b.revision, '1');
    assert.equal(readFileSync(join(dataDir, 'portcullis.pid'), 'utf8'), `${two.child.pid}\n`);
    assert.equal(await terminate(two), 0);
  });
});
