import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import { before, describe, it } from 'node:test';

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
