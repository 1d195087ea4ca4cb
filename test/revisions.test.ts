import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { canonicalJson, sha256 } from '../src/lib/canonical.js';
import { ManualClock } from '../src/core/clock.js';
import { verifyChain } from '../src/store/audit-chain.js';
import { adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

const T0 = Date.UTC(2024, 0, 1);

let up: Upstream;
let t: TestGateway;
const clock = new ManualClock(T0);

function configA(url: string) {
  return {
    services: [{ name: 'echo', targets: [{ url }] }],
    routes: [{ name: 'hello', service: 'echo', paths: ['/hello'] }],
    policies: [] as unknown[],
  };
}

/** A plus a deny of loopback on the route: requests from the test get 403. */
function configB(url: string) {
  return {
    ...configA(url),
    policies: [{ name: 'ip-restriction', scope: { route: 'hello' }, config: { deny: ['127.0.0.0/8'] } }],
  };
}

async function status(path = '/hello'): Promise<number> {
  return (await call(`${t.url}${path}`)).status;
}

async function revisionCount(): Promise<number> {
  return (await adminCall(t, 'GET', '/revisions')).json.revisions.length;
}

async function audit(): Promise<Record<string, any>[]> {
  return (await adminCall(t, 'GET', '/audit')).json.events;
}

before(async () => {
  up = await startUpstream();
  t = await startGateway(configA(up.url), { clock, author: 'boot' });
});
after(async () => {
  await t.stop();
  await up.close();
});

describe('revisions: apply', () => {
  it('starts on revision 1, hashed with sha256 over the canonical stored config', async () => {
    const r = await adminCall(t, 'GET', '/revisions/1');
    assert.equal(r.status, 200);
    assert.equal(r.json.id, 1);
    assert.equal(r.json.parent, null);
    assert.equal(r.json.author, 'boot');
    assert.equal(r.json.message, 'start');
    assert.equal(r.json.createdAt, '2024-01-01T00:00:00.000Z');
    assert.match(r.json.hash, /^[0-9a-f]{64}$/);
    assert.equal(r.json.hash, sha256(canonicalJson(r.json.config)));
    // Stored with defaults filled in, so the hash does not depend on what was left implicit.
    assert.equal(r.json.config.routes[0].pathMatch, 'prefix');
    assert.equal(await status(), 200);
  });

  it('apply creates revision N+1 with parent N, author and message, and traffic follows', async () => {
    clock.advance(60_000);
    const r = await adminCall(t, 'POST', '/config?message=deny%20loopback', configB(up.url), {
      'x-portcullis-author': 'alice',
    });
    assert.equal(r.status, 201);
    assert.equal(r.json.status, 'applied');
    const { id, parent, author, message, createdAt } = r.json.revision;
    assert.deepEqual(
      { id, parent, author, message, createdAt },
      { id: 2, parent: 1, author: 'root', message: 'deny loopback', createdAt: '2024-01-01T00:01:00.000Z' },
    );
    assert.match(r.json.revision.hash, /^[0-9a-f]{64}$/);
    assert.deepEqual(r.json.diff.policies.added, ['ip-restriction#ip-restriction@route:hello']);
    assert.equal(await status(), 403);
    const list = await adminCall(t, 'GET', '/revisions');
    assert.equal(list.json.active, 2);
    assert.deepEqual(
      list.json.revisions.map((v: { id: number }) => v.id),
      [2, 1],
    );
  });

  it('an identical apply is unchanged: no new revision, even with keys in another order', async () => {
    const b = configB(up.url);
    const reordered = { policies: b.policies, routes: b.routes, services: b.services };
    for (const body of [b, reordered]) {
      const r = await adminCall(t, 'POST', '/config', body);
      assert.equal(r.status, 200);
      assert.equal(r.json.status, 'unchanged');
      assert.equal(r.json.revision.id, 2);
      assert.equal(r.json.diff.empty, true);
    }
    // Defaults written out make no difference either.
    const explicit = configB(up.url);
    (explicit.routes[0] as Record<string, unknown>).pathMatch = 'prefix';
    assert.equal((await adminCall(t, 'POST', '/config', explicit)).json.status, 'unchanged');
    assert.equal(await revisionCount(), 2);
  });

  it('a YAML body applies like JSON', async () => {
    const yaml = `services:\n  - name: echo\n    targets:\n      - url: ${up.url}\nroutes:\n  - name: hello\n    service: echo\n    paths: [/hello]\npolicies:\n  - name: ip-restriction\n    scope: { route: hello }\n    config: { deny: [127.0.0.0/8] }\n`;
    const r = await adminCall(t, 'POST', '/config', yaml, { 'content-type': 'application/yaml' });
    assert.equal(r.json.status, 'unchanged');
  });

  it('a dry run validates and diffs, and changes nothing', async () => {
    const events = (await audit()).length;
    const r = await adminCall(t, 'POST', '/config?dry_run=true', configA(up.url));
    assert.equal(r.status, 200);
    assert.equal(r.json.status, 'dry-run');
    assert.equal(r.json.revision, undefined);
    assert.deepEqual(r.json.diff.policies.removed, ['ip-restriction#ip-restriction@route:hello']);
    assert.equal(t.gw.revisions.active?.id, 2);
    assert.equal(await revisionCount(), 2);
    assert.equal((await audit()).length, events);
    assert.equal(await status(), 403);

    const bad = await adminCall(t, 'POST', '/config?dry_run=true', {
      ...configA(up.url),
      routes: [{ name: 'x', service: 'nope', paths: ['/x'] }],
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json.error.issues, [
      { path: '/routes/0/service', message: "no service named 'nope'" },
    ]);
  });

  it('a refused apply lists every issue and keeps the running revision', async () => {
    const r = await adminCall(t, 'POST', '/config', {
      services: [{ name: 'echo', targets: [{ url: 'ftp://x' }] }],
      routes: [{ name: 'hello', service: 'missing', paths: ['/hello'] }],
      policies: [{ name: 'no-such-policy' }],
    });
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'PCS_ERR_CONFIG_INVALID');
    assert.deepEqual(
      r.json.error.issues.map((i: { path: string }) => i.path),
      ['/services/0/targets/0/url', '/routes/0/service', '/policies/0/name'],
    );
    assert.equal(t.gw.revisions.active?.id, 2);
    assert.equal(await status(), 403);
  });
});

describe('revisions: diff', () => {
  it('gives added, removed and changed services, routes and policies, field by field', async () => {
    const d = {
      services: [
        { name: 'echo', targets: [{ url: up.url, weight: 2 }], timeouts: { connectMs: 100 } },
        { name: 'other', targets: [{ url: up.url }] },
      ],
      routes: [
        { name: 'hello', service: 'echo', paths: ['/hello', '/hi'], stripPath: true },
        { name: 'new', service: 'other', paths: ['/new'] },
      ],
      policies: [
        { name: 'ip-restriction', scope: { route: 'hello' }, config: { deny: ['10.0.0.0/8'] } },
        { name: 'cors', config: { origins: ['https://a.test'] } },
      ],
      gateway: { trustedProxies: ['10.0.0.1'] },
    };
    clock.advance(60_000);
    const applied = await adminCall(t, 'POST', '/config', d, { 'x-portcullis-author': 'bob' });
    assert.equal(applied.json.revision.id, 3);
    const r = await adminCall(t, 'GET', '/revisions/2/diff/3');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, {
      services: {
        added: ['other'],
        removed: [],
        changed: [
          {
            key: 'echo',
            changes: [
              { path: '/targets', before: [{ url: up.url, weight: 1 }], after: [{ url: up.url, weight: 2 }] },
              { path: '/timeouts', after: { connectMs: 100, readMs: 60000, totalMs: 120000 } },
            ],
          },
        ],
      },
      routes: {
        added: ['new'],
        removed: [],
        changed: [
          {
            key: 'hello',
            changes: [
              { path: '/paths', before: ['/hello'], after: ['/hello', '/hi'] },
              { path: '/stripPath', before: false, after: true },
            ],
          },
        ],
      },
      policies: {
        added: ['cors#cors@global'],
        removed: [],
        changed: [
          {
            key: 'ip-restriction#ip-restriction@route:hello',
            changes: [{ path: '/config/deny', before: ['127.0.0.0/8'], after: ['10.0.0.0/8'] }],
          },
        ],
      },
      gateway: [{ path: '/trustedProxies', after: ['10.0.0.1'] }],
      empty: false,
    });
    const back = await adminCall(t, 'GET', '/revisions/3/diff/1');
    assert.deepEqual(back.json.policies, {
      added: [],
      removed: ['ip-restriction#ip-restriction@route:hello', 'cors#cors@global'],
      changed: [],
    });
    assert.deepEqual(back.json.services.removed, ['other']);
    assert.deepEqual(back.json.routes.removed, ['new']);
    const same = await adminCall(t, 'GET', '/revisions/2/diff/2');
    assert.equal(same.json.empty, true);
  });
});

