import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

/**
 * Sends `head` and keeps the connection open; resolves with what the gateway answered when it
 * closes the connection. Node checks client timeouts on an interval, so on a loaded machine the
 * 408 can come seconds late: the test waits for the close, not for a window. The safety timer only
 * keeps a gateway that never answers from hanging the run (the assertion then shows what came).
 */
function slowClient(port: number, head: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => s.write(head));
    const safety = setTimeout(() => s.destroy(), 120_000);
    let got = '';
    s.on('data', (d) => {
      got += d.toString();
    });
    const done = () => {
      clearTimeout(safety);
      resolve(got);
    };
    s.on('close', done);
    s.on('error', done);
  });
}

describe('client timeouts from config, and per-route upstream timeouts', () => {
  let up: Upstream;
  let gw: TestGateway;
  let port: number;
  const config = (clientTimeouts?: object) => ({
    services: [{ name: 'api', targets: [{ url: up.url }], timeouts: { readMs: 5000 } }],
    routes: [
      { name: 'quick', service: 'api', paths: ['/quick'], timeouts: { readMs: 100 } },
      { name: 'slow-ok', service: 'api', paths: ['/report'] },
    ],
    gateway: clientTimeouts ? { clientTimeouts } : undefined,
  });
  before(async () => {
    up = await startUpstream((_req, res) => setTimeout(() => res.end('late'), 400));
    gw = await startGateway(config());
    port = Number(new URL(gw.url).port);
  });
  after(async () => {
    await gw.stop();
    await up.close();
  });

  it('a route timeout overrides the service timeout', async () => {
    const quick = await call(`${gw.url}/quick`);
    assert.equal(quick.status, 504);
    assert.equal(quick.json.error.code, 'PCS_ERR_UPSTREAM_TIMEOUT');
    const report = await call(`${gw.url}/report`);
    assert.equal(report.status, 200);
    assert.equal(report.text, 'late');
  });

  it('cuts a slowloris client at headersMs, applied by a new revision without restart', async () => {
    const r = await adminCall(gw, 'POST', '/config', config({ headersMs: 300, requestMs: 2000 }));
    assert.equal(r.status, 201);
    const answer = await slowClient(port, 'GET /report HTTP/1.1\r\nHost: x\r\nX-Slow: 1');
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.match(answer, /PCS_ERR_REQUEST_TIMEOUT/);
  });

  it('cuts a slow POST at requestMs', async () => {
    const r = await adminCall(gw, 'POST', '/config', config({ headersMs: 2000, requestMs: 500 }));
    assert.equal(r.status, 201);
    const answer = await slowClient(
      port,
      'POST /report HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc',
    );
    assert.match(answer, /^HTTP\/1\.1 408 /);
    const m = await adminCall(gw, 'GET', '/metrics');
    assert.match(m.text, /portcullis_client_errors_total\{kind="timeout"\} [1-9]/);
  });
});
