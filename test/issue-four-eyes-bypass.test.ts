import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../src/core/clock.js';
import { adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

// Issue 11 item 3: four-eyes could be completed by one person. Each attack below is made by
// alice alone; each must be refused, and the legitimate way (a second admin) must still work.

const clock = new ManualClock(Date.parse('2026-05-04T09:00:00Z'));
let g: TestGateway;
let up: Upstream;
const tokens: Record<string, string> = {};

const DENY_LOOPBACK = {
  name: 'ip-restriction',
  scope: { route: 'admin' },
  config: { deny: ['127.0.0.0/8'] },
};
const TRIAL_LIMIT = {
  name: 'rate-limit',
  id: 'trial',
  scope: { group: 'trial' },
  config: { limits: [{ requests: 1, per: '1m' }] },
};
type Route = { name: string; service: string; paths: string[]; priority?: number };
const ROUTES: Route[] = [
  { name: 'admin', service: 'echo', paths: ['/admin'] },
  { name: 'all', service: 'echo', paths: ['/'] },
];
const config = (opts: { routes?: Route[]; policies?: unknown[]; approvals?: boolean } = {}) => ({
  services: [{ name: 'echo', targets: [{ url: up.url }] }],
  routes: opts.routes ?? ROUTES,
  policies: opts.policies ?? [DENY_LOOPBACK, TRIAL_LIMIT],
  gateway: {
    trustedProxies: [],
    approvals: { required: opts.approvals ?? true, policies: ['ip-restriction', 'rate-limit'] },
  },
});
const as = (who: string, method: string, path: string, body?: unknown) =>
  call(`${g.admin}${path}`, {
    method,
    headers: { authorization: `Bearer ${tokens[who]}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
const adminPath = async () => (await call(`${g.url}/admin`)).status;
const refusedForApproval = (r: { status: number; json: any }) => {
  assert.equal(r.status, 409, JSON.stringify(r.json));
  assert.equal(r.json.error.code, 'PCS_ERR_APPROVAL_REQUIRED');
  return r.json.error.touches as string[];
};
let weakRevision = 0;

before(async () => {
  up = await startUpstream();
  // Revision 1: before approvals were required (no policies either).
  g = await startGateway(
    {
      services: [{ name: 'echo', targets: [{ url: 'http://127.0.0.1:9' }] }],
      routes: [{ name: 'all', service: 'echo', paths: ['/'] }],
      policies: [],
    },
    { clock },
  );
  weakRevision = g.gw.revisions.active!.id;
  for (const name of ['alice', 'bob']) {
    const r = await adminCall(g, 'POST', '/admins', { name, role: 'admin' });
    assert.notEqual(r.json.status, 'pending');
    tokens[name] = r.json.token;
  }
  // Revision 2: approvals on, loopback denied on /admin (applied directly: the live rule was off).
  const r = await adminCall(g, 'POST', '/config', config());
  assert.equal(r.status, 201, r.text);
  assert.equal(await adminPath(), 403);
  await adminCall(g, 'POST', '/consumers', { name: 'acme', groups: ['trial'] });
});
after(async () => {
  await g.stop();
  await up.close();
});

describe('issue: four-eyes can be completed by one person', () => {
  it('(a) an admin cannot make a second admin and approve their own proposal with it', async () => {
    clock.advance(1000);
    const p = await as('alice', 'POST', '/proposals', { config: config({ policies: [TRIAL_LIMIT] }) });
    assert.equal(p.status, 201, p.text);
    clock.advance(1000);
    const m = await as('alice', 'POST', '/admins', { name: 'mallory', role: 'admin' });
    assert.equal(m.status, 201, m.text);
    assert.equal(m.json.status, 'pending');
    tokens.mallory = m.json.token;

    // Its token does nothing until a second admin confirms it; its creator cannot.
    const self = await as('mallory', 'POST', `/proposals/${p.json.id}/approve`);
    assert.equal(self.status, 403);
    assert.equal(self.json.error.code, 'PCS_ERR_ADMIN_PENDING');
    assert.equal(
      (await as('mallory', 'POST', '/admins/mallory/confirm')).json.error.code,
      'PCS_ERR_ADMIN_PENDING',
    );
    const own = await as('alice', 'POST', '/admins/mallory/confirm');
    assert.equal(own.status, 403);
    assert.equal(own.json.error.code, 'PCS_ERR_ADMIN_FORBIDDEN');
    assert.equal(await adminPath(), 403);

    // Confirmed by bob, mallory is an admin, but not one of the time the proposal was made.
    clock.advance(1000);
    const ok = await as('bob', 'POST', '/admins/mallory/confirm');
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual([ok.json.status, ok.json.confirmedBy], ['active', 'bob']);
    const late = await as('mallory', 'POST', `/proposals/${p.json.id}/approve`);
    assert.equal(late.status, 403);
    assert.equal(late.json.error.code, 'PCS_ERR_ADMIN_FORBIDDEN');
    assert.match(late.json.error.message, /became an admin after proposal/);
    assert.equal(await adminPath(), 403);

    // Viewers cannot approve: they need no confirmation. The legitimate approval still works.
    assert.equal(
      (await as('alice', 'POST', '/admins', { name: 'vic', role: 'viewer' })).json.status,
      'active',
    );
    const audit = (await adminCall(g, 'GET', '/audit')).json.events;
    const confirm = audit.find((e: { action: string }) => e.action === 'admin.confirm');
    assert.deepEqual(confirm.detail.before, { role: 'admin', status: 'pending' });
    assert.deepEqual(confirm.detail.after, { role: 'admin', status: 'active' });
    assert.equal((await as('bob', 'POST', `/proposals/${p.json.id}/reject`, { reason: 'no' })).status, 200);
  });

  it("(b) moving a protected route's paths, or a route in front of it, needs an approval", async () => {
    const moved = config({
      routes: [
        { name: 'admin', service: 'echo', paths: ['/admin2'] },
        { name: 'all', service: 'echo', paths: ['/'] },
      ],
    });
    const t = refusedForApproval(await as('alice', 'POST', '/config', moved));
    assert.ok(t.includes('GET /admin: route admin -> all, loses ip-restriction'), t.join('\n'));
    refusedForApproval(await as('alice', 'POST', '/canary', { config: moved, percent: 50 }));

    const front = config({
      routes: [...ROUTES, { name: 'front', service: 'echo', paths: ['/admin'], priority: 100 }],
    });
    const f = refusedForApproval(await as('alice', 'POST', '/config', front));
    assert.ok(f.includes('GET /admin: route admin -> front, loses ip-restriction'), f.join('\n'));
    // A more specific path under the protected prefix is in front of it too.
    const under = config({ routes: [...ROUTES, { name: 'docs', service: 'echo', paths: ['/admin/docs'] }] });
    refusedForApproval(await as('alice', 'POST', '/config', under));
    assert.equal(await adminPath(), 403);

    // A route that takes nothing away applies directly; the move goes through a second admin.
    const other = config({ routes: [...ROUTES, { name: 'public', service: 'echo', paths: ['/public'] }] });
    assert.equal((await as('alice', 'POST', '/config', other)).status, 201);
    const p = await as('alice', 'POST', '/proposals', { config: moved });
    assert.ok(p.json.touches.includes('GET /admin: route admin -> all, loses ip-restriction'));
    const a = await as('bob', 'POST', `/proposals/${p.json.id}/approve`);
    assert.equal(a.json.status, 'applied', a.text);
    assert.equal(await adminPath(), 200);
    // Back: /admin2 would now fall to the catch-all, so that too needs the second admin.
    const t2 = refusedForApproval(await as('alice', 'POST', '/config', config()));
    assert.ok(t2.includes('GET /admin2: route admin -> all, loses ip-restriction'), t2.join('\n'));
    const back = await as('alice', 'POST', '/proposals', { config: config() });
    assert.equal((await as('bob', 'POST', `/proposals/${back.json.id}/approve`)).json.status, 'applied');
    assert.equal(await adminPath(), 403);
  });

  it('(c) rollback to a revision from before approvals were required needs an approval', async () => {
    const r = await as('alice', 'POST', `/revisions/${weakRevision}/rollback`);
    const t = refusedForApproval(r);
    assert.ok(t.includes('gateway.approvals'), t.join('\n'));
    assert.ok(
      t.some((x) => x.includes('ip-restriction')),
      t.join('\n'),
    );
    assert.equal(await adminPath(), 403);
    assert.notEqual(g.gw.revisions.active?.id, weakRevision);

    // A rollback that takes nothing away stays one step.
    const live = g.gw.revisions.active!.id;
    const extra = config({ routes: [...ROUTES, { name: 'public', service: 'echo', paths: ['/public'] }] });
    assert.equal((await as('alice', 'POST', '/config', extra)).status, 201);
    const back = await as('alice', 'POST', `/revisions/${live}/rollback`);
    assert.equal(back.status, 200, back.text);
    assert.equal(g.gw.revisions.active?.id, live);
  });

  it('(d) taking a consumer out of a guarded group needs an approval; changes record before/after', async () => {
    const r = await as('alice', 'PUT', '/consumers/acme', { groups: [] });
    const t = refusedForApproval(r);
    assert.ok(t.some((x) => x.startsWith('consumer acme on route admin') && x.includes('rate-limit#trial')));
    assert.deepEqual((await as('alice', 'GET', '/consumers/acme')).json.groups, ['trial']);
    // Nor through a config that declares it (applying it would upsert the consumer).
    const decl = { ...config(), consumers: [{ name: 'acme', groups: [] }] };
    refusedForApproval(await as('alice', 'POST', '/config', decl));
    assert.deepEqual((await as('alice', 'GET', '/consumers/acme')).json.groups, ['trial']);

    // A change that keeps the guarded policies applies, with before and after in the audit log.
    const ok = await as('alice', 'PUT', '/consumers/acme', { groups: ['trial', 'beta'] });
    assert.equal(ok.status, 200, ok.text);
    const ev = (await adminCall(g, 'GET', '/audit')).json.events.at(-1);
    assert.equal(ev.action, 'consumer.update');
    assert.deepEqual(ev.detail, {
      before: { groups: ['trial'], metadata: {} },
      after: { groups: ['trial', 'beta'], metadata: {} },
    });

    // The legitimate way: proposed with the consumer in the config, approved by another admin.
    const p = await as('alice', 'POST', '/proposals', { config: decl });
    assert.ok(
      p.json.touches.some((x: string) => x.startsWith('consumer acme')),
      p.text,
    );
    assert.equal((await as('bob', 'POST', `/proposals/${p.json.id}/approve`)).json.status, 'applied');
    assert.deepEqual((await as('alice', 'GET', '/consumers/acme')).json.groups, []);
    const imported = (await adminCall(g, 'GET', '/audit')).json.events.find(
      (e: { action: string }) => e.action === 'consumer.import',
    );
    assert.deepEqual(imported.detail.changes, [
      {
        name: 'acme',
        before: { groups: ['trial', 'beta'], metadata: {} },
        after: { groups: [], metadata: {} },
      },
    ]);
  });
});
