import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../src/core/clock.js';
import { accessLine, accessLineOf } from './helpers/access-log.js';
import { adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

const T0 = Date.parse('2025-03-03T09:30:00Z');

/** A loopback stand-in for OPA's data API: answers by the path the gateway asks about. */
async function startFakeOpa() {
  const inputs: { url: string; auth?: string; input: any }[] = [];
  let mode: 'normal' | 'slow' | 'error' | 'garbage' = 'normal';
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const { input } = JSON.parse(body);
      inputs.push({ url: req.url ?? '', auth: req.headers.authorization, input });
      const send = (status: number, v: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(typeof v === 'string' ? v : JSON.stringify(v));
      };
      if (mode === 'slow') return void setTimeout(() => send(200, { result: true }), 500);
      if (mode === 'error') return send(500, { code: 'internal_error' });
      if (mode === 'garbage') return send(200, { result: 'yes' });
      const groups: string[] = input.consumer?.groups ?? [];
      if (req.url === '/v1/data/http/allow') return send(200, { result: groups.includes('staff') });
      if (req.url === '/v1/data/http/decision')
        return send(200, {
          result: { allow: input.request.method === 'GET', reason: `method ${input.request.method}` },
        });
      return send(200, {}); // an undefined rule
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    inputs,
    setMode: (m: typeof mode) => {
      mode = m;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('opa through the gateway', () => {
  let up: Upstream;
  let g: TestGateway;
  let opa: Awaited<ReturnType<typeof startFakeOpa>>;
  const clock = new ManualClock(T0);
  const keys: Record<string, string> = {};

  const routes = ['allow', 'decision', 'undefined', 'closed', 'open', 'shadow'];
  function config() {
    const opaPolicy = (route: string, extra: object = {}, mode = 'enforce') => ({
      name: 'opa',
      scope: { route },
      mode,
      config: {
        url: `${opa.url}/v1/data/http/${route === 'closed' || route === 'open' ? 'allow' : route}`,
        ...extra,
      },
    });
    return {
      services: [{ name: 'echo', targets: [{ url: up.url }] }],
      routes: routes.map((r) => ({ name: r, service: 'echo', paths: [`/${r}`] })),
      policies: [
        { name: 'key-auth', config: {} },
        opaPolicy('allow', { headers: ['x-tenant'], token: 'opa-secret' }),
        opaPolicy('decision', { cache: { ttlMs: 0 } }),
        opaPolicy('undefined'),
        opaPolicy('closed', { timeoutMs: 100, cache: { ttlMs: 0 } }),
        opaPolicy('open', { timeoutMs: 100, failOpen: true, cache: { ttlMs: 0 } }),
        { ...opaPolicy('shadow'), config: { url: `${opa.url}/v1/data/http/allow` }, mode: 'shadow' },
      ],
    };
  }

  let seq = 0;
  let lastId = '';
  const as = (who: string, path: string, method = 'GET', headers: Record<string, string> = {}) => {
    lastId = `opa-${++seq}`;
    return call(`${g.url}${path}`, {
      method,
      headers: { 'x-api-key': keys[who], ...headers, 'x-request-id': lastId },
    });
  };

  /** The opa decision of the last request `as` sent (to `path`), from that request's access-log line. */
  async function decision(path: string) {
    const line = await accessLine(g.access, lastId);
    assert.equal(line.path, path);
    const d = (line.decisions as any[] | undefined)?.find((x) => x.policy === 'opa');
    assert.ok(d, `no opa decision for ${path}`);
    return d as { outcome: string; rule?: string; code?: string };
  }

  before(async () => {
    up = await startUpstream();
    opa = await startFakeOpa();
    g = await startGateway(config(), { clock });
    for (const [name, groups] of [
      ['alice', ['staff']],
      ['bob', ['guests']],
    ] as const) {
      assert.equal((await adminCall(g, 'POST', '/consumers', { name, groups })).status, 201);
      keys[name] = (
        await adminCall(g, 'POST', `/consumers/${name}/credentials`, { kind: 'key-auth' })
      ).json.key;
    }
  });
  after(async () => {
    await g.stop();
    await opa.close();
    await up.close();
  });

  it('sends the request attributes as input and follows a boolean result', async () => {
    const before = opa.inputs.length;
    const r = await as('alice', '/allow?page=2&page=3', 'GET', { 'x-tenant': 'acme', 'x-other': 'no' });
    assert.equal(r.status, 200);
    assert.equal((await decision('/allow')).rule, 'opa:allow');
    const sent = opa.inputs[before];
    assert.equal(sent.url, '/v1/data/http/allow');
    assert.equal(sent.auth, 'Bearer opa-secret');
    assert.deepEqual(sent.input.request.query, { page: ['2', '3'] });
    assert.deepEqual(sent.input.request.headers, { 'x-tenant': 'acme' });
    assert.equal(sent.input.request.method, 'GET');
    assert.equal(sent.input.request.path, '/allow');
    assert.equal(sent.input.consumer.name, 'alice');
    assert.deepEqual(sent.input.consumer.groups, ['staff']);
    assert.equal(sent.input.identity.method, 'key-auth');
    assert.equal(sent.input.client.ip, '127.0.0.1');

    const denied = await as('bob', '/allow');
    assert.equal(denied.status, 403);
    assert.equal(denied.json.error.code, 'PCS_ERR_OPA_DENIED');
    assert.equal((await decision('/allow')).rule, 'opa:deny');
  });

  it('caches decisions by input until the TTL runs out', async () => {
    const n = opa.inputs.length;
    for (let i = 0; i < 3; i++)
      assert.equal((await as('alice', '/allow', 'GET', { 'x-tenant': 'cached' })).status, 200);
    assert.equal(opa.inputs.length, n + 1);
    assert.equal((await as('alice', '/allow', 'GET', { 'x-tenant': 'other' })).status, 200);
    assert.equal(opa.inputs.length, n + 2, 'another input is another entry');
    clock.advance(5001);
    assert.equal((await as('alice', '/allow', 'GET', { 'x-tenant': 'cached' })).status, 200);
    assert.equal(opa.inputs.length, n + 3);
  });

  it('reads { result: { allow, reason } } and treats an undefined result as deny', async () => {
    assert.equal((await as('bob', '/decision')).status, 200);
    const post = await as('bob', '/decision', 'POST');
    assert.equal(post.status, 403);
    assert.equal(post.json.error.code, 'PCS_ERR_OPA_DENIED');
    const line = await accessLineOf(g.access, post);
    assert.equal(line.detail, 'opa: method POST');
    const u = await as('alice', '/undefined');
    assert.equal(u.status, 403);
    assert.equal((await decision('/undefined')).rule, 'opa:undefined');
  });

  it('fails closed with 503, or open, when the engine is slow, broken or answers nonsense', async () => {
    try {
      for (const m of ['slow', 'error', 'garbage'] as const) {
        opa.setMode(m);
        const closed = await as('alice', '/closed');
        assert.equal(closed.status, 503, m);
        assert.equal(closed.json.error.code, 'PCS_ERR_AUTHZ_UNAVAILABLE');
        assert.equal((await decision('/closed')).rule, 'opa:unavailable');
        assert.equal((await as('bob', '/open')).status, 200, m);
        assert.equal((await decision('/open')).rule, 'opa:fail_open');
      }
    } finally {
      opa.setMode('normal');
    }
    const metrics = await call(`${g.admin}/metrics`, {
      headers: { authorization: 'Bearer test-admin-token-0123456789' },
    });
    assert.match(metrics.text, /portcullis_opa_errors_total\{action="fail_closed"\} 3/);
    assert.match(metrics.text, /portcullis_opa_errors_total\{action="fail_open"\} 3/);
  });

  it('in shadow records would_deny and lets the request through', async () => {
    assert.equal((await as('bob', '/shadow')).status, 200);
    const d = await decision('/shadow');
    assert.equal(d.outcome, 'would_deny');
    assert.equal(d.code, 'PCS_ERR_OPA_DENIED');
  });
});
