import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from './helpers/cli.js';

// Issue 11: a connection dropped during `apply` said "cannot reach the admin API" even when the
// gateway had received the request (and may have committed the revision). The CLI must tell
// "nothing was sent" from "sent, answer lost".
describe('cli: the admin API connection lost during apply', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-lost-'));
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, 'services: []\nroutes: []\npolicies: []\n');
  const servers: Server[] = [];
  const requests: string[] = [];

  /** A loopback "admin API" that reads the whole request, then answers with `reply` (or nothing). */
  async function fake(reply: (sock: import('node:net').Socket) => void): Promise<string> {
    const s = createServer((sock) => {
      let got = '';
      sock.on('data', (d) => {
        got += d;
        const head = got.indexOf('\r\n\r\n');
        const len = Number(/content-length: (\d+)/i.exec(got)?.[1] ?? 0);
        if (head >= 0 && Buffer.byteLength(got) - head - 4 >= len) {
          requests.push(got);
          reply(sock);
        }
      });
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(s.address() as { port: number }).port}`;
  }

  let closedPort = 0;
  before(async () => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    closedPort = (s.address() as { port: number }).port;
    await new Promise<void>((r) => s.close(() => r()));
  });
  after(() => {
    for (const s of servers) s.close();
  });

  it('request received, socket destroyed: "sent but the answer was lost", check revisions', async () => {
    const url = await fake((sock) => sock.destroy());
    const r = await runCli(url, ['apply', file, '-m', 'x']);
    assert.equal(r.code, 1);
    assert.equal(requests.length, 1, 'the fake admin API got the whole request');
    assert.match(requests[0], /^POST \/config\?message=x /);
    assert.doesNotMatch(r.stderr, /cannot reach/);
    assert.match(r.stderr, /the request was sent to the admin API at .* but the answer was lost/);
    assert.match(r.stderr, /check `portcullis revisions`/);
  });

  it('answered 201, then the body was cut: the change was made', async () => {
    const url = await fake((sock) =>
      sock.end(
        'HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{"status"',
      ),
    );
    const r = await runCli(url, ['apply', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /answered 201, so the change was made, but the rest of its answer was lost/);
  });

  it('a read whose answer was lost says try again', async () => {
    const url = await fake((sock) => sock.destroy());
    const r = await runCli(url, ['revisions']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /was lost before its answer .*: try again/);
  });

  it('nothing listening: "cannot reach", as before', async () => {
    const r = await runCli(`http://127.0.0.1:${closedPort}`, ['apply', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot reach the admin API at http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
  });
});
