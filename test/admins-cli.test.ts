import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from './helpers/cli.js';
import { adminCall, startGateway, type TestGateway } from './helpers/gateway.js';

// Issue 11: `portcullis admins add bob` made a viewer, who then could not approve the proposal
// he had been added for. The CLI now asks for the role and says what each may do.
describe('cli: add a second admin who approves a proposal', () => {
  let g: TestGateway;
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-admins-cli-'));
  before(async () => {
    g = await startGateway({ services: [], routes: [], policies: [] });
  });
  after(() => g.stop());

  it('admins add without --role creates nothing and says what each role may do', async () => {
    const r = await runCli(g.admin, ['admins', 'add', 'bob']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /give --role/);
    assert.match(r.stderr, /--role admin .*approve the proposals of other admins/);
    assert.match(r.stderr, /--role viewer .*read only/);
    const odd = await runCli(g.admin, ['admins', 'add', 'bob', '--role', 'toString']);
    assert.equal(odd.code, 1);
    assert.deepEqual(
      (await adminCall(g, 'GET', '/admins')).json.admins.map((a: { name: string }) => a.name),
      ['root'],
    );
  });

  it('admins add bob --role admin, then bob approves what root proposed', async () => {
    const add = await runCli(g.admin, ['admins', 'add', 'bob', '--role', 'admin']);
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /^admin bob \(admin: may change config, approve the proposals of other admins/);
    const token = /token \(shown once\): (\S+)/.exec(add.stdout)?.[1];
    assert.ok(token);

    const file = join(dir, 'candidate.yaml');
    writeFileSync(
      file,
      'services: []\nroutes: []\npolicies: []\ngateway: { trustedProxies: ["127.0.0.1/32"] }\n',
    );
    const create = await runCli(g.admin, ['proposals', 'create', file, '-m', 'trust the local proxy']);
    assert.equal(create.code, 0, create.stderr);
    const id = /^proposal (\d+) pending/.exec(create.stdout)?.[1];
    assert.ok(id, create.stdout);

    const approve = await runCli(g.admin, ['proposals', 'approve', id], { PORTCULLIS_ADMIN_TOKEN: token });
    assert.equal(approve.code, 0, approve.stderr);
    assert.match(approve.stdout, /applied .*by bob/);
    assert.equal(g.gw.revisions.active?.id, 2);
  });
});
