import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Config } from '../../src/config/schema.js';
import type { Proposal, RevisionRecord, RevisionStore } from '../../src/store/revision-store.js';
import { type MakeStore, withStore } from './harness.js';

const config = (n: number) => ({ services: [{ name: `s${n}` }], routes: [] }) as unknown as Config;

function revision(n: number, parent: number | null = null): Omit<RevisionRecord, 'id'> {
  return {
    hash: `hash-${n}`,
    parent,
    author: `author-${n}`,
    message: `message ${n}`,
    createdAt: new Date(Date.UTC(2024, 0, 1, 0, 0, n)).toISOString(),
    config: config(n),
  };
}

function proposal(n: number, over: Partial<Proposal> = {}): Omit<Proposal, 'id'> {
  return {
    createdAt: new Date(Date.UTC(2024, 0, 1, 0, 0, n)).toISOString(),
    author: 'alice',
    message: `proposal ${n}`,
    config: { n, nested: { list: [1, 'two'] } },
    baseHash: `base-${n}`,
    hash: `cand-${n}`,
    status: 'pending',
    activateAt: null,
    decidedBy: null,
    decidedAt: null,
    reason: null,
    revisionId: null,
    canary: null,
    ...over,
  };
}

/** What every RevisionStore backend must do: revisions, the active pointer, state, proposals. */
export function revisionStoreContract(name: string, make: MakeStore<RevisionStore>): void {
  const run = (fn: (s: RevisionStore) => Promise<void>) => () => withStore(make, fn);

  describe(`RevisionStore contract: ${name}`, () => {
    it(
      'inserts revisions with increasing ids and reads them back whole',
      run(async (s) => {
        const a = await s.insertRevision(revision(1));
        const b = await s.insertRevision(revision(2, a));
        assert.ok(b > a, 'ids grow');
        assert.deepEqual(await s.getRevision(b), { id: b, ...revision(2, a) });
        assert.deepEqual((await s.getRevision(a))?.config, config(1));
      }),
    );

    it(
      'answers undefined for an unknown revision',
      run(async (s) => {
        assert.equal(await s.getRevision(1), undefined);
        const id = await s.insertRevision(revision(1));
        assert.equal(await s.getRevision(id + 1000), undefined);
      }),
    );

    it(
      'lists revision metadata newest first, without config, paged by beforeId and limit',
      run(async (s) => {
        assert.deepEqual(await s.listRevisions(), []);
        const ids: number[] = [];
        for (let i = 1; i <= 5; i++) ids.push(await s.insertRevision(revision(i)));
        const all = await s.listRevisions();
        assert.deepEqual(
          all.map((r) => r.id),
          [...ids].reverse(),
        );
        assert.equal('config' in all[0], false, 'metadata only');
        const { config: _, ...meta } = revision(5);
        assert.deepEqual(all[0], { id: ids[4], ...meta });
        assert.deepEqual(
          (await s.listRevisions({ limit: 2 })).map((r) => r.id),
          [ids[4], ids[3]],
        );
        assert.deepEqual(
          (await s.listRevisions({ beforeId: ids[2], limit: 10 })).map((r) => r.id),
          [ids[1], ids[0]],
        );
      }),
    );

    it(
      'keeps one active revision pointer, unset until set, replaced on each set',
      run(async (s) => {
        assert.equal(await s.getActiveRevisionId(), undefined);
        const a = await s.insertRevision(revision(1));
        const b = await s.insertRevision(revision(2, a));
        await s.setActiveRevisionId(a);
        assert.equal(await s.getActiveRevisionId(), a);
        await s.setActiveRevisionId(b);
        assert.equal(await s.getActiveRevisionId(), b);
        await s.setActiveRevisionId(a);
        assert.equal(await s.getActiveRevisionId(), a, 'rollback is a pointer move');
        assert.equal((await s.listRevisions()).length, 2, 'activation never adds or removes revisions');
      }),
    );

    it(
      'stores named state: unset is undefined, set overwrites, null deletes',
      run(async (s) => {
        assert.equal(await s.getState('canary'), undefined);
        await s.setState('canary', '{"a":1}');
        await s.setState('other', 'x');
        assert.equal(await s.getState('canary'), '{"a":1}');
        await s.setState('canary', '{"a":2}');
        assert.equal(await s.getState('canary'), '{"a":2}');
        await s.setState('canary', null);
        assert.equal(await s.getState('canary'), undefined);
        assert.equal(await s.getState('other'), 'x', 'other keys untouched');
        await s.setState('never-set', null);
        assert.equal(await s.getState('never-set'), undefined);
      }),
    );

    it(
      'keeps lifecycle state apart from the active pointer',
      run(async (s) => {
        const a = await s.insertRevision(revision(1));
        await s.setActiveRevisionId(a);
        await s.setState('canary', 'c');
        await s.setState('canary', null);
        assert.equal(await s.getActiveRevisionId(), a);
      }),
    );

    it(
      'inserts proposals and reads them back whole, canary included',
      run(async (s) => {
        const p = await s.insertProposal(proposal(1));
        assert.equal(typeof p.id, 'number');
        assert.deepEqual(p, { id: p.id, ...proposal(1) });
        assert.deepEqual(await s.getProposal(p.id), p);
        const canary = { percent: 10, groups: ['beta'] };
        const q = await s.insertProposal(proposal(2, { canary, activateAt: '2024-02-01T00:00:00.000Z' }));
        assert.ok(q.id > p.id, 'ids grow');
        assert.deepEqual(await s.getProposal(q.id), {
          id: q.id,
          ...proposal(2, { canary, activateAt: '2024-02-01T00:00:00.000Z' }),
        });
        assert.equal(await s.getProposal(q.id + 1000), undefined);
      }),
    );

    it(
      'lists proposals newest first, by status, up to a limit',
      run(async (s) => {
        assert.deepEqual(await s.listProposals(), []);
        const a = await s.insertProposal(proposal(1));
        const b = await s.insertProposal(proposal(2, { status: 'scheduled' }));
        const c = await s.insertProposal(proposal(3));
        assert.deepEqual(
          (await s.listProposals()).map((p) => p.id),
          [c.id, b.id, a.id],
        );
        assert.deepEqual(
          (await s.listProposals({ status: 'pending' })).map((p) => p.id),
          [c.id, a.id],
        );
        assert.deepEqual(
          (await s.listProposals({ status: 'scheduled' })).map((p) => p.id),
          [b.id],
        );
        assert.deepEqual(await s.listProposals({ status: 'applied' }), []);
        assert.deepEqual(
          (await s.listProposals({ limit: 1 })).map((p) => p.id),
          [c.id],
        );
      }),
    );

    it(
      'updates a proposal only from an expected status, and only its decision fields',
      run(async (s) => {
        const p = await s.insertProposal(proposal(1));
        assert.equal(await s.updateProposal(p.id, ['scheduled'], { status: 'approved' }), false);
        assert.equal((await s.getProposal(p.id))?.status, 'pending', 'a refused update changes nothing');
        const change = {
          status: 'applied' as const,
          decidedBy: 'bob',
          decidedAt: '2024-01-02T00:00:00.000Z',
          reason: 'ok',
          revisionId: 7,
          activateAt: '2024-01-03T00:00:00.000Z',
        };
        assert.equal(await s.updateProposal(p.id, ['pending', 'scheduled'], change), true);
        assert.deepEqual(await s.getProposal(p.id), { ...p, ...change });
        // Fields outside the decision are not changed by an update.
        await s.updateProposal(p.id, ['applied'], { hash: 'forged', author: 'mallory' });
        const after = await s.getProposal(p.id);
        assert.equal(after?.hash, p.hash);
        assert.equal(after?.author, p.author);
        assert.equal(await s.updateProposal(p.id + 1000, ['pending'], { status: 'rejected' }), false);
      }),
    );

    it(
      'clears a decision field set to null',
      run(async (s) => {
        const p = await s.insertProposal(
          proposal(1, { status: 'scheduled', activateAt: '2024-01-03T00:00:00.000Z' }),
        );
        assert.equal(
          await s.updateProposal(p.id, ['scheduled'], { status: 'pending', activateAt: null }),
          true,
        );
        const q = await s.getProposal(p.id);
        assert.equal(q?.status, 'pending');
        assert.equal(q?.activateAt, null);
      }),
    );

    it(
      'lets exactly one of two concurrent decisions win',
      run(async (s) => {
        const p = await s.insertProposal(proposal(1));
        const results = await Promise.all([
          s.updateProposal(p.id, ['pending'], { status: 'approved', decidedBy: 'bob' }),
          s.updateProposal(p.id, ['pending'], { status: 'rejected', decidedBy: 'carol' }),
        ]);
        assert.deepEqual(
          results.filter(Boolean).length,
          1,
          `one decision wins, got ${JSON.stringify(results)}`,
        );
        const after = await s.getProposal(p.id);
        const winner = results[0]
          ? { status: 'approved', decidedBy: 'bob' }
          : { status: 'rejected', decidedBy: 'carol' };
        assert.equal(after?.status, winner.status);
        assert.equal(after?.decidedBy, winner.decidedBy, 'the winner wrote every field of its change');
      }),
    );
  });
}
