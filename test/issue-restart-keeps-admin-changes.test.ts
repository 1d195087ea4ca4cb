import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { killAll, LOOPBACK, spawnStart, started, terminate } from './helpers/cli-process.js';
import { ADMIN_TOKEN, call } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

// Issue 11 item 7: a restart re-applied the --config file and reverted every change made through
// the admin API; a start without --config applied the demo example over a used data dir.

const dir = mkdtempSync(join(tmpdir(), 'portcullis-restart-'));
const dataDir = join(dir, 'data');
const file = join(dir, 'gateway.yaml');
let up: Upstream;

function yaml(deny?: string): string {
  return `services:
  - name: echo
    targets:
      - url: ${up.url}
routes:
  - name: hello
    service: echo
    paths: [/hello]
policies:${deny ? `\n  - name: ip-restriction\n    config: { deny: [${deny}] }` : ' []'}
`;
}

const admin = (base: string, method: string, path: string, body?: string) =>
  call(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/yaml' },
    body,
  });

async function revisions(base: string): Promise<{ active: number; ids: number[] }> {
  const r = (await admin(base, 'GET', '/revisions')).json;
  return { active: r.active, ids: r.revisions.map((v: { id: number }) => v.id) };
}

before(async () => {
  up = await startUpstream();
  writeFileSync(file, yaml());
});
after(async () => {
  killAll();
  await up.close();
});

describe('a restart keeps what was changed through the admin API', () => {
  it('restart with the same --config serves the admin-applied revision', async () => {
    const one = spawnStart([...LOOPBACK, '--data-dir', dataDir, '--config', file, '--no-watch']);
    const a = await started(one);
    assert.equal(a.revision, '1');
    // An admin tightens the policy through the API: revision 2, denying loopback.
    const applied = await admin(a.admin, 'POST', '/config', yaml('127.0.0.0/8'));
    assert.equal(applied.status, 201, applied.text);
    assert.equal((await call(`${a.url}/hello`)).status, 403);
    assert.equal(await terminate(one), 0);

    const two = spawnStart([...LOOPBACK, '--data-dir', dataDir, '--config', file, '--no-watch']);
    const b = await started(two);
    const kept = await two.waitLine('the kept line', (l) =>
      /serving revision 2 from the store/.test(l.msg ?? ''),
    );
    assert.equal(kept.revision, 2);
    assert.deepEqual(await revisions(b.admin), { active: 2, ids: [2, 1] });
    assert.equal((await call(`${b.url}/hello`)).status, 403, 'the admin change is still enforced');
    assert.equal(await terminate(two), 0);
  });

  it('refuses to start when the file changed AND the store changed since, writing nothing', async () => {
    writeFileSync(file, yaml('10.0.0.0/8'));
    const three = spawnStart([...LOOPBACK, '--data-dir', dataDir, '--config', file, '--no-watch']);
    assert.equal(await three.exited, 1);
    assert.match(
      three.stderr(),
      /error: refusing to apply .*gateway\.yaml at start: the file changed since it produced revision 1, and the active revision is now revision 2 \(by root\).*--from-store.*--force-config/,
    );

    // --from-store serves the store's revision without reading the file at start.
    const four = spawnStart([
      ...LOOPBACK,
      '--data-dir',
      dataDir,
      '--config',
      file,
      '--no-watch',
      '--from-store',
    ]);
    const d = await started(four);
    assert.deepEqual(await revisions(d.admin), { active: 2, ids: [2, 1] }, 'the refused start wrote nothing');
    assert.equal(await terminate(four), 0);
  });

  it('--force-config applies the file over the admin change, loudly', async () => {
    const five = spawnStart([
      ...LOOPBACK,
      '--data-dir',
      dataDir,
      '--config',
      file,
      '--no-watch',
      '--force-config',
    ]);
    const e = await started(five);
    const warn = await five.waitLine('the warning', (l) => /^--force-config: applying/.test(l.msg ?? ''));
    assert.equal(warn.level, 40);
    assert.equal(warn.replaced, 2);
    assert.deepEqual(await revisions(e.admin), { active: 3, ids: [3, 2, 1] });
    assert.equal((await call(`${e.url}/hello`)).status, 200);
    assert.equal(await terminate(five), 0);
  });

  it('a file edited while the gateway was down, with no admin change since, is applied', async () => {
    writeFileSync(file, yaml('127.0.0.1/32'));
    const six = spawnStart([...LOOPBACK, '--data-dir', dataDir, '--config', file, '--no-watch']);
    const f = await started(six);
    assert.equal(f.revision, '4');
    assert.equal((await call(`${f.url}/hello`)).status, 403);
    assert.equal(await terminate(six), 0);
  });

  it('start without --config on a used data dir serves its active revision, not the demo example', async () => {
    const seven = spawnStart([...LOOPBACK, '--data-dir', dataDir]);
    const g = await started(seven);
    assert.equal(g.revision, '4');
    await seven.waitLine('the store line', (l) => l.msg === 'serving revision 4 from the store');
    assert.deepEqual(await revisions(g.admin), { active: 4, ids: [4, 3, 2, 1] });
    assert.ok(!seven.stderr().includes('demo upstream'), 'no demo upstream on a used data dir');
    assert.equal(await terminate(seven), 0);
  });
});
