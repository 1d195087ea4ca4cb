import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IdentityStore, NewCredential, StoredAdmin } from '../../src/store/identity-store.js';
import { type MakeStore, withStore } from './harness.js';

function key(consumer: string, id: string, over: Partial<NewCredential> = {}): NewCredential {
  return { id, consumer, kind: 'key', lookup: `pk_${id}`, secret: `hash-of-${id}`, ...over };
}

function admin(name: string, over: Partial<StoredAdmin> = {}): StoredAdmin {
  return {
    name,
    role: 'admin',
    tokenHash: `token-${name}`,
    createdAt: '2024-01-01T00:00:00.000Z',
    createdBy: 'root',
    ...over,
  };
}

/** What every IdentityStore backend must do: consumers, their credentials, admins. */
export function identityStoreContract(name: string, make: MakeStore<IdentityStore>): void {
  const run = (fn: (s: IdentityStore) => Promise<void>) => () => withStore(make, fn);

  describe(`IdentityStore contract: ${name}`, () => {
    it(
      'creates a consumer on the first upsert and replaces its groups and metadata on the next',
      run(async (s) => {
        const first = await s.upsertConsumer({ name: 'acme', groups: ['beta'], metadata: { tier: 'gold' } });
        assert.equal(first.created, true);
        assert.ok(first.consumer.id, 'an id is assigned');
        assert.deepEqual(
          { name: first.consumer.name, groups: first.consumer.groups, metadata: first.consumer.metadata },
          { name: 'acme', groups: ['beta'], metadata: { tier: 'gold' } },
        );
        assert.ok(!Number.isNaN(Date.parse(first.consumer.createdAt)));
        const second = await s.upsertConsumer({ name: 'acme', groups: [], metadata: { tier: 'free' } });
        assert.equal(second.created, false);
        assert.equal(second.consumer.id, first.consumer.id, 'the id is kept');
        assert.equal(second.consumer.createdAt, first.consumer.createdAt, 'createdAt is kept');
        assert.deepEqual(second.consumer.groups, []);
        assert.deepEqual(second.consumer.metadata, { tier: 'free' });
        assert.deepEqual(await s.getConsumer('acme'), second.consumer);
      }),
    );

    it(
      'keeps a given consumer id on create',
      run(async (s) => {
        const { consumer } = await s.upsertConsumer({ id: 'c-1', name: 'acme', groups: [], metadata: {} });
        assert.equal(consumer.id, 'c-1');
        assert.equal((await s.getConsumer('acme'))?.id, 'c-1');
      }),
    );

    it(
      'answers undefined and false for unknown consumers',
      run(async (s) => {
        assert.equal(await s.getConsumer('nobody'), undefined);
        assert.equal(await s.deleteConsumer('nobody'), false);
      }),
    );

    it(
      'lists consumers by name, paged by limit and offset',
      run(async (s) => {
        assert.deepEqual(await s.listConsumers(), []);
        for (const n of ['carol', 'alice', 'bob'])
          await s.upsertConsumer({ name: n, groups: [], metadata: {} });
        assert.deepEqual(
          (await s.listConsumers()).map((c) => c.name),
          ['alice', 'bob', 'carol'],
        );
        assert.deepEqual(
          (await s.listConsumers({ limit: 1, offset: 1 })).map((c) => c.name),
          ['bob'],
        );
        assert.deepEqual(await s.listConsumers({ offset: 3 }), []);
      }),
    );

    it(
      'creates a consumer once when two upserts race',
      run(async (s) => {
        const results = await Promise.all([
          s.upsertConsumer({ name: 'acme', groups: ['a'], metadata: {} }),
          s.upsertConsumer({ name: 'acme', groups: ['b'], metadata: {} }),
        ]);
        assert.equal(results.filter((r) => r.created).length, 1);
        assert.equal(results[0].consumer.id, results[1].consumer.id);
        assert.equal((await s.listConsumers()).length, 1);
      }),
    );

    it(
      'deletes a consumer with its credentials',
      run(async (s) => {
        await s.upsertConsumer({ name: 'acme', groups: [], metadata: {} });
        await s.upsertConsumer({ name: 'other', groups: [], metadata: {} });
        await s.insertCredential(key('acme', 'k1'));
        await s.insertCredential(key('other', 'k2'));
        assert.equal(await s.deleteConsumer('acme'), true);
        assert.equal(await s.getConsumer('acme'), undefined);
        assert.deepEqual(await s.findCredentials('key', 'pk_k1'), []);
        assert.equal(await s.getCredential('k1'), undefined);
        assert.equal((await s.getCredential('k2'))?.consumer, 'other', 'other consumers keep theirs');
        assert.equal(await s.deleteConsumer('acme'), false);
      }),
    );

    it(
      'stores a credential with its defaults and reads it back',
      run(async (s) => {
        await s.upsertConsumer({ name: 'acme', groups: [], metadata: {} });
        const c = await s.insertCredential({ consumer: 'acme', kind: 'key', lookup: 'pk_1', secret: 'h' });
        assert.ok(c.id, 'an id is assigned');
        assert.deepEqual(
          { label: c.label, metadata: c.metadata, expiresAt: c.expiresAt, revokedAt: c.revokedAt },
          { label: '', metadata: {}, expiresAt: null, revokedAt: null },
        );
        assert.deepEqual(await s.getCredential(c.id), c);
        const full = await s.insertCredential(
          key('acme', 'k2', {
            label: 'ci',
            metadata: { scopes: ['read'] },
            expiresAt: '2030-01-01T00:00:00.000Z',
          }),
        );
        assert.deepEqual(await s.getCredential('k2'), full);
        assert.deepEqual(full.metadata, { scopes: ['read'] });
        assert.equal(await s.getCredential('missing'), undefined);
      }),
    );

    it(
      'refuses a credential of an unknown consumer and a duplicate id',
      run(async (s) => {
        await assert.rejects(s.insertCredential(key('nobody', 'k1')));
        await s.upsertConsumer({ name: 'acme', groups: [], metadata: {} });
        await s.insertCredential(key('acme', 'k1'));
        await assert.rejects(s.insertCredential(key('acme', 'k1', { lookup: 'pk_other' })));
        assert.equal((await s.getCredential('k1'))?.lookup, 'pk_k1', 'the first one stands');
      }),
    );

    it(
      'finds active credentials by kind and lookup only',
      run(async (s) => {
        await s.upsertConsumer({ name: 'acme', groups: [], metadata: {} });
        await s.insertCredential(key('acme', 'k1', { lookup: 'same' }));
        await s.insertCredential(key('acme', 'k2', { lookup: 'same' }));
        await s.insertCredential(key('acme', 'h1', { kind: 'hmac', lookup: 'same' }));
        await s.insertCredential(key('acme', 'k3', { lookup: 'SAME' }));
        assert.deepEqual((await s.findCredentials('key', 'same')).map((c) => c.id).sort(), ['k1', 'k2']);
        assert.deepEqual(
          (await s.findCredentials('hmac', 'same')).map((c) => c.id),
          ['h1'],
        );
        assert.deepEqual(await s.findCredentials('key', 'sam'), [], 'no prefix match');
        await s.revokeCredential('k1');
        assert.deepEqual(
          (await s.findCredentials('key', 'same')).map((c) => c.id),
          ['k2'],
          'revoked ones are not found',
        );
      }),
    );

    it(
      'lists credentials by consumer, kind and lookup prefix, oldest first, revoked on request',
      run(async (s) => {
        await s.upsertConsumer({ name: 'acme', groups: [], metadata: {} });
        await s.upsertConsumer({ name: 'beta', groups: [], metadata: {} });
        await s.insertCredential(key('acme', 'a1', { lookup: 'pk_abc1' }));
        await s.insertCredential(key('acme', 'a2', { lookup: 'pk_abd2' }));
        await s.insertCredential(key('acme', 'a3', { kind: 'basic', lookup: 'alice' }));
        await s.insertCredential(key('beta', 'b1', { lookup: 'pk_abc9' }));
        const ids = async (q: Parameters<IdentityStore['listCredentials']>[0]) =>
          (await s.listCredentials(q)).map((c) => c.id);
        assert.deepEqual(await ids({}), ['a1', 'a2', 'a3', 'b1']);
        assert.deepEqual(await ids({ consumer: 'acme' }), ['a1', 'a2', 'a3']);
        assert.deepEqual(await ids({ consumer: 'acme', kind: 'key' }), ['a1', 'a2']);
        assert.deepEqual(await ids({ lookupPrefix: 'pk_abc' }), ['a1', 'b1']);
        assert.deepEqual(await ids({ lookupPrefix: 'pk_%' }), [], 'the prefix is literal, not a pattern');
        assert.deepEqual(await ids({ limit: 2 }), ['a1', 'a2']);
        assert.equal(await s.revokeCredential('a2'), true);
        assert.deepEqual(await ids({ consumer: 'acme' }), ['a1', 'a3']);
        assert.deepEqual(await ids({ consumer: 'acme', includeRevoked: true }), ['a1', 'a2', 'a3']);
      }),
    );

    it(
      'revokes a credential once',
      run(async (s) => {
        await s.upsertConsumer({ name: 'acme', groups: [], metadata: {} });
        await s.insertCredential(key('acme', 'k1'));
        const results = await Promise.all([s.revokeCredential('k1'), s.revokeCredential('k1')]);
        assert.deepEqual(results.filter(Boolean).length, 1, 'one of two racing revokes wins');
        const c = await s.getCredential('k1');
        assert.ok(c?.revokedAt && !Number.isNaN(Date.parse(c.revokedAt)), 'revokedAt is a time');
        assert.equal(await s.revokeCredential('k1'), false);
        assert.equal(
          (await s.getCredential('k1'))?.revokedAt,
          c?.revokedAt,
          'a second revoke changes nothing',
        );
        assert.equal(await s.revokeCredential('missing'), false);
      }),
    );

    it(
      'stores admins, finds them by token hash, lists them by name',
      run(async (s) => {
        assert.deepEqual(await s.listAdmins(), []);
        await s.insertAdmin(admin('zed', { role: 'viewer' }));
        await s.insertAdmin(admin('amy'));
        const amy = await s.getAdminByTokenHash('token-amy');
        assert.deepEqual(
          { name: amy?.name, role: amy?.role, status: amy?.status, createdBy: amy?.createdBy },
          { name: 'amy', role: 'admin', status: 'active', createdBy: 'root' },
        );
        assert.equal((await s.getAdminByTokenHash('token-zed'))?.role, 'viewer');
        assert.equal(await s.getAdminByTokenHash('token-nobody'), undefined);
        assert.deepEqual(
          (await s.listAdmins()).map((a) => a.name),
          ['amy', 'zed'],
        );
      }),
    );

    it(
      'refuses an admin with a taken name or token hash',
      run(async (s) => {
        await s.insertAdmin(admin('amy'));
        await assert.rejects(s.insertAdmin(admin('amy', { tokenHash: 'token-other' })));
        await assert.rejects(s.insertAdmin(admin('bob', { tokenHash: 'token-amy' })));
        assert.equal((await s.getAdminByTokenHash('token-amy'))?.name, 'amy');
        assert.equal((await s.listAdmins()).length, 1);
      }),
    );

    it(
      'confirms a pending admin once, and never an active or unknown one',
      run(async (s) => {
        await s.insertAdmin(admin('amy'));
        await s.insertAdmin(admin('bob', { status: 'pending' }));
        assert.equal((await s.getAdminByTokenHash('token-bob'))?.status, 'pending');
        assert.equal(await s.confirmAdmin('amy', 'root', '2024-01-02T00:00:00.000Z'), false);
        assert.equal(await s.confirmAdmin('nobody', 'amy', '2024-01-02T00:00:00.000Z'), false);
        assert.equal(await s.confirmAdmin('bob', 'amy', '2024-01-02T00:00:00.000Z'), true);
        const bob = await s.getAdminByTokenHash('token-bob');
        assert.deepEqual(
          { status: bob?.status, confirmedBy: bob?.confirmedBy, confirmedAt: bob?.confirmedAt },
          { status: 'active', confirmedBy: 'amy', confirmedAt: '2024-01-02T00:00:00.000Z' },
        );
        assert.equal(await s.confirmAdmin('bob', 'zed', '2024-01-03T00:00:00.000Z'), false);
        assert.equal((await s.getAdminByTokenHash('token-bob'))?.confirmedBy, 'amy');
      }),
    );

    it(
      'deletes an admin once',
      run(async (s) => {
        await s.insertAdmin(admin('amy'));
        assert.equal(await s.deleteAdmin('amy'), true);
        assert.equal(await s.getAdminByTokenHash('token-amy'), undefined);
        assert.equal(await s.deleteAdmin('amy'), false);
      }),
    );
  });
}
