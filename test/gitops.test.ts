import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADMIN_TOKEN, adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let t: TestGateway;
let up: Upstream;
const dir = mkdtempSync(join(tmpdir(), 'portcullis-gitops-'));

function cli(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', ...args],
      {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          USER: 'gitops-tester',
          PORTCULLIS_ADMIN_URL: t.admin,
          PORTCULLIS_ADMIN_TOKEN: ADMIN_TOKEN,
        },
        timeout: 60_000,
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

function yaml(policies: string): string {
  return `services:
  - name: echo
    targets: [{ url: "${up.url}" }]
routes:
  - name: api
    service: echo
    paths: [/api]
policies:${policies || ' []'}
gateway:
  requestLog: { enabled: true }
`;
}

/** The candidate: no more than 2 requests a minute per client IP. */
const TIGHT = `
  - name: rate-limit
    config: { limits: [{ requests: 2, per: 1m }] }`;

let candidate: string;

before(async () => {
  up = await startUpstream();
  const base = join(dir, 'base.yaml');
  writeFileSync(base, yaml(''));
  candidate = join(dir, 'candidate.yaml');
  writeFileSync(candidate, yaml(TIGHT));
  const { parse } = await import('yaml');
  t = await startGateway(parse(yaml('')));
  for (let i = 0; i < 5; i++) assert.equal((await call(`${t.url}/api?i=${i}`)).status, 200);
});
after(async () => {
  await t?.stop();
  await up?.close();
});

describe('gitops through the CLI', () => {
  it('replay: JSON for CI, progress on stderr, exit 3 past the threshold; text otherwise', async () => {
    const [json, text] = await Promise.all([
      cli([
        'replay',
        '--candidate',
        candidate,
        '--since',
        '1h',
        '--format',
        'json',
        '--fail-on-newly-denied',
        '0.1%',
      ]),
      cli(['replay', '--candidate', candidate, '--since', '1h']),
    ]);
    assert.equal(json.code, 3, json.stderr);
    const report = JSON.parse(json.stdout);
    assert.equal(report.replayed, 5);
    assert.equal(report.newlyDenied, 3);
    assert.equal(report.newlyDeniedPercent, 60);
    assert.deepEqual(report.threshold, { newlyDeniedPercent: 0.1, crossed: true });
    assert.match(json.stderr, /replay: 5\/5 recorded requests \(100%\)/);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /newly denied\s+3\s+60\.00%/);
    assert.match(text.stdout, /rate-limit\s+3\s+0\s+0/);
  });

  it('diff --live and apply --dry-run show the change against the running revision, activating nothing', async () => {
    const before = (await adminCall(t, 'GET', '/revisions')).json.active;
    const [diff, dry] = await Promise.all([
      cli(['diff', '--live', candidate]),
      cli(['apply', candidate, '--dry-run']),
    ]);
    assert.equal(diff.code, 0, diff.stderr);
    assert.equal(diff.stdout, '+ policies/rate-limit#rate-limit@global\n');
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(dry.stdout, 'dry-run\n+ policies/rate-limit#rate-limit@global\n');
    assert.equal((await adminCall(t, 'GET', '/revisions')).json.active, before);
    const none = await cli(['diff']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /two revision ids, or --live FILE/);
  });

  it('apply --replay: refused past the threshold, applied under it', async () => {
    const before = (await adminCall(t, 'GET', '/revisions')).json.active;
    const refused = await cli(['apply', candidate, '--replay', '1h', '--fail-on-newly-denied', '10%']);
    assert.equal(refused.code, 3, refused.stderr);
    assert.match(refused.stdout, /^dry-run\n\+ policies\/rate-limit#rate-limit@global\n/);
    assert.match(refused.stdout, /not applied: the replay crossed --fail-on-newly-denied/);
    assert.equal((await adminCall(t, 'GET', '/revisions')).json.active, before);

    const applied = await cli([
      'apply',
      candidate,
      '--replay',
      '1h',
      '--fail-on-newly-denied',
      '80%',
      '--json',
    ]);
    assert.equal(applied.code, 0, applied.stderr);
    const out = JSON.parse(applied.stdout);
    assert.equal(out.status, 'applied');
    assert.equal(out.replay.newlyDenied, 3);
    assert.equal((await adminCall(t, 'GET', '/revisions')).json.active, out.revision.id);
  });
});
