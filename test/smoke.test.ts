import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { accessLine } from './helpers/access-log.js';
import { call, minimalConfig, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

describe('the minimal config of the issue, through the real gateway', () => {
  let up: Upstream;
  let gw: TestGateway;
  before(async () => {
    up = await startUpstream();
    gw = await startGateway({
      ...minimalConfig(up.url),
      policies: [
        {
          name: 'ip-restriction',
          scope: { route: 'hello' },
          mode: 'enforce',
          config: { deny: ['10.0.0.0/8'] },
        },
      ],
    });
  });
  after(async () => {
    await gw.stop();
    await up.close();
  });

  it('reaches the upstream on the prefix and its sub-paths, with the query', async () => {
    for (const path of ['/hello', '/hello/', '/hello/a/b?x=1&y=2']) {
      const r = await call(`${gw.url}${path}`);
      assert.equal(r.status, 200, path);
      assert.equal(r.json.url, path);
    }
  });

  it('answers 404 with the JSON error body off the prefix', async () => {
    const r = await call(`${gw.url}/helloworld`);
    assert.equal(r.status, 404);
    assert.equal(r.json.error.code, 'PCS_ERR_ROUTE_NOT_FOUND');
    assert.equal(r.json.error.request_id, r.headers['x-request-id']);
  });

  it('writes one access log line per request naming revision and decisions', async () => {
    await call(`${gw.url}/hello/log`, { headers: { 'x-request-id': 'trace-123' } });
    const line = await accessLine(gw.access, 'trace-123');
    assert.equal(line.route, 'hello');
    assert.equal(line.status, 200);
    assert.equal(line.revision, gw.gw.revisions.active?.id);
    assert.deepEqual(
      (line.decisions as { policy: string; outcome: string }[]).map((d) => [d.policy, d.outcome]),
      [['ip-restriction', 'allow']],
    );
  });
});
