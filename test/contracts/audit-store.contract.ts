import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { verifyAudit } from '../../src/admin/routes/audit.js';
import type { AuditEvent, AuditStore } from '../../src/store/audit-store.js';
import { auditKey } from '../../src/store/audit-keys.js';
import { type MakeStore, withStore } from './harness.js';

/**
 * What every AuditStore backend must do: an append-only chain, consecutive ids, the head
 * recorded beside it, and a log that `verifyAudit` accepts. (Tampering is tested through the
 * gateway in test/audit.test.ts, where the SQLite file can be edited.)
 */
export function auditStoreContract(name: string, make: MakeStore<AuditStore>): void {
  const run = (fn: (s: AuditStore) => Promise<void>) => () => withStore(make, fn);

  describe(`AuditStore contract: ${name}`, () => {
    it(
      'starts empty, with no head, and verifies',
      run(async (s) => {
        assert.deepEqual(await s.listAudit(), []);
        assert.equal(await s.auditHead(), undefined);
        assert.deepEqual(await verifyAudit(s), { ok: true, events: 0, head: null, keyed: null, unkeyed: 0 });
      }),
    );

    it(
      'appends events with consecutive ids from 1, each linking the previous one',
      run(async (s) => {
        const a = await s.appendAudit({ actor: 'alice', action: 'apply', target: 'revision/1' });
        const b = await s.appendAudit({ actor: 'bob', action: 'consumer.create', target: 'consumer/acme' });
        assert.equal(a.id, 1);
        assert.equal(b.id, 2);
        assert.match(a.prevHash, /^0{64}$/, 'the first event links the genesis hash');
        assert.equal(b.prevHash, a.hash);
        assert.notEqual(a.hash, b.hash);
        assert.match(a.hash, /^[0-9a-f]{64}$/);
        assert.ok(!Number.isNaN(Date.parse(a.ts)), 'ts is a time');
        assert.deepEqual(await s.auditHead(), { id: 2, hash: b.hash });
      }),
    );

    it(
      'reads events back exactly as appended',
      run(async (s) => {
        const e = await s.appendAudit({
          actor: 'alice',
          action: 'apply',
          target: 'revision/2',
          beforeHash: 'before',
          afterHash: 'after',
          detail: { message: 'ship it', nested: { n: 1, list: ['a', null] } },
        });
        assert.deepEqual(e.detail, { message: 'ship it', nested: { n: 1, list: ['a', null] } });
        assert.equal(e.beforeHash, 'before');
        assert.equal(e.afterHash, 'after');
        assert.deepEqual(await s.listAudit(), [e]);
      }),
    );

    it(
      'defaults detail to an empty object and keeps explicit null hashes',
      run(async (s) => {
        const e = await s.appendAudit({
          actor: 'a',
          action: 'x',
          target: 't',
          beforeHash: null,
          afterHash: null,
        });
        assert.deepEqual(e.detail, {});
        assert.equal(e.beforeHash, null);
        assert.equal(e.afterHash, null);
        assert.deepEqual((await s.listAudit())[0], e);
      }),
    );

    it(
      'lists oldest first, paged by afterId and limit',
      run(async (s) => {
        for (let i = 1; i <= 5; i++) await s.appendAudit({ actor: 'a', action: 'x', target: `t${i}` });
        assert.deepEqual(
          (await s.listAudit()).map((e) => e.id),
          [1, 2, 3, 4, 5],
        );
        assert.deepEqual(
          (await s.listAudit({ limit: 2 })).map((e) => e.id),
          [1, 2],
        );
        assert.deepEqual(
          (await s.listAudit({ afterId: 3 })).map((e) => e.target),
          ['t4', 't5'],
        );
        assert.deepEqual(await s.listAudit({ afterId: 5 }), []);
        assert.deepEqual(await verifyAudit(s, { pageSize: 2 }), {
          ok: true,
          events: 5,
          head: await s.auditHead(),
          keyed: null,
          unkeyed: 5,
        });
      }),
    );

    it(
      'keys the chain from the next event on, storing only the key id',
      run(async (s) => {
        const plain = await s.appendAudit({ actor: 'a', action: 'x', target: 't1' });
        assert.equal(plain.keyId, null);
        const key = auditKey('k'.repeat(32));
        s.setAuditKeys([key]);
        const keyed = await s.appendAudit({ actor: 'a', action: 'x', target: 't2' });
        assert.equal(keyed.keyId, key.id);
        assert.deepEqual(
          (await s.listAudit()).map((e) => e.keyId),
          [null, key.id],
        );
        const r = await verifyAudit(s, { keys: [key] });
        assert.deepEqual(r, {
          ok: true,
          events: 2,
          head: { id: 2, hash: keyed.hash },
          keyed: { from: 2, to: 2, keyIds: [key.id] },
          unkeyed: 1,
        });
        assert.equal((await verifyAudit(s)).ok, false, 'a keyed event does not verify without its key');
      }),
    );

    it(
      'tells each listener of every appended event; a throwing listener fails nothing',
      run(async (s) => {
        const seen: AuditEvent[] = [];
        s.onAudit(() => {
          throw new Error('sink down');
        });
        s.onAudit((e) => seen.push(e));
        const e = await s.appendAudit({ actor: 'a', action: 'x', target: 't' });
        assert.deepEqual(seen, [e]);
      }),
    );

    it(
      'keeps the chain whole when appends race',
      run(async (s) => {
        const events = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            s.appendAudit({ actor: `a${i}`, action: 'x', target: `t${i}` }),
          ),
        );
        assert.deepEqual(
          events.map((e) => e.id).sort((x, y) => x - y),
          Array.from({ length: 20 }, (_, i) => i + 1),
          'every append got its own id',
        );
        const r = await verifyAudit(s);
        assert.equal(r.ok, true, JSON.stringify(r));
        assert.equal(r.events, 20);
        assert.equal((await s.auditHead())?.id, 20);
      }),
    );
  });
}
