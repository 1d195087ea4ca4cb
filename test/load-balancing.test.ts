import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { type AddressInfo, createServer as createTcpServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, afterEach, describe, it } from 'node:test';
import { ManualClock } from '../src/core/clock.js';
import { adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

/** An upstream that answers `{ who }`, or what `answer` says. */
async function target(
  who: string,
  answer?: (res: ServerResponse, url: string) => boolean,
): Promise<Upstream> {
  return startUpstream((req, res) => {
    if (answer?.(res, req.url ?? '')) return;
    const body = JSON.stringify({ who });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
}

async function closedPort(): Promise<number> {
  const s = createTcpServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function service(targets: { url: string; weight?: number }[], extra: object = {}) {
  return {
    services: [{ name: 's', targets, ...extra }],
    routes: [{ name: 'r', service: 's', paths: ['/'] }],
  };
}

/** Who answered each of n sequential GETs. */
async function whoAnswers(gw: TestGateway, n: number, path = '/'): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await call(`${gw.url}${path}`);
    out.push(r.status === 200 ? r.json.who : String(r.status));
  }
  return out;
}

/** Polls until `check` holds, for at most `ms`. */
async function eventually(check: () => Promise<boolean>, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(20);
  }
  assert.fail(`condition not met within ${ms} ms`);
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});
after(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function up(...ups: Promise<Upstream>[]): Promise<Upstream[]> {
  const list = await Promise.all(ups);
  for (const u of list) cleanup.push(() => u.close());
  return list;
}

async function gateway(config: unknown, opts: Parameters<typeof startGateway>[1] = {}): Promise<TestGateway> {
  const gw = await startGateway(config, { random: () => 0, ...opts });
  cleanup.push(() => gw.stop());
  return gw;
}

describe('balancing strategies', () => {
  it('round-robin takes the targets in turn', async () => {
    const [a, b, c] = await up(target('a'), target('b'), target('c'));
    const gw = await gateway(service([{ url: a.url }, { url: b.url }, { url: c.url }]));
    assert.deepEqual(await whoAnswers(gw, 7), ['a', 'b', 'c', 'a', 'b', 'c', 'a']);
  });

  it('round-robin skips a target of weight 0', async () => {
    const [a, b] = await up(target('a'), target('b'));
    const gw = await gateway(service([{ url: a.url }, { url: b.url, weight: 0 }]));
    assert.deepEqual(await whoAnswers(gw, 3), ['a', 'a', 'a']);
  });

  it('weighted 3:1 gives exactly 3:1 over 8 requests, spread smoothly', async () => {
    const [a, b] = await up(target('a'), target('b'));
    const gw = await gateway(
      service(
        [
          { url: a.url, weight: 3 },
          { url: b.url, weight: 1 },
        ],
        { loadBalancing: 'weighted' },
      ),
    );
    const seq = await whoAnswers(gw, 8);
    assert.deepEqual(seq, ['a', 'a', 'b', 'a', 'a', 'a', 'b', 'a']);
    assert.equal(seq.filter((w) => w === 'a').length, 6);
  });

  it('weighted 5:2:1 follows nginx smooth weighted round-robin', async () => {
    const [a, b, c] = await up(target('a'), target('b'), target('c'));
    const gw = await gateway(
      service(
        [
          { url: a.url, weight: 5 },
          { url: b.url, weight: 2 },
          { url: c.url, weight: 1 },
        ],
        {
          loadBalancing: 'weighted',
        },
      ),
    );
    const seq = await whoAnswers(gw, 16);
    assert.deepEqual(seq.slice(0, 8), ['a', 'b', 'a', 'a', 'c', 'a', 'b', 'a']);
    assert.deepEqual(seq.slice(8), seq.slice(0, 8));
  });

  it('least-connections sends fewer requests to a target that is busy', async () => {
    const held: ServerResponse[] = [];
    const [a, b] = await up(
      target('a', (res, url) => {
        if (url !== '/slow') return false;
        held.push(res);
        return true;
      }),
      target('b'),
    );
    const gw = await gateway(
      service([{ url: a.url }, { url: b.url }], { loadBalancing: 'least-connections' }),
    );
    // The first request takes a (both idle) and stays there.
    const slow = call(`${gw.url}/slow`);
    await eventually(async () => held.length === 1);
    assert.deepEqual(await whoAnswers(gw, 5), ['b', 'b', 'b', 'b', 'b']);
    held[0].writeHead(200, { 'content-type': 'application/json' });
    held[0].end(JSON.stringify({ who: 'a-slow' }));
    assert.equal((await slow).json.who, 'a-slow');
    // Both idle again: the ties are spread.
    assert.deepEqual((await whoAnswers(gw, 4)).sort(), ['a', 'a', 'b', 'b']);
  });
});

describe('passive health checks', () => {
  it('ejects a target after N consecutive failures for the cool-down, then takes it back', async () => {
    let broken = true;
    const [a, b] = await up(
      target('a', (res) => {
        if (!broken) return false;
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('boom');
        return true;
      }),
      target('b'),
    );
    const clock = new ManualClock(Date.parse('2030-01-01T00:00:00Z'));
    const gw = await gateway(
      service([{ url: a.url }, { url: b.url }], {
        healthChecks: { passive: { failures: 2, cooldownMs: 30_000 } },
      }),
      { clock },
    );
    // a fails twice (500s go through to the client: no retries configured), then is ejected.
    assert.deepEqual(await whoAnswers(gw, 4), ['500', 'b', '500', 'b']);
    assert.deepEqual(await whoAnswers(gw, 4), ['b', 'b', 'b', 'b']);
    const status = await adminCall(gw, 'GET', '/status');
    const ta = status.json.upstreams.s.find((t: { url: string }) => t.url === a.url);
    assert.equal(ta.healthy, false);
    assert.equal(ta.ejectedUntil, '2030-01-01T00:00:30.000Z');
    clock.advance(29_999);
    assert.deepEqual(await whoAnswers(gw, 2), ['b', 'b']);
    broken = false;
    clock.advance(1);
    assert.deepEqual((await whoAnswers(gw, 4)).sort(), ['a', 'a', 'b', 'b']);
  });

  it('a success resets the count of consecutive failures', async () => {
    let fails = [true, false, true];
    const [a, b] = await up(
      target('a', (res) => {
        if (!fails.shift()) return false;
        res.writeHead(502);
        res.end();
        return true;
      }),
      target('b'),
    );
    const gw = await gateway(
      service([{ url: a.url }, { url: b.url }], {
        healthChecks: { passive: { failures: 2, cooldownMs: 30_000 } },
      }),
      { clock: new ManualClock(1e12) },
    );
    assert.deepEqual(await whoAnswers(gw, 6), ['502', 'b', 'a', 'b', '502', 'b']);
    fails = [];
    assert.deepEqual(await whoAnswers(gw, 2), ['a', 'b']);
  });

  it('answers 503 PCS_ERR_NO_HEALTHY_UPSTREAM while every target is ejected', async () => {
    const [p1, p2] = [await closedPort(), await closedPort()];
    const clock = new ManualClock(1e12);
    const gw = await gateway(
      service([{ url: `http://127.0.0.1:${p1}` }, { url: `http://127.0.0.1:${p2}` }], {
        healthChecks: { passive: { failures: 1, cooldownMs: 1000 } },
      }),
      { clock },
    );
    assert.deepEqual(await whoAnswers(gw, 3), ['502', '502', '503']);
    const r = await call(`${gw.url}/`);
    assert.equal(r.json.error.code, 'PCS_ERR_NO_HEALTHY_UPSTREAM');
    clock.advance(1000);
    assert.equal((await call(`${gw.url}/`)).json.error.code, 'PCS_ERR_UPSTREAM_UNAVAILABLE');
  });
});

describe('active health checks', () => {
  it('takes a target out while its probe fails and back when it passes', async () => {
    let healthy = true;
    const [a, b] = await up(
      target('a', (res, url) => {
        if (url !== '/healthz') return false;
        res.writeHead(healthy ? 200 : 500);
        res.end();
        return true;
      }),
      target('b'),
    );
    const gw = await gateway(
      service([{ url: a.url }, { url: b.url }], {
        healthChecks: {
          active: {
            path: '/healthz',
            intervalMs: 100,
            timeoutMs: 500,
            unhealthyThreshold: 1,
            healthyThreshold: 1,
          },
        },
      }),
    );
    const aHealthy = async () => {
      const s = await adminCall(gw, 'GET', '/status');
      return s.json.upstreams.s.find((t: { url: string }) => t.url === a.url).activeHealthy as boolean;
    };
    assert.deepEqual((await whoAnswers(gw, 2)).sort(), ['a', 'b']);
    healthy = false;
    await eventually(async () => !(await aHealthy()));
    assert.deepEqual(await whoAnswers(gw, 4), ['b', 'b', 'b', 'b']);
    healthy = true;
    await eventually(aHealthy);
    assert.deepEqual((await whoAnswers(gw, 4)).sort(), ['a', 'a', 'b', 'b']);
    const probes = a.seen.filter((s) => s.url === '/healthz');
    assert.ok(probes.length >= 3);
    assert.equal(probes[0].headers['user-agent'], 'portcullis-health-check');
    assert.equal(probes[0].method, 'GET');
  });

  it('a target that refuses connections fails its probe', async () => {
    const [b] = await up(target('b'));
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const gw = await gateway(
      service([{ url: dead }, { url: b.url }], {
        healthChecks: { active: { path: '/', intervalMs: 100, timeoutMs: 200, unhealthyThreshold: 1 } },
      }),
    );
    await eventually(async () => {
      const s = await adminCall(gw, 'GET', '/status');
      return s.json.upstreams.s[0].activeHealthy === false;
    });
    assert.deepEqual(await whoAnswers(gw, 3), ['b', 'b', 'b']);
  });
});

describe('retries', () => {
  it('retries a GET to a dead target on the other target', async () => {
    const [b] = await up(target('b'));
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const gw = await gateway(
      service([{ url: dead }, { url: b.url }], { retries: { attempts: 1, backoffMs: 10 } }),
    );
    assert.deepEqual(await whoAnswers(gw, 4), ['b', 'b', 'b', 'b']);
  });

  it('does not retry a POST, with or without a body', async () => {
    const [b] = await up(target('b'));
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const gw = await gateway(
      service([{ url: dead }, { url: b.url }], { retries: { attempts: 2, backoffMs: 0 } }),
    );
    const r = await call(`${gw.url}/`, { method: 'POST', body: 'payload' });
    assert.equal(r.status, 502);
    assert.equal(r.json.error.code, 'PCS_ERR_UPSTREAM_UNAVAILABLE');
    assert.equal(b.seen.length, 0);
    // Round-robin moved on: the next request goes to b; the one after to the dead target again.
    assert.equal((await call(`${gw.url}/`, { method: 'POST' })).json.who, 'b');
    assert.equal((await call(`${gw.url}/`, { method: 'POST' })).status, 502);
    assert.equal(b.seen.length, 1);
  });

  it('does not retry a GET with a body', async () => {
    const [b] = await up(target('b'));
    const dead = `http://127.0.0.1:${await closedPort()}`;
    // A GET body is refused by default (gateway.bodyOnGet); forwarded, it must not be replayed.
    const gw = await gateway({
      ...service([{ url: dead }, { url: b.url }], { retries: { attempts: 2, backoffMs: 0 } }),
      gateway: { bodyOnGet: 'forward' },
    });
    assert.equal((await call(`${gw.url}/`, { method: 'GET', body: 'q' })).status, 502);
    assert.equal(b.seen.length, 0);
  });

  it('retries an answer in onStatuses, and passes it through when attempts run out', async () => {
    const [a, b] = await up(
      target('a', (res) => {
        res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' });
        res.end('busy');
        return true;
      }),
      target('b', (res, url) => {
        if (url !== '/also-busy') return false;
        res.writeHead(503, { 'content-type': 'text/plain' });
        res.end('busy too');
        return true;
      }),
    );
    const gw = await gateway(
      service([{ url: a.url }, { url: b.url }], {
        retries: { attempts: 1, backoffMs: 0, onStatuses: [503] },
      }),
    );
    const r = await call(`${gw.url}/x`);
    assert.equal(r.status, 200);
    assert.equal(r.json.who, 'b');
    assert.equal(a.seen.length, 1);
    const busy = await call(`${gw.url}/also-busy`);
    assert.equal(busy.status, 503);
    assert.equal(busy.text, 'busy too');
    assert.equal(a.seen.length, 2);
  });

  it('does not retry a status that is not in onStatuses', async () => {
    const [a, b] = await up(
      target('a', (res) => {
        res.writeHead(500);
        res.end('a failed');
        return true;
      }),
      target('b'),
    );
    const gw = await gateway(
      service([{ url: a.url }, { url: b.url }], {
        retries: { attempts: 2, backoffMs: 0, onStatuses: [503] },
      }),
    );
    const r = await call(`${gw.url}/`);
    assert.equal(r.status, 500);
    assert.equal(r.text, 'a failed');
    assert.equal(b.seen.length, 0);
  });

  it('does not retry once bytes went to the client', async () => {
    const [a, b] = await up(
      target('a', (res) => {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
        res.write('partial');
        setTimeout(() => res.socket?.destroy(), 10);
        return true;
      }),
      target('b'),
    );
    const gw = await gateway(
      service([{ url: a.url }, { url: b.url }], { retries: { attempts: 2, backoffMs: 0 } }),
    );
    await assert.rejects(call(`${gw.url}/`));
    assert.equal(b.seen.length, 0);
  });

  it('does not retry a timeout', async () => {
    const [a, b] = await up(
      target('a', () => true),
      target('b'),
    );
    const gw = await gateway(
      service([{ url: a.url }, { url: b.url }], {
        retries: { attempts: 2, backoffMs: 0 },
        timeouts: { readMs: 50 },
      }),
    );
    const r = await call(`${gw.url}/`);
    assert.equal(r.status, 504);
    assert.equal(b.seen.length, 0);
  });
});
