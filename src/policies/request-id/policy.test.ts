import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import {
  adminCall,
  call,
  minimalConfig,
  startGateway,
  type TestGateway,
} from '../../../test/helpers/gateway.js';
import { testContext } from '../../../test/helpers/policy-context.js';
import { startUpstream, type Upstream } from '../../../test/helpers/upstream.js';
import { validator } from '../../config/ajv.js';
import { ManualClock } from '../../core/clock.js';
import type { PolicyDeps, PolicyFn } from '../../core/policy.js';
import { requestId } from './policy.js';
import { RequestIdSchema } from './schema.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const valid = validator(RequestIdSchema);

function make(config: Record<string, unknown>): PolicyFn {
  const c = structuredClone(config);
  assert.equal(valid(c), true);
  const deps = {
    logger: pino({ level: 'silent' }),
    clock: new ManualClock(),
    gateway: { trustedProxies: [] },
  };
  const h = requestId.create(c as never, deps as unknown as PolicyDeps);
  assert.ok(h.request);
  return h.request;
}

/** Runs the policy on a request the gateway already gave the id `gw-id`. */
function run(fn: PolicyFn, headers: IncomingHttpHeaders) {
  const upstream: Record<string, string | string[] | undefined> = { 'x-request-id': 'gw-id' };
  const c = testContext({ id: 'gw-id', headers }, 'request-id', upstream);
  assert.equal(fn(c), undefined);
  return { id: c.requestId, echo: c.echoRequestId, upstream, response: { ...c.responseHeaders } };
}

describe('request-id: schema', () => {
  it('fills the defaults', () => {
    const c = {};
    assert.equal(valid(c), true);
    assert.deepEqual(c, { header: 'x-request-id', trustIncoming: true, echo: true });
  });

  it('refuses header names with other characters, and unknown keys', () => {
    assert.equal(valid({ header: 'X-Correlation-Id' }), true);
    assert.equal(valid({ header: 'x request id' }), false);
    assert.equal(valid({ header: 'x_id' }), false);
    assert.equal(valid({ header: '' }), false);
    assert.equal(valid({ trustIncoming: 'no' }), false);
    assert.equal(valid({ generator: 'uuid' }), false);
  });
});

describe('request-id: behaviour', () => {
  it('keeps the gateway id by default', () => {
    assert.deepEqual(run(make({}), { 'x-request-id': 'gw-id' }), {
      id: 'gw-id',
      echo: true,
      upstream: { 'x-request-id': 'gw-id' },
      response: { 'x-request-id': 'gw-id' },
    });
  });

  it('takes the id from a custom header and sends it on in both headers', () => {
    const r = run(make({ header: 'X-Correlation-Id' }), { 'x-correlation-id': 'corr-42' });
    assert.equal(r.id, 'corr-42');
    assert.deepEqual(r.upstream, { 'x-request-id': 'corr-42', 'x-correlation-id': 'corr-42' });
    assert.deepEqual(r.response, { 'x-correlation-id': 'corr-42' });
  });

  it('generates an id when the custom header is absent or unacceptable', () => {
    for (const v of [undefined, 'has space', 'x'.repeat(201)]) {
      const r = run(make({ header: 'x-correlation-id' }), v === undefined ? {} : { 'x-correlation-id': v });
      assert.match(r.id, UUID, String(v));
      assert.equal(r.upstream['x-correlation-id'], r.id);
    }
  });

  it('regenerates the id when trustIncoming is false', () => {
    const r = run(make({ trustIncoming: false }), { 'x-request-id': 'gw-id' });
    assert.match(r.id, UUID);
    assert.equal(r.upstream['x-request-id'], r.id);
    assert.equal(r.response['x-request-id'], r.id);
  });

  it('stops the echo when echo is false', () => {
    const r = run(make({ echo: false }), {});
    assert.equal(r.echo, false);
    assert.deepEqual(r.response, {});
    assert.equal(r.upstream['x-request-id'], 'gw-id');
  });
});

describe('request-id: through the gateway', () => {
  let up: Upstream;
  let t: TestGateway;

  before(async () => {
    up = await startUpstream();
    t = await startGateway(minimalConfig(up.url));
  });
  after(async () => {
    await t.stop();
    await up.close();
  });

  async function apply(config: Record<string, unknown>, extra: unknown[] = []): Promise<void> {
    const r = await adminCall(
      t,
      'POST',
      '/config',
      minimalConfig(up.url, { policies: [{ name: 'request-id', config }, ...extra] }),
    );
    assert.ok(r.status === 201 || r.status === 200, r.text);
  }

  it('propagates a custom header to the upstream, the client and the access log', async () => {
    await apply({ header: 'X-Correlation-Id' });
    const r = await call(`${t.url}/hello`, { headers: { 'x-correlation-id': 'corr-1' } });
    assert.equal(r.status, 200);
    assert.equal(r.json.headers['x-correlation-id'], 'corr-1');
    assert.equal(r.json.headers['x-request-id'], 'corr-1');
    assert.equal(r.headers['x-correlation-id'], 'corr-1');
    assert.equal(r.headers['x-request-id'], 'corr-1');
    assert.ok(await accessLine(t, 'corr-1'));
  });

  it('ignores a client-chosen id with trustIncoming false', async () => {
    await apply({ trustIncoming: false });
    const r = await call(`${t.url}/hello`, { headers: { 'x-request-id': 'chosen-by-client' } });
    assert.equal(r.status, 200);
    const id = r.headers['x-request-id'] as string;
    assert.match(id, UUID);
    assert.equal(r.json.headers['x-request-id'], id);
    const line = await accessLine(t, id);
    assert.equal(line.path, '/hello');
    assert.ok(!t.access.lines.some((l) => l.request_id === 'chosen-by-client'));
  });

  it('does not echo the id with echo false, also on errors', async () => {
    await apply({ echo: false }, [
      { name: 'ip-restriction', id: 'block', config: { deny: ['0.0.0.0/0'] }, mode: 'off' },
    ]);
    const r = await call(`${t.url}/hello`, { headers: { 'x-request-id': 'quiet-1' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-request-id'], undefined);
    assert.equal(r.json.headers['x-request-id'], 'quiet-1', 'the upstream still gets it');

    await apply({ echo: false }, [{ name: 'ip-restriction', config: { deny: ['0.0.0.0/0'] } }]);
    const denied = await call(`${t.url}/hello`, { headers: { 'x-request-id': 'quiet-2' } });
    assert.equal(denied.status, 403);
    assert.equal(denied.headers['x-request-id'], undefined);
    assert.equal(denied.json.error.request_id, 'quiet-2', 'the error body still names it');
  });
});

async function accessLine(t: TestGateway, id: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 100; i++) {
    const line = t.access.lines.find((l) => l.request_id === id);
    if (line) return line;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no access log line for ${id}`);
}
