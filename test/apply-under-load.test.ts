import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { accessLine } from './helpers/access-log.js';
import { adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

/**
 * Config changes while traffic flows: a burst of applies (valid, invalid and unchanged ones)
 * under concurrent keep-alive requests must not fail a single request, and a request keeps the
 * revision it started on even when the next revision removes its route and its service.
 */

const SLOW_MS = 400;

/** Two upstreams, so that each A <-> B swap retires one service's pool and takes up the other. */
function configA(one: Upstream) {
  return {
    services: [{ name: 'one', targets: [{ url: one.url }] }],
    routes: [
      { name: 'load', service: 'one', paths: ['/load'] },
      { name: 'slow', service: 'one', paths: ['/slow'] },
    ],
    policies: [{ name: 'request-id', config: {} }],
  };
}

function configB(two: Upstream) {
  return {
    services: [{ name: 'two', targets: [{ url: two.url }] }],
    routes: [{ name: 'load', service: 'two', paths: ['/load'] }],
    policies: [{ name: 'ip-restriction', config: { deny: ['10.0.0.0/8'] } }],
  };
}

/** Refused configs of several kinds; each must answer 400 and change nothing. */
function invalidConfigs(one: Upstream): unknown[] {
  return [
    { ...configA(one), routes: [{ name: 'load', service: 'missing', paths: ['/load'] }] },
    { ...configA(one), policies: [{ name: 'ip-restriction', config: { deny: ['300.1.2.3/8'] } }] },
    { ...configA(one), unknownKey: true },
    { ...configA(one), policies: [{ name: 'no-such-policy' }] },
    'services: [ {',
  ];
}

const slowHandler = (up: { name: string }) => (req: { url?: string }, res: any, _body: string) => {
  const out = JSON.stringify({ upstream: up.name, url: req.url });
  const send = () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
    res.end(out);
  };
  if (req.url?.startsWith('/slow')) setTimeout(send, SLOW_MS);
  else send();
};