describe('revisions: rollback', () => {
  it('re-activates an older revision at once, without a new revision', async () => {
    assert.equal(await status(), 200, 'revision 3 denies 10/8 only');
    const r = await adminCall(t, 'POST', '/revisions/2/rollback', undefined, {
      'x-portcullis-author': 'carol',
    });
    assert.equal(r.status, 200);
    assert.equal(r.json.status, 'rolled-back');
    assert.equal(r.json.revision.id, 2);
    assert.equal(await status(), 403, 'traffic follows at once');
    assert.equal(t.gw.revisions.active?.id, 2);
    assert.equal((await adminCall(t, 'GET', '/revisions')).json.active, 2);
    assert.equal(await revisionCount(), 3);
    assert.equal((await adminCall(t, 'GET', '/status')).json.revision.id, 2);
  });

  it('a later apply takes the rolled-back revision as parent', async () => {
    clock.advance(60_000);
    const r = await adminCall(t, 'POST', '/config', configA(up.url), { 'x-portcullis-author': 'carol' });
    assert.equal(r.json.status, 'applied');
    assert.equal(r.json.revision.id, 4);
    assert.equal(r.json.revision.parent, 2);
    const one = (await adminCall(t, 'GET', '/revisions/1')).json;
    assert.equal(r.json.revision.hash, one.hash, 'the same config hashes the same');
    assert.equal(await status(), 200);
  });
});

