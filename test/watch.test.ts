import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

const dir = mkdtempSync(join(tmpdir(), 'portcullis-watch-'));
const file = join(dir, 'gateway.yaml');
let up: Upstream;
let t: TestGateway;

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

/** Polls until `ok()` holds, for at most `ms`; the watcher debounces (300 ms) and the OS is late. */
async function waitFor(what: string, ok: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  await t.gw.watcherSettled();
}

const active = () => t.gw.revisions.active?.id;
const refusals = () =>
  t.logs.lines.filter((l) => l.msg === 'config file change refused; the running revision stays');
const status = async () => (await call(`${t.url}/hello`)).status;

before(async () => {
  up = await startUpstream();
  writeFileSync(file, yaml());
  t = await startGateway(undefined, { configFile: file, watch: true });
});
after(async () => {
  await t.stop();
  await up.close();
});

describe('watching the config file', () => {
  it('starts on the file', async () => {
    assert.equal(active(), 1);
    assert.equal(t.gw.revisions.active?.message, `start: ${file}`);
    assert.equal(await status(), 200);
  });

  it('applies a rewritten file as a new revision', async () => {
    writeFileSync(file, yaml('127.0.0.0/8'));
    await waitFor('revision 2', () => active() === 2);
    const meta = t.gw.revisions.active;
    assert.equal(meta?.parent, 1);
    assert.equal(meta?.author, 'file-watcher');
    assert.equal(meta?.message, `file changed: ${file}`);
    assert.equal(await status(), 403);
  });

  it('refuses invalid YAML, keeps the running revision and logs the error', async () => {
    const before = refusals().length;
    writeFileSync(file, 'services: [\n  - name: echo\n');
    await waitFor('a refusal', () => refusals().length > before);
    const line = refusals()[before];
    assert.equal(line.level, 50);
    assert.equal(line.file, file);
    const issues = line.issues as { path: string; message: string }[];
    assert.ok(issues.length >= 1);
    for (const i of issues)
      assert.ok(/^:\d+:\d+$/.test(i.path.slice(file.length)) && i.path.startsWith(file), i.path);
    assert.equal(active(), 2);
    assert.equal(await status(), 403);
  });

  it('refuses a config with errors, listing them by path', async () => {
    const before = refusals().length;
    writeFileSync(file, yaml('127.0.0.0/8').replace('service: echo', 'service: gone'));
    await waitFor('a refusal', () => refusals().length > before);
    assert.deepEqual(refusals()[before].issues, [
      { path: '/routes/0/service', message: "no service named 'gone'" },
    ]);
    assert.equal(active(), 2);
  });

  it('applies a file replaced by rename (write a temp file, rename over)', async () => {
    const tmp = join(dir, '.gateway.yaml.tmp');
    writeFileSync(tmp, yaml('10.0.0.0/8'));
    renameSync(tmp, file);
    await waitFor('revision 3', () => active() === 3);
    assert.equal(t.gw.revisions.active?.parent, 2);
    assert.equal(await status(), 200);
    assert.deepEqual(t.gw.revisions.current.config.policies[0].config, { deny: ['10.0.0.0/8'] });
  });

  it('makes no revision when the file is rewritten with the same config', async () => {
    // Same config, different text: the revision hash is over the config, not the file.
    writeFileSync(file, `# a comment\n${yaml('10.0.0.0/8')}`);
    writeFileSync(join(dir, 'unrelated.txt'), 'not the config');
    await new Promise((r) => setTimeout(r, 800));
    await t.gw.watcherSettled();
    assert.equal(active(), 3);
    assert.equal((await t.gw.store.listRevisions()).length, 3);
  });
});
