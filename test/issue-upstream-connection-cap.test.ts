import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { call, startGateway, type TestGateway } from './helpers/gateway.js';

/**
 * Issue 11 item 11: a slow client held an upstream connection while it trickled its body in, and
 * nothing capped how many a service could be made to hold. Small bodies are now read whole before
 * an upstream connection is taken, and `maxConnections` caps the calls in flight per service,
 * with a bounded queue in front (503 PCS_ERR_UPSTREAM_BUSY beyond).
 */

/** An upstream that counts its connections and holds `/hold` answers until released. */
async function countingUpstream() {
  let connections = 0;
  let active = 0;
  let peak = 0;
  const held: ServerResponse[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      active++;
      peak = Math.max(peak, active);
      res.on('close', () => active--);
      const body = Buffer.concat(chunks).toString();
      if (req.url?.startsWith('/hold')) held.push(res);
      else res.end(JSON.stringify({ body }));
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get connections() {
      return connections;
    },
    get peak() {
      return peak;
    },
    held,
    releaseAll() {
      for (const r of held.splice(0)) r.end('{"released":true}');
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
type Counting = Awaited<ReturnType<typeof countingUpstream>>;

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await sleep(10);
  }
  assert.fail(`never happened: ${what}`);
}

describe('upstream connections and slow clients (issue 11 item 11)', () => {
  const ups: Counting[] = [];
  let g: TestGateway;
  let slow: Counting;
  let capped: Counting;
  let busy: Counting;
  let queued: Counting;

  before(async () => {
    for (let i = 0; i < 4; i++) ups.push(await countingUpstream());
    [slow, capped, busy, queued] = ups;
    g = await startGateway({
      services: [
        { name: 'slow', targets: [{ url: slow.url }] },
        { name: 'capped', targets: [{ url: capped.url }], maxConnections: 2, queueSize: 100 },
        { name: 'busy', targets: [{ url: busy.url }], maxConnections: 1, queueSize: 0 },
        { name: 'queued', targets: [{ url: queued.url }], maxConnections: 1, queueTimeoutMs: 50 },
      ],
      routes: ['slow', 'capped', 'busy', 'queued'].map((n) => ({
        name: n,
        service: n,
        paths: [`/${n}`],
        stripPath: true,
      })),
    });
  });
  after(async () => {
    await g.stop();
    for (const u of ups) await u.close();
  });

  it('opens no upstream connection while a small body is still arriving', async () => {
    const port = Number(new URL(g.url).port);
    const s = connect(port, '127.0.0.1');
    const reply: Buffer[] = [];
    s.on('data', (c: Buffer) => reply.push(c));
    await new Promise((r) => s.once('connect', r));
    s.write('POST /slow/x HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\nConnection: close\r\n\r\nhello');
    // The client is mid-body; an attacker would now wait as long as the request timeout lets it.
    await sleep(300);
    assert.equal(slow.connections, 0, 'no upstream connection is held for the slow client');
    s.write('world');
    await new Promise((r) => s.once('close', r));
    const text = Buffer.concat(reply).toString();
    assert.match(text, /^HTTP\/1\.1 200/);
    assert.match(text, /"body":"helloworld"/);
    assert.equal(slow.connections, 1);
  });

  it('keeps at most maxConnections calls in flight to a service; the rest wait their turn', async () => {
    const all = Array.from({ length: 6 }, (_, i) => call(`${g.url}/capped/hold/${i}`));
    await until(() => capped.held.length === 2, 'two requests at the upstream');
    await sleep(200);
    assert.equal(capped.held.length, 2, 'the others wait at the gateway');
    // Release as they come: each answer lets one waiting request through.
    const releasing = setInterval(() => capped.releaseAll(), 10);
    const replies = await Promise.all(all);
    clearInterval(releasing);
    assert.deepEqual(
      replies.map((r) => r.status),
      [200, 200, 200, 200, 200, 200],
    );
    assert.equal(capped.peak, 2, 'never more than two at once');
    assert.ok(capped.connections <= 2, `at most two connections (got ${capped.connections})`);
  });

  it('answers 503 PCS_ERR_UPSTREAM_BUSY when the queue is full', async () => {
    const first = call(`${g.url}/busy/hold`);
    await until(() => busy.held.length === 1, 'the first request at the upstream');
    const r = await call(`${g.url}/busy/other`, { headers: { 'x-request-id': 'busy-1' } });
    assert.equal(r.status, 503);
    assert.equal(r.json.error.code, 'PCS_ERR_UPSTREAM_BUSY');
    await until(() => g.access.lines.some((l) => l.request_id === 'busy-1'), 'the access log line');
    const line = g.access.lines.find((l) => l.request_id === 'busy-1');
    assert.match(String(line?.detail), /queue is full/);
    busy.releaseAll();
    assert.equal((await first).status, 200);
    assert.equal((await call(`${g.url}/busy/other`)).status, 200, 'the slot came back');
  });

  it('answers 503 PCS_ERR_UPSTREAM_BUSY after queueTimeoutMs in the queue', async () => {
    const first = call(`${g.url}/queued/hold`);
    await until(() => queued.held.length === 1, 'the first request at the upstream');
    const r = await call(`${g.url}/queued/other`);
    assert.equal(r.status, 503);
    assert.equal(r.json.error.code, 'PCS_ERR_UPSTREAM_BUSY');
    queued.releaseAll();
    assert.equal((await first).status, 200);
    assert.equal((await call(`${g.url}/queued/other`)).status, 200);
  });
});
