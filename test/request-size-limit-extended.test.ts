import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { accessLineOf } from './helpers/access-log.js';
import { call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

describe('request-size-limit: headers, query and JSON structure through the gateway', () => {
  let up: Upstream;
  let gw: TestGateway;
  before(async () => {
    up = await startUpstream();
    gw = await startGateway({
      services: [{ name: 'api', targets: [{ url: up.url }] }],
      routes: [{ name: 'r', service: 'api', paths: ['/'] }],
      policies: [
        {
          name: 'request-size-limit',
          config: {
            maxBodyBytes: 65536,
            maxHeaderCount: 12,
            maxHeaderBytes: 2048,
            maxQueryLength: 64,
            json: { maxDepth: 4, maxArrayLength: 100, maxObjectKeys: 20 },
          },
        },
      ],
    });
  });
  after(async () => {
    await gw.stop();
    await up.close();
  });

  const post = (body: string, type = 'application/json') =>
    call(`${gw.url}/orders`, { method: 'POST', headers: { 'content-type': type }, body });

  it('refuses too many header lines, counting repeats, and too many header bytes, with 431', async () => {
    const many: Record<string, string> = {};
    for (let i = 0; i < 12; i++) many[`x-h${i}`] = 'v';
    const r = await call(`${gw.url}/x`, { headers: many });
    assert.equal(r.status, 431);
    assert.equal(r.json.error.code, 'PCS_ERR_HEADERS_TOO_LARGE');
    const big = await call(`${gw.url}/x`, { headers: { 'x-big': 'a'.repeat(2100) } });
    assert.equal(big.status, 431);
    assert.equal((await call(`${gw.url}/x`, { headers: { 'x-ok': 'a'.repeat(500) } })).status, 200);
  });

  it('refuses a long query with 414 and passes a short one', async () => {
    assert.equal((await call(`${gw.url}/x?q=${'a'.repeat(70)}`)).status, 414);
    assert.equal((await call(`${gw.url}/x?q=${'a'.repeat(40)}`)).status, 200);
  });

  it('refuses JSON nested too deep, arrays too long and objects too wide with 400, naming the limit', async () => {
    const deep = await post('{"a":{"b":{"c":{"d":{"e":1}}}}}');
    assert.equal(deep.status, 400);
    assert.equal(deep.json.error.code, 'PCS_ERR_JSON_TOO_COMPLEX');
    const long = await post(JSON.stringify({ items: Array.from({ length: 101 }, (_, i) => i) }));
    assert.equal(long.status, 400);
    const wide = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, i]));
    const tooWide = await post(JSON.stringify(wide));
    assert.equal(tooWide.status, 400);
    const lines = [];
    for (const r of [deep, long, tooWide]) lines.push(await accessLineOf(gw.access, r));
    const rules = lines
      .filter((l) => l.status === 400)
      .map(
        (l) => (l.decisions as { outcome: string; rule: string }[]).find((d) => d.outcome === 'deny')?.rule,
      );
    assert.deepEqual(rules, ['json:depth>4', 'json:array>100', 'json:keys>20']);
  });

  it('passes JSON within the limits to the upstream byte for byte, and does not scan other types', async () => {
    // A big integer written as JSON text: it must reach the upstream exactly, digit for digit.
    const body = '{"name":"O\'Brien","tags":["a","b"],"n":12345678901234567890,"nested":{"x":[1,{"y":2}]}}';
    const r = await post(body);
    assert.equal(r.status, 200);
    assert.equal(r.json.body, body);
    const text = await post('{"a":{"b":{"c":{"d":{"e":1}}}}}', 'text/plain');
    assert.equal(text.status, 200);
    const vendor = await post('{"a":{"b":{"c":{"d":{"e":1}}}}}', 'application/vnd.api+json; charset=utf-8');
    assert.equal(vendor.status, 400);
  });
});