describe('applies under load', () => {
  let one: Upstream;
  let two: Upstream;
  let t: TestGateway;

  before(async () => {
    one = await startUpstream(slowHandler({ name: 'one' }));
    two = await startUpstream(slowHandler({ name: 'two' }));
    t = await startGateway(configA(one));
  });
  after(async () => {
    await t.stop();
    await one.close();
    await two.close();
  });

  it('serves every request through a burst of 50 applies, refuses the invalid ones, stores only real changes', async () => {
    const startRevisions = (await adminCall(t, 'GET', '/revisions')).json.revisions.length;
    const bad = invalidConfigs(one);
    let stop = false;
    const failures: string[] = [];
    const served = { one: 0, two: 0 };
    let requests = 0;
    const worker = async (w: number) => {
      // Bounded: stops with the applies, and in any case after 4000 requests or 20 s.
      const deadline = Date.now() + 20_000;
      while (!stop && requests < 4000 && Date.now() < deadline) {
        const n = requests++;
        try {
          const r = await call(`${t.url}/load/${w}/${n}`);
          if (r.status !== 200) failures.push(`${n}: ${r.status} ${r.text}`);
          else served[r.json.upstream as 'one' | 'two']++;
        } catch (err) {
          failures.push(`${n}: ${(err as Error).message}`);
        }
      }
    };
    const workers = [0, 1, 2, 3].map(worker);
    await sleep(30); // traffic is flowing before the first apply

    let applied = 0;
    let last: { id: number; hash: string } | undefined;
    let lastValid: 'A' | 'B' = 'A';
    for (let i = 0; i < 50; i++) {
      let body: unknown;
      let expect: 'applied' | 'unchanged' | 'refused';
      if (i % 5 === 2) {
        body = bad[Math.floor(i / 5) % bad.length];
        expect = 'refused';
      } else if (i % 10 === 4) {
        body = lastValid === 'A' ? configA(one) : configB(two);
        expect = 'unchanged';
      } else {
        lastValid = lastValid === 'A' ? 'B' : 'A';
        body = lastValid === 'A' ? configA(one) : configB(two);
        expect = 'applied';
      }
      const r = await adminCall(t, 'POST', '/config', body as object | string);
      if (expect === 'refused') {
        assert.equal(r.status, 400, `apply ${i}: ${r.text}`);
        assert.equal(r.json.error.code, 'PCS_ERR_CONFIG_INVALID');
        assert.ok(r.json.error.issues.length > 0);
      } else if (expect === 'unchanged') {
        assert.equal(r.status, 200, `apply ${i}: ${r.text}`);
        assert.equal(r.json.status, 'unchanged');
        assert.equal(r.json.revision.id, last?.id ?? r.json.revision.id);
      } else {
        assert.equal(r.status, 201, `apply ${i}: ${r.text}`);
        assert.equal(r.json.status, 'applied');
        applied++;
        last = { id: r.json.revision.id, hash: r.json.revision.hash };
      }
      // What a user relies on: once the apply has answered, the next request is served by the
      // revision now live (the new one after a 201, the old one after a refusal or no change).
      const next = await call(`${t.url}/load/after/${i}`);
      assert.equal(next.status, 200, `request after apply ${i}: ${next.text}`);
      assert.equal(
        next.json.upstream,
        lastValid === 'A' ? 'one' : 'two',
        `served after apply ${i} (${expect})`,
      );
      await sleep(i % 3); // applies in a row, some back to back
    }
    stop = true;
    await Promise.all(workers);

    assert.deepEqual(failures, [], 'no request failed');
    assert.ok(requests >= 50, `traffic flowed during the applies (${requests} requests)`);
    assert.ok(served.one > 0 && served.two > 0, `both revisions served traffic: ${JSON.stringify(served)}`);

    const status = await adminCall(t, 'GET', '/status');
    assert.equal(status.json.revision.id, last?.id, 'the last valid apply is live');
    assert.equal(status.json.revision.hash, last?.hash);
    const list = await adminCall(t, 'GET', '/revisions');
    assert.equal(list.json.revisions.length, startRevisions + applied, 'one revision per real change');
    assert.equal(list.json.active, last?.id);
    const live = await call(`${t.url}/load/final`);
    assert.equal(live.status, 200);
    assert.equal(live.json.upstream, lastValid === 'A' ? 'one' : 'two');
    const refused = await adminCall(t, 'GET', '/metrics');
    // The two YAML syntax errors are refused by the admin API before an apply is attempted, and
    // are not (yet) counted in this metric; the eight configs that parse are.
    assert.match(refused.text, /portcullis_config_applies_total\{result="refused"\} 8\b/);
    assert.match(refused.text, /portcullis_config_applies_total\{result="unchanged"\} 5\b/);
  });

  it('lets a request finish on its revision when the next one removes its route and service', async () => {
    await adminCall(t, 'POST', '/config', configA(one));
    const old = t.gw.revisions.active!.id;
    const seen = one.seen.length;
    const slow = call(`${t.url}/slow/inflight`, { headers: { 'x-request-id': 'apply-inflight' } });
    for (let i = 0; i < 100 && one.seen.length === seen; i++) await sleep(5);
    assert.equal(one.seen.length, seen + 1, 'the slow request reached the upstream');

    const swap = await adminCall(t, 'POST', '/config', configB(two));
    assert.equal(swap.status, 201);
    assert.notEqual(swap.json.revision.id, old);
    assert.deepEqual(swap.json.diff.routes.removed, ['slow']);
    assert.equal((await call(`${t.url}/slow/new`)).status, 404, 'new requests see the new revision');

    const r = await slow; // outlives the drain time of the removed service's pool (100 ms)
    assert.equal(r.status, 200);
    assert.equal(r.json.upstream, 'one');
    const line = await accessLine(t.access, 'apply-inflight');
    assert.equal(line.status, 200);
    assert.equal(line.revision, old, 'logged on the revision it started on');
  });
});

describe('draining pools are shared, not closed, by dry runs and re-applies', () => {
  let one: Upstream;
  let two: Upstream;
  let t: TestGateway;

  before(async () => {
    one = await startUpstream(slowHandler({ name: 'one' }));
    two = await startUpstream(slowHandler({ name: 'two' }));
    // A long drain, as in production: the retired pool is still there to be taken back.
    t = await startGateway(configA(one), { drainMs: 60_000 });
  });
  after(async () => {
    await t.stop();
    await one.close();
    await two.close();
  });

  it('serves A again after A -> B, a dry run of A, then A', async () => {
    assert.equal((await adminCall(t, 'POST', '/config', configB(two))).status, 201);
    const dry = await adminCall(t, 'POST', '/config?dry_run=true', configA(one));
    assert.equal(dry.status, 200);
    assert.equal(dry.json.status, 'dry-run');
    assert.equal((await call(`${t.url}/load/b`)).json.upstream, 'two');
    assert.equal((await adminCall(t, 'POST', '/config', configA(one))).status, 201);
    for (let i = 0; i < 5; i++) {
      const r = await call(`${t.url}/load/a/${i}`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.upstream, 'one');
    }
  });

  it('keeps serving after a pool is retired, taken back and retired again', async () => {
    // Each swap retires the other service; a stale close timer must never hit the live pool.
    for (let i = 0; i < 6; i++) {
      const cfg = i % 2 === 0 ? configB(two) : configA(one);
      assert.equal((await adminCall(t, 'POST', '/config', cfg)).status, 201);
      const r = await call(`${t.url}/load/${i}`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.upstream, i % 2 === 0 ? 'two' : 'one');
    }
  });
});
