import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

// Regression: a route limited to `methods: [POST]` answered a browser's CORS preflight
// (OPTIONS) with 404, because the router matched on OPTIONS and the cors policy never ran.
describe('CORS preflight on a method-restricted route', () => {
  let up: Upstream;
  let gw: TestGateway;
  before(async () => {
    up = await startUpstream();
    gw = await startGateway({
      services: [{ name: 'api', targets: [{ url: up.url }] }],
      routes: [{ name: 'orders', service: 'api', paths: ['/orders'], methods: ['POST'] }],
      policies: [
        { name: 'cors', scope: { route: 'orders' }, config: { origins: ['https://app.example.com'] } },
      ],
    });
  });
  after(async () => {
    await gw.stop();
    await up.close();
  });

  it('answers the preflight for the asked method at the gateway', async () => {
    const r = await call(`${gw.url}/orders`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
    });
    assert.equal(r.status, 204);
    assert.equal(r.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.equal(up.seen.length, 0);
  });

  it('still refuses a plain OPTIONS and a preflight for a method the route does not take', async () => {
    assert.equal((await call(`${gw.url}/orders`, { method: 'OPTIONS' })).status, 404);
    const r = await call(`${gw.url}/orders`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'DELETE' },
    });
    assert.equal(r.status, 404);
  });

  it('answers revision metadata without the whole config', async () => {
    const list = await adminCall(gw, 'GET', '/revisions');
    const id = list.json.revisions[0].id;
    const rb = await adminCall(gw, 'POST', `/revisions/${id}/rollback`);
    assert.equal(rb.status, 200);
    assert.equal(rb.json.revision.id, id);
    assert.equal(rb.json.revision.config, undefined);
  });
});
