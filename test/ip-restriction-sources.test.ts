import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { accessLineOf } from './helpers/access-log.js';
import { adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { buildCountryMmdb } from './helpers/mmdb.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

/** Polls until `fn` is true, for at most `ms`. */
async function until(fn: () => Promise<boolean>, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('condition not met in time');
}

const base = (upstream: string, policyConfig: object) => ({
  services: [{ name: 'api', targets: [{ url: upstream }] }],
  routes: [{ name: 'r', service: 'api', paths: ['/'] }],
  // The gateway believes X-Forwarded-For from loopback, so tests choose the client address.
  gateway: { trustedProxies: ['127.0.0.1'] },
  policies: [{ name: 'ip-restriction', config: policyConfig }],
});

const from = (gw: TestGateway, ip: string) => call(`${gw.url}/x`, { headers: { 'x-forwarded-for': ip } });

describe('ip-restriction: lists from files', () => {
  let up: Upstream;
  let gw: TestGateway;
  before(async () => {
    up = await startUpstream();
    gw = await startGateway(undefined);
  });
  after(async () => {
    await gw.stop();
    await up.close();
  });

  it('denies from a file, naming the file and CIDR in the rule', async () => {
    const file = join(gw.dataDir, 'deny.txt');
    writeFileSync(file, '# threat list\n198.51.100.0/24   # scanners\n\n2001:db8:bad::/48\n203.0.113.7\n');
    assert.equal((await adminCall(gw, 'POST', '/config', base(up.url, { denyFiles: [file] }))).status, 201);
    const denied = await from(gw, '198.51.100.20');
    assert.equal(denied.status, 403);
    assert.equal((await from(gw, '203.0.113.7')).status, 403);
    assert.equal((await from(gw, '203.0.113.8')).status, 200);
    assert.equal((await from(gw, '2001:db8:bad::1')).status, 403);
    const line = await accessLineOf(gw.access, denied);
    const d = ((line.decisions ?? []) as { rule: string }[])[0];
    assert.equal(d.rule, `deny:${file}:198.51.100.0/24`);
  });

  it('refuses a file with a bad line, naming the line, and a missing file', async () => {
    const file = join(gw.dataDir, 'bad.txt');
    writeFileSync(file, '10.0.0.0/8\nnot-an-ip\n10.0.0.0/33\n');
    const r = await adminCall(gw, 'POST', '/config', base(up.url, { denyFiles: [file] }));
    assert.equal(r.status, 400);
    const issue = r.json.error.issues[0];
    assert.equal(issue.path, '/policies/0/config/denyFiles/0');
    assert.match(issue.message, /line 2 \('not-an-ip'\), 3 \('10\.0\.0\.0\/33'\)/);
    const missing = await adminCall(
      gw,
      'POST',
      '/config',
      base(up.url, { allowFiles: [join(gw.dataDir, 'nope.txt')] }),
    );
    assert.equal(missing.status, 400);
    assert.match(missing.json.error.issues[0].message, /cannot read IP list .*ENOENT/);
  });

  it('holds 100,000 CIDRs and matches by longest prefix', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 100_000; i++) lines.push(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    lines.push('172.16.0.0/12');
    const file = join(gw.dataDir, 'big.txt');
    writeFileSync(file, lines.join('\n'));
    const r = await adminCall(gw, 'POST', '/config', base(up.url, { denyFiles: [file] }));
    assert.equal(r.status, 201);
    assert.equal((await from(gw, '10.1.134.159')).status, 403); // entry 99,999
    assert.equal((await from(gw, '10.1.134.160')).status, 200); // entry 100,000 would be next
    assert.equal((await from(gw, '172.20.1.1')).status, 403);
    assert.equal((await from(gw, '192.0.2.1')).status, 200);
  });
});