describe('revisions: consumers in the YAML', () => {
  it('are upserted into the store, audited, and not part of the revision', async () => {
    const withConsumers = {
      ...configA(up.url),
      consumers: [{ name: 'yaml-alice', groups: ['gold'], metadata: { plan: 'pro' } }, { name: 'yaml-bob' }],
    };
    const r = await adminCall(t, 'POST', '/config', withConsumers, { 'x-portcullis-author': 'dave' });
    assert.equal(r.json.status, 'unchanged', 'same routing and policy: same revision');
    assert.equal(r.json.revision.id, 4);
    const alice = await adminCall(t, 'GET', '/consumers/yaml-alice');
    assert.equal(alice.status, 200);
    assert.deepEqual([alice.json.groups, alice.json.metadata], [['gold'], { plan: 'pro' }]);
    assert.deepEqual((await adminCall(t, 'GET', '/consumers/yaml-bob')).json.groups, []);
    const stored = (await adminCall(t, 'GET', '/revisions/4')).json;
    assert.equal(stored.config.consumers, undefined);
    assert.equal((await adminCall(t, 'GET', '/config')).json.consumers, undefined);

    // Again: nothing changed, nothing audited. A change: one import event naming it.
    const before = (await audit()).length;
    await adminCall(t, 'POST', '/config', withConsumers, { 'x-portcullis-author': 'dave' });
    assert.equal((await audit()).length, before);
    withConsumers.consumers[1] = { name: 'yaml-bob', groups: ['silver'] } as never;
    await adminCall(t, 'POST', '/config', withConsumers, { 'x-portcullis-author': 'dave' });
    const events = await audit();
    assert.equal(events.length, before + 1);
    assert.deepEqual(
      { actor: events.at(-1)?.actor, action: events.at(-1)?.action, detail: events.at(-1)?.detail },
      {
        actor: 'root',
        action: 'consumer.import',
        detail: {
          names: ['yaml-bob'],
          changes: [
            {
              name: 'yaml-bob',
              before: { groups: [], metadata: {} },
              after: { groups: ['silver'], metadata: {} },
            },
          ],
        },
      },
    );
    assert.equal(await revisionCount(), 4);
  });
});

