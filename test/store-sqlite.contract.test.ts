import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { Config } from '../src/config/schema.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { auditStoreContract } from './contracts/audit-store.contract.js';
import type { MakeStore } from './contracts/harness.js';
import { identityStoreContract } from './contracts/identity-store.contract.js';
import { requestLogStoreContract, requestRecord } from './contracts/request-log-store.contract.js';
import { revisionStoreContract } from './contracts/revision-store.contract.js';

/** A SqliteStore on a fresh file in a temp dir; each contract sees only its own concern's type. */
const sqlite: MakeStore<SqliteStore> = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pcs-store-contract-'));
  const store = new SqliteStore(join(dir, 'portcullis.db'));
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

revisionStoreContract('SqliteStore', sqlite);
identityStoreContract('SqliteStore', sqlite);
auditStoreContract('SqliteStore', sqlite);
requestLogStoreContract('SqliteStore', sqlite);

// The per-concern classes alone, as a backend that wires them one by one would.
revisionStoreContract('SqliteRevisionStore', async () => {
  const m = await sqlite();
  return { store: m.store.revisions, cleanup: m.cleanup };
});
requestLogStoreContract('SqliteRequestLogStore', async () => {
  const m = await sqlite();
  return { store: m.store.requestLog, cleanup: m.cleanup };
});

describe('SqliteStore: how the concerns share the file', () => {
  it('records the active revision hash in an audit event that does not name one', async () => {
    const { store, cleanup } = await sqlite();
    try {
      const none = await store.appendAudit({ actor: 'a', action: 'x', target: 't' });
      assert.equal(none.beforeHash, null);
      const id = await store.insertRevision({
        hash: 'live-hash',
        parent: null,
        author: 'a',
        message: 'm',
        createdAt: new Date(0).toISOString(),
        config: {} as Config,
      });
      await store.setActiveRevisionId(id);
      const e = await store.appendAudit({ actor: 'a', action: 'key.issue', target: 'consumer/acme' });
      assert.equal(e.beforeHash, 'live-hash');
      assert.equal(e.afterHash, 'live-hash');
    } finally {
      await cleanup();
    }
  });

  it('writes the request log on its own connection: a rolled-back config transaction keeps it', async () => {
    const { store, cleanup } = await sqlite();
    try {
      assert.notEqual(store.requestLog.db, store.db, 'two connections');
      assert.equal(store.requestLog.db.name, store.db.name, 'to the same file');
      const abort = store.db.transaction(() => {
        store.db.prepare('SELECT COUNT(*) FROM revisions').get();
        void store.insertRequestLog([requestRecord(1)]);
        void store.insertAiUsage([]);
        throw new Error('config write failed');
      });
      assert.throws(abort, /config write failed/);
      assert.equal(await store.countRequestLog({}), 1, 'the batch committed on its own');
    } finally {
      await cleanup();
    }
  });

  it('keeps request log and config data in portcullis.db across a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pcs-store-contract-'));
    const file = join(dir, 'portcullis.db');
    try {
      const first = new SqliteStore(file);
      await first.insertRequestLog([requestRecord(1), requestRecord(2)]);
      await first.upsertConsumer({ name: 'acme', groups: [], metadata: {} });
      await first.close();
      const raw = new Database(file, { readonly: true });
      assert.equal((raw.prepare('SELECT COUNT(*) AS n FROM request_log').get() as { n: number }).n, 2);
      raw.close();
      const second = new SqliteStore(file);
      assert.equal(await second.countRequestLog({}), 2);
      assert.equal((await second.getConsumer('acme'))?.name, 'acme');
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
