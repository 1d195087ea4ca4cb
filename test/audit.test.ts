import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { verifyAudit } from '../src/admin/routes/audit.js';
import { auditHash } from '../src/store/audit-chain.js';
import { adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

let g: TestGateway;
let up: Upstream;
let db: Database.Database;

const config = (url: string, policies: unknown[] = []) => ({
  services: [{ name: 'echo', targets: [{ url }] }],
  routes: [{ name: 'hello', service: 'echo', paths: ['/hello'] }],
  policies,
});
const DENY = [{ name: 'ip-restriction', scope: { route: 'hello' }, config: { deny: ['10.0.0.0/8'] } }];
const verify = async () => (await adminCall(g, 'GET', '/audit/verify')).json;

before(async () => {
  up = await startUpstream();
  g = await startGateway(config(up.url));
  db = new Database(join(g.dataDir, 'portcullis.db'));
});
after(async () => {
  db.close();
  await g.stop();
  await up.close();
});

describe('audit: every change is an event', () => {
  it('records apply, rollback, canary start/promote/abort, key issue and revoke, admin changes', async () => {
    assert.equal((await adminCall(g, 'POST', '/config', config(up.url, DENY))).status, 201);
    assert.equal((await adminCall(g, 'POST', '/revisions/1/rollback')).status, 200);
    assert.equal(
      (await adminCall(g, 'POST', '/canary', { config: config(up.url, DENY), percent: 10 })).status,
      201,
    );
    assert.equal((await adminCall(g, 'POST', '/canary/abort')).status, 200);
    assert.equal(
      (await adminCall(g, 'POST', '/canary', { config: config(up.url, DENY), percent: 10 })).status,
      201,
    );
    assert.equal((await adminCall(g, 'POST', '/canary/promote')).status, 200);
    assert.equal((await adminCall(g, 'POST', '/consumers', { name: 'acme' })).status, 201);
    const key = await adminCall(g, 'POST', '/consumers/acme/credentials', { kind: 'key-auth' });
    assert.equal((await adminCall(g, 'POST', `/credentials/${key.json.credential.id}/revoke`)).status, 200);
    assert.equal((await adminCall(g, 'POST', '/admins', { name: 'ops', role: 'viewer' })).status, 201);

    const events = (await adminCall(g, 'GET', '/audit')).json.events as {
      actor: string;
      action: string;
      target: string;
      ts: string;
      beforeHash: string | null;
      afterHash: string | null;
    }[];
    assert.deepEqual(
      events.map((e) => e.action),
      [
        'revision.apply',
        'revision.apply',
        'revision.rollback',
        'canary.start',
        'canary.abort',
        'canary.start',
        'canary.promote',
        'consumer.create',
        'credential.issue',
        'credential.revoke',
        'admin.create',
      ],
    );
    for (const e of events) {
      assert.match(e.ts, /^\d{4}-\d\d-\d\dT/);
      assert.ok(e.actor && e.target);
      assert.match(e.afterHash ?? '', /^[0-9a-f]{64}$/, e.action);
      if (e !== events[0]) assert.match(e.beforeHash ?? '', /^[0-9a-f]{64}$/, e.action);
    }
    // Events that change no revision record the active one as both hashes.
    const live = g.gw.revisions.active?.hash;
    for (const e of events.slice(-4)) assert.deepEqual([e.beforeHash, e.afterHash], [live, live], e.action);
    assert.deepEqual(
      events.slice(1).map((e) => e.actor),
      Array(10).fill('root'),
    );
  });
});

describe('audit: verify detects edited and deleted events', () => {
  it('an intact chain verifies (API and the store walk agree)', async () => {
    const r = await verify();
    assert.equal(r.ok, true);
    assert.equal(r.events, 11);
    assert.equal(r.head.id, 11);
    assert.deepEqual(await verifyAudit(g.gw.store, { pageSize: 3 }), r);
  });

  it('an edited event (actor changed in the SQLite file) is found', async () => {
    const row = db.prepare('SELECT actor FROM audit WHERE id = 4').get() as { actor: string };
    db.prepare("UPDATE audit SET actor = 'someone-else' WHERE id = 4").run();
    const r = await adminCall(g, 'GET', '/audit/verify');
    assert.equal(r.status, 409);
    assert.deepEqual(r.json, {
      ok: false,
      events: 3,
      id: 4,
      reason: 'event content does not match its hash',
    });
    // Recomputing its hash does not help: the next event points at the old one.
    const [e4] = await g.gw.store.listAudit({ afterId: 3, limit: 1 });
    db.prepare('UPDATE audit SET hash = ? WHERE id = 4').run(auditHash(e4));
    assert.deepEqual(await verify(), {
      ok: false,
      events: 4,
      id: 5,
      reason: 'prevHash does not match the previous event',
    });
    const original = { ...e4, actor: row.actor };
    db.prepare('UPDATE audit SET actor = ?, hash = ? WHERE id = 4').run(row.actor, auditHash(original));
    assert.equal((await verify()).ok, true);
  });

  it('a deleted event in the middle is found', async () => {
    const fresh = await startGateway(config(up.url));
    try {
      await adminCall(fresh, 'POST', '/config', config(up.url, DENY));
      await adminCall(fresh, 'POST', '/consumers', { name: 'x' });
      const f = new Database(join(fresh.dataDir, 'portcullis.db'));
      f.prepare('DELETE FROM audit WHERE id = 2').run();
      const r = await adminCall(fresh, 'GET', '/audit/verify');
      assert.equal(r.status, 409);
      assert.deepEqual(r.json, { ok: false, events: 1, id: 3, reason: 'gap: event 2 is missing' });

      // A deleted tail is found too, even once new events were appended after it.
      f.prepare('DELETE FROM audit WHERE id > 1').run();
      await adminCall(fresh, 'POST', '/consumers', { name: 'y' });
      const t = (await adminCall(fresh, 'GET', '/audit/verify')).json;
      assert.deepEqual(t, { ok: false, events: 1, id: 4, reason: 'gap: event 2 is missing' });
      f.prepare('DELETE FROM audit WHERE id = 4').run();
      const tail = (await adminCall(fresh, 'GET', '/audit/verify')).json;
      assert.deepEqual(tail, {
        ok: false,
        events: 1,
        id: 4,
        reason: 'events 2 to 4 are missing (the log ends before its recorded head)',
      });
      f.close();
    } finally {
      await fresh.stop();
    }
  });

  it('exports every event as JSON lines', async () => {
    const r = await call(`${g.admin}/audit/export`, {
      headers: { authorization: 'Bearer test-admin-token-0123456789' },
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/x-ndjson');
    const all = r.text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    // The last line is the head recorded beside the log.
    const head = (await adminCall(g, 'GET', '/audit/verify')).json.head;
    assert.deepEqual(all.at(-1), { auditHead: `${head.id}:${head.hash}` });
    assert.equal(r.headers['x-portcullis-audit-head'], `${head.id}:${head.hash}`);
    const lines = all.slice(0, -1);
    assert.deepEqual(
      lines.map((e) => e.id),
      Array.from({ length: 11 }, (_, i) => i + 1),
    );
    assert.equal(lines[3].actor, 'root');
    const after = await call(`${g.admin}/audit/export?after=9`, {
      headers: { authorization: 'Bearer test-admin-token-0123456789' },
    });
    assert.equal(after.text.trimEnd().split('\n').length, 3, 'two events and the head');
  });
});
