import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADMIN_TOKEN, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

const dir = mkdtempSync(join(tmpdir(), 'portcullis-cli-'));
let up: Upstream;
let t: TestGateway;
let validateFiles: { good: string; bad: string; broken: string; missing: string };
let validateRuns: Promise<Run[]>;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as a child process; the gateway in this process keeps serving meanwhile. */
function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', ...args],
      {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          USER: 'cli-tester',
          PORTCULLIS_ADMIN_URL: t.admin,
          PORTCULLIS_ADMIN_TOKEN: ADMIN_TOKEN,
          ...env,
        },
        // A safety net only (a hung CLI), not a timing assertion: on a loaded machine a tsx start
        // alone can take tens of seconds.
        timeout: 120_000,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function yaml(url: string, policies = ''): string {
  return `services:
  - name: echo
    targets:
      - url: ${url}
routes:
  - name: hello
    service: echo
    paths: [/hello]
policies:${policies ? `\n${policies}` : ' []'}
`;
}

const DENY = `  - name: ip-restriction
    scope: { route: hello }
    config: { deny: [10.0.0.0/8] }`;

before(async () => {
  up = await startUpstream((req, res, body) => {
    if (req.url?.startsWith('/text')) return void res.end('hello, not json');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ url: req.url, body }));
  });
  t = await startGateway({
    services: [{ name: 'echo', targets: [{ url: up.url }] }],
    routes: [{ name: 'hello', service: 'echo', paths: ['/hello'] }],
    policies: [],
  });
  // `validate` needs no gateway: these runs start now and go on beside the tests below.
  validateFiles = {
    good: file('good.yaml', yaml(up.url, DENY)),
    bad: file(
      'bad.yaml',
      `${yaml(up.url, DENY).replace('service: echo', 'service: nope')}  - name: cors\n    config: { origins: ['*'], credentials: true }\n`,
    ),
    broken: file('broken.yaml', 'services: [\n'),
    missing: join(dir, 'missing.yaml'),
  };
  const f = validateFiles;
  validateRuns = Promise.all([
    cli(['validate', f.good]),
    cli(['validate', f.bad]),
    cli(['validate', f.broken]),
    cli(['validate', f.missing]),
  ]);
});
after(async () => {
  await t.stop();
  await up.close();
});

