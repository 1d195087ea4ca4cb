import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

/**
 * Issue 11 item 6: a 20,000-route apply compiled in one synchronous run stalled every request
 * for seconds (and a keep-alive connection was reset). The compile now runs in time slices; here
 * the budget is 1 ms so that it gives the event loop many turns, and requests sent
 * while the apply runs must be answered, by the old revision, before the new one is swapped in.
 */

const ROUTES = 5_000;
const POLICIES = 1_000;

const named = (name: string) => (_req: unknown, res: any) => {
  const out = JSON.stringify({ upstream: name });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
  res.end(out);
};

function small(up: Upstream) {
  return {
    services: [{ name: 'up', targets: [{ url: up.url }] }],
    routes: [{ name: 'bare', service: 'up', paths: ['/bare'] }],
    policies: [{ name: 'request-id', config: {} }],
  };
}

/** `/bare` plus ROUTES - 1 routes, POLICIES route-scoped policies, on the given upstream. */
function large(up: Upstream) {
  const routes = [{ name: 'bare', service: 'up', paths: ['/bare'] }];
  for (let i = 1; i < ROUTES; i++) routes.push({ name: `r${i}`, service: 'up', paths: [`/api/r${i}`] });
  const policies: unknown[] = [{ name: 'request-id', config: {} }];
  for (let i = 1; i <= POLICIES; i++)
    policies.push({
      name: i % 2 ? 'rate-limit' : 'ip-restriction',
      scope: { route: `r${i}` },
      config: i % 2 ? { limits: [{ requests: 1000, per: '1s' }] } : { deny: ['10.0.0.0/8'] },
    });
  return { services: [{ name: 'up', targets: [{ url: up.url }] }], routes, policies };
}

describe('issue: a large apply stalls the data plane', () => {
  let one: Upstream;
  let two: Upstream;
  let t: TestGateway;
  let yields = 0;

  before(async () => {
    one = await startUpstream(named('one'));
    two = await startUpstream(named('two'));
    t = await startGateway(small(one), { compileSlices: { budgetMs: 1, onYield: () => yields++ } });
  });
  after(async () => {
    await t.stop();
    await one.close();
    await two.close();
  });

  it('answers requests on the old revision while a 5,000-route config compiles, then serves the new one', async () => {
    yields = 0;
    let done = false;
    const apply = adminCall(t, 'POST', '/config', large(two)).finally(() => {
      done = true;
    });
    const answers: { upstream: string; status: number; turn: number }[] = [];
    // Bounded: stops with the apply, and in any case after 20,000 requests.
    while (!done && answers.length < 20_000) {
      const r = await call(`${t.url}/bare`);
      answers.push({ upstream: r.json?.upstream, status: r.status, turn: yields });
    }
    const res = await apply;
    const total = yields;
    assert.equal(res.status, 201, res.text);
    assert.ok(total > 0, 'the compile gave the event loop turns');
    assert.deepEqual(
      answers.filter((a) => a.status !== 200),
      [],
      'no request failed during the apply',
    );
    const during = answers.filter((a) => a.turn > 0 && a.turn < total);
    assert.ok(during.length > 0, `requests were answered while the compile ran (${answers.length} sent)`);
    assert.ok(
      during.every((a) => a.upstream === 'one'),
      'the new revision is not served before it is completely built',
    );
    // Once the apply has answered, the new revision serves.
    const after = await call(`${t.url}/bare`);
    assert.equal(after.status, 200);
    assert.equal(after.json.upstream, 'two');
    const status = await adminCall(t, 'GET', '/status');
    assert.equal(status.json.routes, ROUTES);
  });

  it('keeps applies serialised: a small apply sent during a large one lands after it', async () => {
    yields = 0;
    const big = adminCall(t, 'POST', '/config', large(one));
    // Sent once the large config is compiling (its body is already parsed and queued).
    for (let i = 0; yields === 0 && i < 100_000; i++) await new Promise((r) => setImmediate(r));
    assert.ok(yields > 0, 'the large compile started');
    const next = adminCall(t, 'POST', '/config', small(two));
    const [a, b] = await Promise.all([big, next]);
    assert.equal(a.status, 201, a.text);
    assert.equal(b.status, 201, b.text);
    assert.ok(b.json.revision.id > a.json.revision.id, 'the later apply made the later revision');
    const status = await adminCall(t, 'GET', '/status');
    assert.equal(status.json.revision.id, b.json.revision.id);
    assert.equal(status.json.routes, 1);
    assert.equal((await call(`${t.url}/bare`)).json.upstream, 'two');
  });
});
