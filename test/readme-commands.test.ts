import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

const BIN = 'dist/cli/main.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { ...process.env, ...env }, timeout: 300_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

// Issue 11: every `npx portcullis ...` line of the README failed in a fresh clone with
// `Permission denied`: tsc writes dist/cli/main.js 0644, and the bin must be executable.
describe('npm run build: the portcullis bin', () => {
  before(async () => {
    // As a fresh clone has it: built by tsc, never run by npx (npx would fix the mode itself).
    if (existsSync(BIN)) chmodSync(BIN, 0o644);
    const b = await run('npm', ['run', 'build']);
    assert.equal(b.code, 0, b.stdout + b.stderr);
  });

  it('is executable, starts with a node shebang and runs directly', async () => {
    assert.ok(statSync(BIN).mode & 0o111, `${BIN} has no x bit`);
    assert.ok(readFileSync(BIN, 'utf8').startsWith('#!/usr/bin/env node\n'));
    const help = await run(`./${BIN}`, ['--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: portcullis /);
  });
});

/** The shell lines of the README's ```sh blocks under `heading`, without their trailing comments. */
function shellLines(readme: string, heading: string): string[] {
  const section = readme.split(/^## /m).find((x) => x.startsWith(heading));
  assert.ok(section, `README has no section ${heading}`);
  const lines: string[] = [];
  for (const block of section.matchAll(/```sh\n([\s\S]*?)```/g))
    for (const line of block[1].split('\n'))
      if (line.trim()) lines.push(line.replace(/\s{2,}#.*$/, '').trim());
  return lines;
}

// The README's commands as written, in order, against a gateway started by the README's own
// `start` line (on free ports and a temporary data dir, so that nothing else is disturbed).
describe('README: "Change it while it runs", every line as written', () => {
  const readme = readFileSync('README.md', 'utf8');
  const lines = shellLines(readme, 'Change it while it runs');
  const token = 'readme-admin-token-0123456789';
  let gw: ChildProcess | undefined;
  let env: Record<string, string> = {};
  let dataPort = 0;

  before(async () => {
    const start = lines.find((l) => l.startsWith('npx portcullis start '));
    assert.ok(start, 'the README starts a gateway');
    const cmd = `${start.replace('--port 8080', '--port 0').replace('--admin-port 8081', '--admin-port 0')} --data-dir ${mkdtempSync(join(tmpdir(), 'portcullis-readme-'))}`;
    gw = spawn('sh', ['-c', `exec ${cmd}`], {
      env: { ...process.env, PORTCULLIS_ADMIN_TOKEN: token },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    const ports = await new Promise<[number, number]>((resolve, reject) => {
      gw?.stderr?.on('data', (d) => {
        err += d;
        const m = /proxy on \S+:(\d+), admin API on \S+:(\d+)/.exec(err);
        if (m) resolve([Number(m[1]), Number(m[2])]);
      });
      gw?.on('exit', (code) => reject(new Error(`start exited ${code}: ${err}`)));
    });
    dataPort = ports[0];
    env = { PORTCULLIS_ADMIN_TOKEN: token, PORTCULLIS_ADMIN_URL: `http://127.0.0.1:${ports[1]}` };
  });
  after(() => {
    gw?.kill('SIGTERM');
  });

  it('names only files that exist', () => {
    for (const m of readme.matchAll(/\b(examples|docs|bench)\/[\w./-]+\.(yaml|md|json)\b/g))
      assert.ok(existsSync(m[0]), `README names ${m[0]}`);
  });

  it('every npx portcullis line of the README is in this section (and so is run here)', () => {
    const all = [...readme.matchAll(/^npx portcullis .*$/gm)].map((m) =>
      m[0].replace(/\s{2,}#.*$/, '').trim(),
    );
    assert.deepEqual(
      all.filter((l) => !lines.includes(l)),
      [],
    );
  });

  it('runs each line in order; each exits 0', async () => {
    const out: [string, string][] = [];
    let adminToken = '';
    for (const line of lines) {
      if (line.startsWith('npx portcullis start ') || line.startsWith('export ')) continue;
      // `...` is where the reader pastes a token the previous commands printed.
      const cmd = line
        .replace('PORTCULLIS_ADMIN_TOKEN=pcs_adm_...', `PORTCULLIS_ADMIN_TOKEN=${adminToken}`)
        .replace('localhost:8080', `127.0.0.1:${dataPort}`);
      assert.doesNotMatch(cmd, /\.\.\./, `a placeholder this test cannot fill: ${line}`);
      const r = await run('sh', ['-c', cmd], env);
      assert.equal(r.code, 0, `${line}\n${r.stdout}${r.stderr}`);
      out.push([line, r.stdout]);
      adminToken = /token \(shown once\): (pcs_adm_\S+)/.exec(r.stdout)?.[1] ?? adminToken;
    }
    const of = (re: RegExp) => out.find(([l]) => re.test(l))?.[1] ?? '';
    assert.match(of(/portcullis apply /), /^applied: revision 2 /);
    assert.match(of(/portcullis revisions$/), /^\* +2 /);
    assert.match(of(/portcullis diff /), /rate-limit/);
    assert.match(of(/portcullis audit$/), /revision\.rollback/);
    assert.match(of(/portcullis audit verify$/), /intact/);
    assert.match(of(/portcullis canary start /), /falling back to the client IP/);
    assert.match(of(/portcullis canary status$/), /^requests +\d+ +\d+$/m);
    assert.match(of(/portcullis admins add /), /^admin bob \(admin: /);
    assert.match(of(/portcullis proposals create /), /^proposal 1 pending/);
    assert.match(of(/portcullis proposals approve /), /applied .*by bob/);
  });
});
