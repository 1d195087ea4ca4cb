import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

// Regression: re-applying an unchanged file after a secret's value changed answered `unchanged`
// and kept serving the old value. It must recompile in place (same revision, `reloaded`).
describe('secret rotation under an unchanged revision', () => {
  let a: Upstream;
  let b: Upstream;
  let gw: TestGateway;
  let secretFile: string;
  const config = (file: string) => ({
    services: [{ name: 'svc', targets: [{ url: `http://127.0.0.1:\${file:${file}}` }] }],
    routes: [{ name: 'r', service: 'svc', paths: ['/'] }],
    policies: [],
  });

  before(async () => {
    a = await startUpstream((_q, res) => res.end('A'));
    b = await startUpstream((_q, res) => res.end('B'));
    gw = await startGateway(undefined);
    secretFile = join(gw.dataDir, 'port');
    writeFileSync(secretFile, String(a.port));
  });
  after(async () => {
    await gw.stop();
    await a.close();
    await b.close();
  });

  it('applies, then reloads with the new value without a new revision', async () => {
    const first = await adminCall(gw, 'POST', '/config', config(secretFile));
    assert.equal(first.status, 201);
    assert.equal((await call(`${gw.url}/x`)).text, 'A');

    const again = await adminCall(gw, 'POST', '/config', config(secretFile));
    assert.equal(again.json.status, 'unchanged');

    writeFileSync(secretFile, String(b.port));
    const reload = await adminCall(gw, 'POST', '/config', config(secretFile));
    assert.equal(reload.status, 200);
    assert.equal(reload.json.status, 'reloaded');
    assert.equal(reload.json.revision.id, first.json.revision.id);
    assert.equal((await call(`${gw.url}/x`)).text, 'B');

    const revisions = await adminCall(gw, 'GET', '/revisions');
    assert.equal(revisions.json.revisions.length, 1);
    const audit = await adminCall(gw, 'GET', '/audit');
    const reloadEvent = audit.json.events.find((e: { action: string }) => e.action === 'revision.reload');
    assert.ok(reloadEvent, 'a revision.reload audit event');
  });
});
