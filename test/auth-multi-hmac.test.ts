import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../src/core/clock.js';
import { accessLineOf } from './helpers/access-log.js';
import { adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

const T0 = Date.parse('2026-11-22T10:00:00Z');

function hmacHeaders(keyId: string, secret: string, target: string, nonce: string): Record<string, string> {
  const date = new Date(T0).toUTCString();
  const digest = createHash('sha256').update('').digest('base64');
  const text = `GET\n${target}\n${date}\n${nonce}\n${digest}`;
  const signature = createHmac('sha256', secret).update(text).digest('base64');
  return {
    'x-date': date,
    authorization: `HMAC keyId="${keyId}", algorithm="hmac-sha256", nonce="${nonce}", signature="${signature}"`,
  };
}

describe('multi-auth with hmac-auth beside key-auth', () => {
  let up: Upstream;
  let g: TestGateway;
  let key: string;
  let keyId: string;
  let secret: string;
  before(async () => {
    up = await startUpstream();
    g = await startGateway(
      {
        services: [{ name: 'echo', targets: [{ url: up.url }] }],
        routes: [{ name: 'api', service: 'echo', paths: ['/api'] }],
        policies: [
          {
            name: 'multi-auth',
            config: {
              methods: [
                { policy: 'key-auth', config: {} },
                { policy: 'hmac-auth', config: {} },
              ],
            },
          },
        ],
      },
      { clock: new ManualClock(T0) },
    );
    assert.equal((await adminCall(g, 'POST', '/consumers', { name: 'alice' })).status, 201);
    key = (await adminCall(g, 'POST', '/consumers/alice/credentials', { kind: 'key-auth' })).json.key;
    const h = await adminCall(g, 'POST', '/consumers/alice/credentials', { kind: 'hmac-auth' });
    keyId = h.json.keyId;
    secret = h.json.secret;
  });
  after(async () => {
    await g.stop();
    await up.close();
  });

  it('accepts either method, and names the one that decided', async () => {
    assert.equal((await call(`${g.url}/api/a`, { headers: { 'x-api-key': key } })).status, 200);
    const signed = await call(`${g.url}/api/b`, { headers: hmacHeaders(keyId, secret, '/api/b', 'n-1') });
    assert.equal(signed.status, 200, signed.text);
    const line = await accessLineOf(g.access, signed);
    assert.equal(line.consumer, 'alice');
  });

  it('refuses a bad signature with every method challenged, and a replayed one', async () => {
    const bad = await call(`${g.url}/api/c`, {
      headers: hmacHeaders(keyId, 'wrong-secret', '/api/c', 'n-2'),
    });
    assert.equal(bad.status, 401);
    const challenge = String(bad.headers['www-authenticate']);
    assert.match(challenge, /HMAC realm=/);
    const once = hmacHeaders(keyId, secret, '/api/d', 'n-3');
    assert.equal((await call(`${g.url}/api/d`, { headers: once })).status, 200);
    assert.equal((await call(`${g.url}/api/d`, { headers: once })).status, 401);
  });
});
