import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';

let g: TestGateway;
const as = (
  token: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) =>
  call(`${g.admin}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

before(async () => {
  g = await startGateway({ services: [], routes: [], policies: [] });
});
after(() => g.stop());

describe('admins: named admins with their own tokens and roles', () => {
  const tokens: Record<string, string> = {};

  it('lists the bootstrap admin root (the start-up token)', async () => {
    const r = await adminCall(g, 'GET', '/admins');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.admins, [
      {
        name: 'root',
        role: 'admin',
        createdAt: null,
        createdBy: 'start-up token',
        status: 'active',
        confirmedBy: null,
      },
    ]);
  });

  it('creates admins; the token is in the answer once and stored only as its SHA-256', async () => {
    for (const [name, role] of [
      ['alice', 'admin'],
      ['vic', 'viewer'],
    ]) {
      const r = await adminCall(g, 'POST', '/admins', { name, role });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.json.name, name);
      assert.equal(r.json.role, role);
      assert.equal(r.json.createdBy, 'root');
      assert.match(r.json.token, /^pcs_adm_[A-Za-z0-9_-]{43}$/);
      tokens[name] = r.json.token;
    }
    const stored = await g.gw.store.listAdmins();
    assert.deepEqual(
      stored.map((a) => a.tokenHash),
      ['alice', 'vic'].map((n) => createHash('sha256').update(tokens[n]).digest('hex')),
    );
    const list = await adminCall(g, 'GET', '/admins');
    assert.equal(list.text.includes(tokens.alice), false);
    assert.deepEqual(
      list.json.admins.map((a: { name: string }) => a.name),
      ['root', 'alice', 'vic'],
    );
  });

  it('refuses reserved and duplicate names (409) and bad roles (400)', async () => {
    assert.equal((await adminCall(g, 'POST', '/admins', { name: 'root', role: 'admin' })).status, 409);
    assert.equal((await adminCall(g, 'POST', '/admins', { name: 'alice', role: 'viewer' })).status, 409);
    const bad = await adminCall(g, 'POST', '/admins', { name: 'eve', role: 'owner' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.code, 'PCS_ERR_ADMIN_BAD_INPUT');
  });

  it('records the authenticated admin as the actor, whatever X-Portcullis-Author claims', async () => {
    const r = await as(
      tokens.alice,
      'POST',
      '/consumers',
      { name: 'acme' },
      { 'x-portcullis-author': 'mallory' },
    );
    assert.equal(r.status, 201);
    const ev = (await adminCall(g, 'GET', '/audit')).json.events.at(-1);
    assert.deepEqual([ev.actor, ev.action, ev.target], ['alice', 'consumer.create', 'consumer/acme']);
  });

  it('a viewer reads but changes nothing (403 PCS_ERR_ADMIN_FORBIDDEN)', async () => {
    assert.equal((await as(tokens.vic, 'GET', '/consumers')).status, 200);
    const r = await as(tokens.vic, 'POST', '/consumers', { name: 'nope' });
    assert.equal(r.status, 403);
    assert.equal(r.json.error.code, 'PCS_ERR_ADMIN_FORBIDDEN');
    assert.equal(r.json.error.message, 'admin vic has the viewer role: read only');
    assert.equal((await as(tokens.vic, 'DELETE', '/admins/alice')).status, 403);
  });

  it('an unknown or malformed token is 401', async () => {
    assert.equal((await as('pcs_adm_notatokenatall', 'GET', '/admins')).status, 401);
    assert.equal((await as(tokens.alice.slice(0, -1), 'GET', '/admins')).status, 401);
  });

  it('removing an admin stops its token at once; root cannot be removed', async () => {
    assert.equal((await as(tokens.alice, 'DELETE', '/admins/vic')).status, 204);
    assert.equal((await as(tokens.vic, 'GET', '/consumers')).status, 401);
    assert.equal((await adminCall(g, 'DELETE', '/admins/vic')).status, 404);
    assert.equal((await adminCall(g, 'DELETE', '/admins/root')).status, 409);
    const ev = (await adminCall(g, 'GET', '/audit')).json.events
      .filter((e: { action: string }) => e.action.startsWith('admin.'))
      .map((e: { actor: string; action: string; target: string }) => [e.actor, e.action, e.target]);
    assert.deepEqual(ev, [
      ['root', 'admin.create', 'admin/alice'],
      ['root', 'admin.create', 'admin/vic'],
      ['alice', 'admin.delete', 'admin/vic'],
    ]);
  });
});