describe('ip-restriction: HTTP feeds', () => {
  let up: Upstream;
  let gw: TestGateway;
  let feed: Server;
  let feedUrl: string;
  let body = '';
  let status = 200;
  let hits = 0;
  before(async () => {
    up = await startUpstream();
    feed = createServer((_req, res) => {
      hits++;
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(body);
    });
    await new Promise<void>((r) => feed.listen(0, '127.0.0.1', r));
    feedUrl = `http://127.0.0.1:${(feed.address() as AddressInfo).port}/list.txt`;
    gw = await startGateway(undefined);
  });
  after(async () => {
    await gw.stop();
    await up.close();
    feed.closeAllConnections();
    await new Promise((r) => feed.close(r));
  });

  it('loads, swaps on refresh, and keeps the last good list when the feed fails', async () => {
    body = '192.0.2.0/24\n';
    const cfg = base(up.url, { feeds: [{ url: feedUrl, list: 'allow', refreshSeconds: 0.1 }] });
    assert.equal((await adminCall(gw, 'POST', '/config', cfg)).status, 201);
    await until(async () => (await from(gw, '192.0.2.5')).status === 200);
    assert.equal((await from(gw, '198.51.100.5')).status, 403);

    body = '198.51.100.0/24\n';
    await until(async () => (await from(gw, '198.51.100.5')).status === 200);
    assert.equal((await from(gw, '192.0.2.5')).status, 403);

    status = 500;
    const failures = async () => {
      const m = await adminCall(gw, 'GET', '/metrics');
      const row = m.text.split('\n').find((l) => l.startsWith('portcullis_ip_feed_failures_total{'));
      return row ? Number(row.split(' ')[1]) : 0;
    };
    await until(async () => (await failures()) >= 2);
    assert.equal((await from(gw, '198.51.100.5')).status, 200, 'last good list still applies');
    const warnings = gw.logs.lines.filter((l) => String(l.msg).startsWith('IP feed refresh failed'));
    assert.equal(warnings.length, 1, 'one warning per failure streak');

    status = 200;
    body = 'garbage only\n';
    const before = await failures();
    await until(async () => (await failures()) > before);
    assert.equal((await from(gw, '198.51.100.5')).status, 200, 'a list with no valid entry is a failure too');
  });

  it('stops refreshing once no revision uses the feed', async () => {
    assert.equal(
      (await adminCall(gw, 'POST', '/config', base(up.url, { deny: ['203.0.113.0/24'] }))).status,
      201,
    );
    await new Promise((r) => setTimeout(r, 400)); // drainMs is 100 in tests, refresh 100
    const seen = hits;
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(hits, seen);
  });
});

describe('ip-restriction: GeoIP countries', () => {
  let up: Upstream;
  let gw: TestGateway;
  let db: string;
  before(async () => {
    up = await startUpstream();
    gw = await startGateway(undefined);
    db = join(gw.dataDir, 'country.mmdb');
    writeFileSync(
      db,
      buildCountryMmdb({ '203.0.113.0/24': 'DE', '198.51.100.0/24': 'FR', '2001:db8::/32': 'JP' }),
    );
  });
  after(async () => {
    await gw.stop();
    await up.close();
  });

  it('allows listed countries only, and names the country in the rule', async () => {
    const r = await adminCall(
      gw,
      'POST',
      '/config',
      base(up.url, { geoip: { database: db, allowCountries: ['de', 'JP'] } }),
    );
    assert.equal(r.status, 201);
    const replies = [];
    for (const [ip, status] of [
      ['203.0.113.9', 200],
      ['2001:db8::1', 200],
      ['198.51.100.1', 403],
    ] as const) {
      const reply = await from(gw, ip);
      assert.equal(reply.status, status);
      replies.push(reply);
    }
    const none = await from(gw, '192.0.2.1');
    assert.equal(none.status, 403, 'an address with no country is not allowed');
    replies.push(none);
    const lines = [];
    for (const reply of replies) lines.push(await accessLineOf(gw.access, reply));
    const rules = lines.map((l) => (l.decisions as { rule?: string }[] | undefined)?.[0]?.rule);
    assert.ok(rules.includes('allow-country:DE'));
  });

  it('denies listed countries, with deny CIDRs checked first', async () => {
    const cfg = base(up.url, { deny: ['203.0.113.66'], geoip: { database: db, denyCountries: ['FR'] } });
    assert.equal((await adminCall(gw, 'POST', '/config', cfg)).status, 201);
    assert.equal((await from(gw, '198.51.100.1')).status, 403);
    assert.equal((await from(gw, '203.0.113.66')).status, 403);
    assert.equal((await from(gw, '203.0.113.67')).status, 200);
  });

  it('refuses a database that is missing or not an MMDB, and geoip without countries', async () => {
    const bad = join(gw.dataDir, 'bad.mmdb');
    writeFileSync(bad, 'not a database');
    for (const geoip of [
      { database: bad, denyCountries: ['FR'] },
      { database: join(gw.dataDir, 'none.mmdb'), denyCountries: ['FR'] },
    ]) {
      const r = await adminCall(gw, 'POST', '/config', base(up.url, { geoip }));
      assert.equal(r.status, 400);
      assert.equal(r.json.error.issues[0].path, '/policies/0/config/geoip/database');
    }
    const r = await adminCall(gw, 'POST', '/config', base(up.url, { geoip: { database: db } }));
    assert.equal(r.status, 400);
  });
});