describe('cli: against the running gateway', () => {
  let hash2 = '';

  it('apply --dry-run prints the diff and changes nothing', async () => {
    const r = await cli(['apply', '--dry-run', file('deny.yaml', yaml(up.url, DENY))]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'dry-run\n+ policies/ip-restriction#ip-restriction@route:hello\n');
    assert.equal(t.gw.revisions.active?.id, 1);
  });

  it('apply creates a revision with the author and message', async () => {
    const r = await cli(['apply', '-m', 'deny ten', join(dir, 'deny.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    const active = t.gw.revisions.active;
    assert.equal(active?.id, 2);
    assert.equal(active?.author, 'root'); // the authenticated admin, not $USER
    assert.equal(active?.message, 'deny ten');
    hash2 = active?.hash ?? '';
    assert.equal(
      r.stdout,
      `applied: revision 2 (${hash2.slice(0, 12)})\n+ policies/ip-restriction#ip-restriction@route:hello\n`,
    );
    const [again, json] = await Promise.all([
      cli(['apply', join(dir, 'deny.yaml')]),
      cli(['apply', '--json', '--dry-run', join(dir, 'deny.yaml')]),
    ]);
    assert.equal(again.stdout, `unchanged: revision 2 (${hash2.slice(0, 12)})\nno changes\n`);
    const j = JSON.parse(json.stdout);
    assert.equal(j.status, 'dry-run');
    assert.equal(j.diff.empty, true);
  });

  it('apply of a refused config exits 1 with the issues', async () => {
    const f = file(
      'refused.yaml',
      yaml(up.url, '  - name: ip-restriction\n    config: { deny: [10.0.0.0/99] }'),
    );
    const r = await cli(['apply', f]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      /^error 400 PCS_ERR_CONFIG_INVALID: Configuration refused\n {2}\/policies\/0\/config.*10\.0\.0\.0\/99/,
    );
    assert.equal(t.gw.revisions.active?.id, 2);
  });

  it('revisions lists newest first and marks the active one', async () => {
    const [r, rj] = await Promise.all([cli(['revisions']), cli(['revisions', '--json'])]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0], new RegExp(`^\\*    2  ${hash2.slice(0, 12)}  \\S+  root  deny ten$`));
    assert.match(lines[1], /^ {5}1 {2}[0-9a-f]{12} {2}\S+ {2}startup {2}start$/);
    const j = JSON.parse(rj.stdout);
    assert.equal(j.active, 2);
    assert.deepEqual(
      j.revisions.map((v: { id: number }) => v.id),
      [2, 1],
    );
  });

  it('diff renders field changes, or JSON', async () => {
    const [r, rj, bad] = await Promise.all([
      cli(['diff', '2', '1']),
      cli(['diff', '1', '2', '--json']),
      cli(['diff', '1', 'x']),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '- policies/ip-restriction#ip-restriction@route:hello\n');
    const j = JSON.parse(rj.stdout);
    assert.deepEqual(j.policies.added, ['ip-restriction#ip-restriction@route:hello']);
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, "error 400 PCS_ERR_ADMIN_BAD_INPUT: 'x' is not a revision id\n");
  });

  it('rollback re-activates a revision, and exits 1 for an unknown one', async () => {
    const r = await cli(['rollback', '1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^rolled back to revision 1 \([0-9a-f]{12}\)\n$/);
    assert.equal(t.gw.revisions.active?.id, 1);
    const missing = await cli(['rollback', '99']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'error 404 PCS_ERR_ADMIN_NOT_FOUND: revision 99 not found\n');
  });

  it('audit lists the events, or JSON lines', async () => {
    const [r, rj] = await Promise.all([cli(['audit']), cli(['audit', '--json'])]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.deepEqual(
      lines.map((l) => l.split('  ').slice(2)),
      [
        ['startup', 'revision.apply', 'revision/1'],
        ['root', 'revision.apply', 'revision/2'],
        ['root', 'revision.rollback', 'revision/1'],
      ],
    );
    const json = rj.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      json.map((e) => e.id),
      [1, 2, 3],
    );
    assert.match(json[2].hash, /^[0-9a-f]{64}$/);
  });

  it('reads the token from --admin-token-file, and exits 1 without a valid one', async () => {
    const tokenFile = file('token', `${ADMIN_TOKEN}\n`);
    const [ok, none, wrong] = await Promise.all([
      cli(['revisions', '--admin-token-file', tokenFile], { PORTCULLIS_ADMIN_TOKEN: undefined }),
      cli(['revisions'], { PORTCULLIS_ADMIN_TOKEN: undefined }),
      cli(['audit'], { PORTCULLIS_ADMIN_TOKEN: 'not-the-token-at-all' }),
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(none.code, 1);
    assert.equal(none.stderr, 'error 401 PCS_ERR_ADMIN_UNAUTHORIZED: Missing or invalid admin token\n');
    assert.equal(wrong.code, 1);
  });

  it('--admin-url wins over the environment', async () => {
    const r = await cli(['revisions', '--admin-url', `${t.admin}/`], {
      PORTCULLIS_ADMIN_URL: 'http://127.0.0.1:1',
    });
    assert.equal(r.code, 0, r.stderr);
  });

  it('gives a clear error and exit 1 when the admin API is unreachable', async () => {
    const port = await closedPort();
    const r = await cli(['revisions'], { PORTCULLIS_ADMIN_URL: `http://127.0.0.1:${port}` });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      `error: cannot reach the admin API at http://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`,
    );
  });

  it('gives a clear error when the URL is not an admin API', async () => {
    const [r, junk] = await Promise.all([
      cli(['revisions'], { PORTCULLIS_ADMIN_URL: t.url }),
      cli(['revisions'], { PORTCULLIS_ADMIN_URL: `${up.url}/text` }),
    ]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'error 404 PCS_ERR_ROUTE_NOT_FOUND: No route matches the request\n');
    assert.equal(junk.code, 1);
    assert.equal(
      junk.stderr,
      `error: ${up.url}/text/revisions answered 200 with a body that is not JSON: is ${up.url}/text the admin API?\n`,
    );
  });
});

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('cli: validate', () => {
  it('exits 0 for a valid file, 1 with every error by path otherwise', async () => {
    const { good, missing } = validateFiles;
    const [g, r, y, m] = await validateRuns;
    assert.deepEqual(g, { code: 0, stdout: `${good}: valid\n`, stderr: '' });
    // Schema and reference errors, and a policy refused when compiled, in one list.
    assert.deepEqual(r, {
      code: 1,
      stdout: '',
      stderr:
        "configuration refused (2 errors):\n  /routes/0/service: no service named 'nope'\n  /policies/1/config/credentials: origins '*' cannot be combined with credentials: true\n",
    });
    assert.equal(y.code, 1);
    assert.match(y.stderr, /^configuration refused \(1 error\):\n {2}.*broken\.yaml:\d+:\d+: /);
    assert.deepEqual(m, {
      code: 1,
      stdout: '',
      stderr: `configuration refused (1 error):\n  ${missing}: cannot read file: ENOENT\n`,
    });
  });
});
