import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { ADMIN_TOKEN, adminCall, startGateway, type TestGateway } from './helpers/gateway.js';

// Issue 11: `portcullis diff 1 2 | head -1` crashed with a stack trace (write EPIPE) once head
// had read its line and closed the pipe.
describe('cli: a reader that closes stdout early (| head)', () => {
  let g: TestGateway;
  before(async () => {
    g = await startGateway({ services: [], routes: [], policies: [] });
    const r = await adminCall(g, 'POST', '/config', {
      services: [],
      routes: [],
      policies: [],
      gateway: { trustedProxies: ['127.0.0.1/32', '10.0.0.0/8'] },
    });
    assert.equal(r.status, 201, r.text);
  });
  after(() => g.stop());

  /** Runs the CLI with its stdout closed before it writes anything. */
  function closedStdout(
    args: string[],
  ): Promise<{ code: number | null; signal: string | null; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          PORTCULLIS_ADMIN_URL: g.admin,
          PORTCULLIS_ADMIN_TOKEN: ADMIN_TOKEN,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      child.on('close', (code, signal) => resolve({ code, signal, stderr }));
    });
  }

  for (const args of [['diff', '1', '2'], ['revisions'], ['--help']])
    it(`portcullis ${args.join(' ')} exits quietly`, async () => {
      const r = await closedStdout(args);
      assert.equal(r.stderr, '');
      assert.equal(r.code, 0);
    });
});
