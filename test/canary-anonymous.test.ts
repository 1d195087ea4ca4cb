import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from './helpers/cli.js';
import { adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

// Issue 11: `canary start --percent 10` on a config without auth seemed to send nothing to the
// canary. The default sticky key is the credential presented; anonymous requests must fall back
// to the client IP (so the slice is a share of client IPs), and the CLI must say which key it uses.
describe('canary: a percent slice of anonymous callers, sticky by default', () => {
  let stableUp: Upstream;
  let canaryUp: Upstream;
  let g: TestGateway;
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-canary-anon-'));
  const yaml = (url: string) => `services:
  - name: svc
    targets: [{ url: "${url}" }]
routes:
  - name: api
    service: svc
    paths: ["/api"]
gateway:
  trustedProxies: ["127.0.0.1/32"]
`;
  const named = (name: string) => (_q: unknown, res: import('node:http').ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(name);
  };

  before(async () => {
    stableUp = await startUpstream(named('stable'));
    canaryUp = await startUpstream(named('canary'));
    g = await startGateway({
      services: [{ name: 'svc', targets: [{ url: stableUp.url }] }],
      routes: [{ name: 'api', service: 'svc', paths: ['/api'] }],
      gateway: { trustedProxies: ['127.0.0.1/32'] },
    });
  });
  after(async () => {
    await g.stop();
    await Promise.all([stableUp.close(), canaryUp.close()]);
  });

  it('canary start says what a caller is; about the share of client IPs reach the canary', async () => {
    const file = join(dir, 'candidate.yaml');
    writeFileSync(file, yaml(canaryUp.url));
    const start = await runCli(g.admin, ['canary', 'start', file, '--percent', '25']);
    assert.equal(start.code, 0, start.stderr);
    assert.match(
      start.stdout,
      /25% of callers, sticky on the credential presented, falling back to the client IP for anonymous requests/,
    );

    const ips = Array.from({ length: 400 }, (_, i) => `198.51.${100 + (i >> 8)}.${i & 255}`);
    const first: string[] = [];
    for (const ip of ips)
      first.push((await call(`${g.url}/api`, { headers: { 'x-forwarded-for': ip } })).text);
    const share = first.filter((x) => x === 'canary').length / ips.length;
    assert.ok(share > 0.15 && share < 0.35, `share of client IPs on the canary: ${share}`);
    // Sticky: the same IP again lands on the same side.
    for (const i of [0, 1, 2, 3, 50, 399])
      assert.equal((await call(`${g.url}/api`, { headers: { 'x-forwarded-for': ips[i] } })).text, first[i]);

    const status = await runCli(g.admin, ['canary', 'status']);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /sticky on the credential presented, falling back to the client IP/);
    assert.equal((await adminCall(g, 'POST', '/canary/abort', {})).status, 200);
  });
});
