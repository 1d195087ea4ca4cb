import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../src/core/clock.js';
import { adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

const T0 = Date.parse('2026-05-04T09:00:00Z');
const clock = new ManualClock(T0);
let g: TestGateway;
let up: Upstream;
const tokens: Record<string, string> = {};

const DENY_LOOPBACK = {
  name: 'ip-restriction',
  scope: { route: 'hello' },
  config: { deny: ['127.0.0.0/8'] },
};
const base = (url: string, policies: unknown[] = [], paths = ['/hello']) => ({
  services: [{ name: 'echo', targets: [{ url }] }],
  routes: [{ name: 'hello', service: 'echo', paths }],
  policies,
  gateway: { trustedProxies: [], approvals: { required: true, policies: ['ip-restriction'] } },
});
const as = (who: string, method: string, path: string, body?: unknown) =>
  call(`${g.admin}${path}`, {
    method,
    headers: { authorization: `Bearer ${tokens[who]}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
const hello = async () => (await call(`${g.url}/hello`)).status;

before(async () => {
  up = await startUpstream();
  g = await startGateway(base(up.url), { clock });
  for (const [name, role] of [
    ['alice', 'admin'],
    ['bob', 'admin'],
    ['vic', 'viewer'],
  ]) {
    const r = await adminCall(g, 'POST', '/admins', { name, role });
    tokens[name] = r.json.token;
  }
  // Approvals are on: an admin who could approve waits for a second admin (root made alice alone).
  assert.equal((await as('alice', 'POST', '/admins/bob/confirm')).status, 200);
});
after(async () => {
  await g.stop();
  await up.close();
});

describe('approvals: four-eyes changes to security policies', () => {
  it('refuses a direct apply that touches a protected policy (409), lets other changes through', async () => {
    const r = await as('alice', 'POST', '/config', base(up.url, [DENY_LOOPBACK]));
    assert.equal(r.status, 409);
    assert.equal(r.json.error.code, 'PCS_ERR_APPROVAL_REQUIRED');
    assert.deepEqual(r.json.error.touches, ['ip-restriction#ip-restriction@route:hello']);
    const canary = await as('alice', 'POST', '/canary', {
      config: base(up.url, [DENY_LOOPBACK]),
      percent: 10,
    });
    assert.equal(canary.json.error.code, 'PCS_ERR_APPROVAL_REQUIRED');
    // A dry run is always allowed; a change without protected policies applies directly.
    assert.equal(
      (await as('alice', 'POST', '/config?dry_run=true', base(up.url, [DENY_LOOPBACK]))).status,
      200,
    );
    const other = await as('alice', 'POST', '/config', base(up.url, [], ['/hello', '/hi']));
    assert.equal(other.status, 201, other.text);
    // Lifting the rule is itself a protected change.
    const lift = base(up.url, [], ['/hello', '/hi']);
    lift.gateway.approvals.required = false;
    const l = await as('alice', 'POST', '/config', lift);
    assert.equal(l.status, 409);
    assert.deepEqual(l.json.error.touches, ['gateway.approvals']);
  });

  let id = 0;
  it('a proposal waits; its author and viewers cannot approve it; another admin can', async () => {
    const p = await as('alice', 'POST', '/proposals', {
      config: base(up.url, [DENY_LOOPBACK], ['/hello', '/hi']),
      message: 'block loopback',
    });
    assert.equal(p.status, 201, p.text);
    id = p.json.id;
    assert.equal(p.json.status, 'pending');
    assert.equal(p.json.author, 'alice');
    assert.deepEqual(p.json.touches, ['ip-restriction#ip-restriction@route:hello']);
    assert.equal(await hello(), 200);

    const self = await as('alice', 'POST', `/proposals/${id}/approve`);
    assert.equal(self.status, 403);
    assert.equal(self.json.error.code, 'PCS_ERR_ADMIN_FORBIDDEN');
    assert.equal(self.json.error.message, `proposal ${id} was made by alice: another admin must approve it`);
    assert.equal((await as('vic', 'POST', `/proposals/${id}/approve`)).status, 403);
    assert.equal(await hello(), 200);

    const ok = await as('bob', 'POST', `/proposals/${id}/approve`);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.status, 'applied');
    assert.equal(ok.json.decidedBy, 'bob');
    assert.equal(ok.json.revisionId, g.gw.revisions.active?.id);
    assert.equal(g.gw.revisions.active?.author, 'alice');
    assert.equal(g.gw.revisions.active?.message, `block loopback (proposal #${id}, approved by bob)`);
    assert.equal(await hello(), 403);
    assert.equal((await as('bob', 'POST', `/proposals/${id}/approve`)).status, 409);
  });

  it('a rejected proposal keeps its reason and can no longer be approved', async () => {
    const p = await as('bob', 'POST', '/proposals', { config: base(up.url, [], ['/hello', '/hi']) });
    const r = await as('alice', 'POST', `/proposals/${p.json.id}/reject`, { reason: 'we keep the block' });
    assert.equal(r.status, 200);
    assert.equal(r.json.status, 'rejected');
    assert.equal(r.json.reason, 'we keep the block');
    const got = await as('vic', 'GET', `/proposals/${p.json.id}`);
    assert.deepEqual(
      [got.json.status, got.json.reason, got.json.decidedBy],
      ['rejected', 'we keep the block', 'alice'],
    );
    assert.equal((await as('alice', 'POST', `/proposals/${p.json.id}/approve`)).status, 409);
    assert.equal((await as('alice', 'POST', `/proposals/${p.json.id}/reject`, {})).status, 400);
  });

  it('an approved proposal with a time activates when the scheduler reaches it', async () => {
    const at = new Date(T0 + 3_600_000).toISOString();
    const p = await as('bob', 'POST', '/proposals', {
      config: base(up.url, [], ['/hello', '/hi']),
      activateAt: at,
    });
    const a = await as('alice', 'POST', `/proposals/${p.json.id}/approve`);
    assert.equal(a.json.status, 'scheduled');
    assert.equal(a.json.activateAt, at);
    assert.deepEqual(await g.gw.approvals.tick(), []);
    assert.equal(await hello(), 403);
    clock.advance(3_600_000);
    const done = await g.gw.approvals.tick();
    assert.deepEqual(
      done.map((x) => [x.id, x.status]),
      [[p.json.id, 'applied']],
    );
    assert.equal(await hello(), 200);
    const list = await as('vic', 'GET', '/proposals?status=applied');
    assert.deepEqual(
      list.json.proposals.map((x: { id: number }) => x.id),
      [p.json.id, id],
    );
  });

  it('fails, with the reason, a proposal whose base revision changed since', async () => {
    const one = await as('alice', 'POST', '/proposals', {
      config: base(up.url, [DENY_LOOPBACK], ['/hello']),
    });
    const two = await as('alice', 'POST', '/proposals', {
      config: base(up.url, [DENY_LOOPBACK], ['/hello', '/x']),
    });
    assert.equal((await as('bob', 'POST', `/proposals/${one.json.id}/approve`)).json.status, 'applied');
    const r = await as('bob', 'POST', `/proposals/${two.json.id}/approve`);
    assert.equal(r.json.status, 'failed');
    assert.match(
      r.json.reason,
      /^the live revision changed since the proposal \(was [0-9a-f]{12}, now [0-9a-f]{12}\): propose again$/,
    );
  });

  it('audits every step with the authenticated actor and both hashes', async () => {
    const ev = (await adminCall(g, 'GET', '/audit')).json.events.filter((e: { target: string }) =>
      e.target.startsWith(`proposal/${id}`),
    );
    assert.deepEqual(
      ev.map((e: { actor: string; action: string }) => [e.actor, e.action]),
      [
        ['alice', 'proposal.create'],
        ['bob', 'proposal.approve'],
        ['bob', 'proposal.activate'],
      ],
    );
    for (const e of ev) assert.match(`${e.beforeHash} ${e.afterHash}`, /^[0-9a-f]{64} [0-9a-f]{64}$/);
  });
  it('an approved proposal with `canary` starts a canary instead of an apply', async () => {
    const before = g.gw.revisions.active?.id;
    const p = await as('alice', 'POST', '/proposals', {
      config: base(up.url, [], ['/hello']),
      canary: { percent: 100, sticky: 'ip' },
    });
    assert.equal(p.status, 201, p.text);
    const a = await as('bob', 'POST', `/proposals/${p.json.id}/approve`);
    assert.equal(a.json.status, 'applied');
    assert.equal(g.gw.revisions.active?.id, before);
    assert.equal(g.gw.revisions.canary?.meta.id, a.json.revisionId);
    assert.equal(await hello(), 200);
    assert.equal((await as('bob', 'POST', '/canary/abort')).status, 200);
    assert.equal(await hello(), 403);
    const bad = await as('alice', 'POST', '/proposals', { config: base(up.url), canary: { percent: 0 } });
    assert.equal(bad.status, 400);
  });
  it('two admins approving at once: one activation, the other gets 409', async () => {
    const p = await as('alice', 'POST', '/proposals', {
      config: base(up.url, [DENY_LOOPBACK], ['/hello', '/race']),
    });
    tokens.carol = (await adminCall(g, 'POST', '/admins', { name: 'carol', role: 'admin' })).json.token;
    assert.equal((await as('bob', 'POST', '/admins/carol/confirm')).status, 200);
    const [x, y] = await Promise.all([
      as('bob', 'POST', `/proposals/${p.json.id}/approve`),
      as('carol', 'POST', `/proposals/${p.json.id}/approve`),
    ]);
    assert.deepEqual([x.status, y.status].sort(), [200, 409]);
    const ok = x.status === 200 ? x : y;
    assert.equal(ok.json.status, 'applied');
    const approvals = (await adminCall(g, 'GET', '/audit')).json.events.filter(
      (e: { action: string; target: string }) =>
        e.target === `proposal/${p.json.id}` && e.action !== 'proposal.create',
    );
    assert.deepEqual(
      approvals.map((e: { action: string }) => e.action),
      ['proposal.approve', 'proposal.activate'],
    );
  });
});