describe('revisions: the audit log', () => {
  it('records every action with its actor and before/after hashes, and the chain verifies', async () => {
    const events = await audit();
    const hashes = new Map<number, string>();
    for (const v of (await adminCall(t, 'GET', '/revisions')).json.revisions) hashes.set(v.id, v.hash);
    const rev = events.filter((e) => e.action.startsWith('revision.'));
    assert.deepEqual(
      rev.map((e) => [e.actor, e.action, e.target, e.beforeHash, e.afterHash]),
      [
        ['boot', 'revision.apply', 'revision/1', null, hashes.get(1)],
        // The actor is the authenticated admin (`root`: the start-up token), not X-Portcullis-Author.
        ['root', 'revision.apply', 'revision/2', hashes.get(1), hashes.get(2)],
        ['root', 'revision.apply', 'revision/3', hashes.get(2), hashes.get(3)],
        ['root', 'revision.rollback', 'revision/2', hashes.get(3), hashes.get(2)],
        ['root', 'revision.apply', 'revision/4', hashes.get(2), hashes.get(4)],
      ],
    );
    assert.deepEqual(rev[1].detail, { message: 'deny loopback', parent: 1 });
    assert.deepEqual(rev[3].detail, { from: 3, to: 2 });
    assert.equal(events[0].ts, '2024-01-01T00:00:00.000Z');
    assert.deepEqual(
      events.map((e) => e.id),
      events.map((_e, i) => i + 1),
    );
    assert.deepEqual(verifyChain(await t.gw.store.listAudit()), { ok: true });
  });

  it('detects an edited row and a deleted row in the SQLite file', async () => {
    const db = new Database(join(t.dataDir, 'portcullis.db'));
    try {
      const original = db.prepare('SELECT actor FROM audit WHERE id = 2').get() as { actor: string };
      db.prepare("UPDATE audit SET actor = 'mallory' WHERE id = 2").run();
      assert.deepEqual(verifyChain(await t.gw.store.listAudit()), {
        ok: false,
        id: 2,
        reason: 'event content does not match its hash',
      });
      db.prepare(
        'UPDATE audit SET detail = \'{"message":"nothing to see","parent":1}\', actor = ? WHERE id = 2',
      ).run(original.actor);
      assert.equal((verifyChain(await t.gw.store.listAudit()) as { id: number }).id, 2, 'detail edits too');
      db.prepare('UPDATE audit SET detail = \'{"message":"deny loopback","parent":1}\' WHERE id = 2').run();
      assert.deepEqual(verifyChain(await t.gw.store.listAudit()), { ok: true }, 'restored');

      // A forged hash on a row is caught. The forgery always differs from the real hash (forcing a
      // fixed first character would be a no-op for 1 hash in 16, and the test would fail by chance).
      const row = db.prepare('SELECT hash FROM audit WHERE id = 3').get() as { hash: string };
      const forged = `${row.hash[0] === 'f' ? '0' : 'f'}${row.hash.slice(1)}`;
      assert.notEqual(forged, row.hash);
      db.prepare('UPDATE audit SET hash = ? WHERE id = 3').run(forged);
      assert.deepEqual(verifyChain(await t.gw.store.listAudit()), {
        ok: false,
        id: 3,
        reason: 'event content does not match its hash',
      });
      db.prepare('UPDATE audit SET hash = ? WHERE id = 3').run(row.hash);
      assert.deepEqual(verifyChain(await t.gw.store.listAudit()), { ok: true }, 'restored');

      db.prepare('DELETE FROM audit WHERE id = 3').run();
      assert.deepEqual(verifyChain(await t.gw.store.listAudit()), {
        ok: false,
        id: 4,
        reason: 'gap: event 3 is missing',
      });
    } finally {
      db.close();
    }
  });
});

describe('revisions: restart', () => {
  it('comes back on the active revision from the same data dir', async () => {
    const active = t.gw.revisions.active;
    assert.ok(active);
    await adminCall(t, 'POST', '/revisions/2/rollback');
    const hash2 = (await adminCall(t, 'GET', '/revisions/2')).json.hash;
    await t.stop();
    t = await startGateway(undefined, { dataDir: t.dataDir, clock });
    assert.equal(t.gw.revisions.active?.id, 2);
    assert.equal(t.gw.revisions.active?.hash, hash2);
    assert.equal(await status(), 403, 'revision 2 denies loopback');
    assert.equal(await revisionCount(), 4);
    assert.equal((await adminCall(t, 'GET', '/consumers/yaml-alice')).status, 200);

    // Restarting with the same config as a boot file changes nothing either.
    await t.stop();
    t = await startGateway(configB(up.url), { dataDir: t.dataDir, clock });
    assert.equal(t.gw.revisions.active?.id, 2);
    assert.equal(await revisionCount(), 4);
  });
});
