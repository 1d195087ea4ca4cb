import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import {
  adminCall,
  call,
  minimalConfig,
  startGateway,
  type TestGateway,
} from '../../../test/helpers/gateway.js';
import { startUpstream, type Upstream } from '../../../test/helpers/upstream.js';
import { validator } from '../../config/ajv.js';
import { ManualClock } from '../../core/clock.js';
import { PolicyContext, type RequestView } from '../../core/context.js';
import type { PolicyDeps, PolicyFn } from '../../core/policy.js';
import { normalizeIp } from '../../net/ip.js';
import { ipRestriction } from './policy.js';
import { IpRestrictionSchema } from './schema.js';

const valid = validator(IpRestrictionSchema);

function make(config: Record<string, unknown>, trustedProxies: string[] = []): PolicyFn {
  const deps = { logger: pino({ level: 'silent' }), clock: new ManualClock(), gateway: { trustedProxies } };
  const h = ipRestriction.create(config as never, deps as unknown as PolicyDeps);
  assert.ok(h.request);
  return h.request;
}

/** A context as the handler builds it: peer and client already normalised. */
function ctx(peer: string, opts: { clientIp?: string; xff?: string } = {}): PolicyContext {
  const view: RequestView = {
    id: 'req-1',
    method: 'GET',
    path: '/',
    rawQuery: '',
    host: 'gw.test',
    headers: opts.xff ? { 'x-forwarded-for': opts.xff } : {},
    clientIp: normalizeIp(opts.clientIp ?? peer),
    remoteAddress: normalizeIp(peer),
    protocol: 'http',
    time: 0,
    params: {},
    route: 'r',
    service: 's',
  };
  const c = new PolicyContext(view, {}, new ManualClock());
  c.enter('request', 'enforce', 'ip-restriction');
  return c;
}

function decide(
  fn: PolicyFn,
  c: PolicyContext,
): { kind?: string; rule?: string; code?: string; status?: number } {
  const out = fn(c) as { kind: string; rule?: string; code?: string; status?: number } | undefined;
  return out ? { kind: out.kind, rule: out.rule, code: out.code, status: out.status } : {};
}

describe('ip-restriction: schema', () => {
  it('accepts allow, deny, trustedProxies and status', () => {
    assert.equal(
      valid({ allow: ['10.0.0.0/8'], deny: ['::1'], trustedProxies: ['127.0.0.1'], status: 404 }),
      true,
    );
    assert.equal(valid({ deny: [] }), true);
  });

  it('refuses unknown keys, non-arrays and statuses outside 4xx', () => {
    assert.equal(valid({ allow: ['10.0.0.0/8'], whitelist: ['1.2.3.4'] }), false);
    assert.equal(valid({ allow: '10.0.0.0/8' }), false);
    assert.equal(valid({ deny: [1] }), false);
    assert.equal(valid({ deny: ['1.2.3.4'], status: 302 }), false);
    assert.equal(valid({ deny: ['1.2.3.4'], status: 500 }), false);
  });

  it('throws at create for a config with neither list, or a bad CIDR, naming the field', () => {
    assert.throws(() => make({}), /set at least one of allow, deny/);
    const refused = (config: Record<string, unknown>) => {
      try {
        make(config);
      } catch (err) {
        return { path: (err as { path?: string }).path, message: (err as Error).message };
      }
      return undefined;
    };
    assert.deepEqual(refused({ deny: ['10.0.0.0/8', '10.0.0.0/33'] }), {
      path: 'deny/1',
      message: "'10.0.0.0/33' is not an IP address or CIDR",
    });
    assert.deepEqual(refused({ allow: ['nope'] })?.path, 'allow/0');
    assert.deepEqual(refused({ deny: ['1.2.3.4'], trustedProxies: ['x'] })?.path, 'trustedProxies/0');
  });
});

describe('ip-restriction: behaviour', () => {
  it('denies an IPv4 client in a deny CIDR and names the rule', () => {
    const fn = make({ deny: ['10.0.0.0/8', '10.1.0.0/16'] });
    assert.deepEqual(decide(fn, ctx('10.1.2.3')), {
      kind: 'reject',
      rule: 'deny:10.1.0.0/16',
      code: 'PCS_ERR_IP_DENIED',
      status: 403,
    });
    assert.deepEqual(decide(fn, ctx('11.0.0.1')), {});
  });

  it('allows only the allow list, naming the matching CIDR', () => {
    const fn = make({ allow: ['192.0.2.0/24', '2001:db8::/32'] });
    assert.deepEqual(decide(fn, ctx('192.0.2.7')), {
      kind: 'allow',
      rule: 'allow:192.0.2.0/24',
      code: undefined,
      status: undefined,
    });
    assert.deepEqual(decide(fn, ctx('2001:db8:aa::1')).rule, 'allow:2001:db8::/32');
    assert.deepEqual(decide(fn, ctx('198.51.100.1')), {
      kind: 'reject',
      rule: 'allow:none',
      code: 'PCS_ERR_IP_DENIED',
      status: 403,
    });
    assert.equal(decide(fn, ctx('2001:db9::1')).rule, 'allow:none');
  });

  it('denies IPv6 CIDRs', () => {
    const fn = make({ deny: ['2001:db8::/48', 'fe80::/10'] });
    assert.equal(decide(fn, ctx('2001:db8:0:ffff::1')).rule, 'deny:2001:db8::/48');
    assert.equal(decide(fn, ctx('2001:db8:1::1')).kind, undefined);
    assert.equal(decide(fn, ctx('fe80::abcd')).rule, 'deny:fe80::/10');
  });

  it('treats an IPv4-mapped IPv6 peer as its IPv4 address, and a mapped CIDR as IPv4', () => {
    assert.equal(decide(make({ deny: ['10.0.0.0/8'] }), ctx('::ffff:10.9.8.7')).rule, 'deny:10.0.0.0/8');
    assert.equal(
      decide(make({ deny: ['::ffff:10.0.0.0/104'] }), ctx('10.9.8.7')).rule,
      'deny:::ffff:10.0.0.0/104',
    );
    assert.equal(decide(make({ allow: ['127.0.0.1'] }), ctx('::ffff:127.0.0.1')).rule, 'allow:127.0.0.1');
  });

  it('lets deny win over allow when both match', () => {
    const fn = make({ allow: ['203.0.113.0/24'], deny: ['203.0.113.9'] });
    assert.equal(decide(fn, ctx('203.0.113.9')).rule, 'deny:203.0.113.9');
    assert.equal(decide(fn, ctx('203.0.113.10')).rule, 'allow:203.0.113.0/24');
  });

  it('uses the gateway client IP unless the policy has its own trusted proxies', () => {
    // The handler resolved the client through gateway.trustedProxies already.
    const gw = make({ deny: ['198.51.100.0/24'] });
    assert.equal(
      decide(gw, ctx('10.0.0.1', { clientIp: '198.51.100.4', xff: '198.51.100.4' })).kind,
      'reject',
    );
    assert.equal(decide(gw, ctx('10.0.0.1', { xff: '198.51.100.4' })).kind, undefined);
    // The policy's own list: X-Forwarded-For believed from 10.0.0.0/8 only.
    const own = make({ deny: ['198.51.100.0/24'], trustedProxies: ['10.0.0.0/8'] });
    assert.equal(
      decide(own, ctx('10.0.0.1', { xff: '198.51.100.4, 10.0.0.2' })).rule,
      'deny:198.51.100.0/24',
    );
    assert.equal(decide(own, ctx('192.0.2.1', { xff: '198.51.100.4' })).kind, undefined);
    // An own empty list distrusts every proxy, even when the gateway trusts one.
    const none = make({ deny: ['198.51.100.0/24'], trustedProxies: [] });
    assert.equal(
      decide(none, ctx('10.0.0.1', { clientIp: '198.51.100.4', xff: '198.51.100.4' })).kind,
      undefined,
    );
  });

  it('uses the configured status', () => {
    assert.equal(decide(make({ deny: ['0.0.0.0/0'], status: 404 }), ctx('1.2.3.4')).status, 404);
  });
});

describe('ip-restriction: through the gateway', () => {
  let up: Upstream;
  let t: TestGateway;
  let n = 0;

  before(async () => {
    up = await startUpstream();
    t = await startGateway(minimalConfig(up.url));
  });
  after(async () => {
    await t.stop();
    await up.close();
  });

  async function apply(policies: unknown[], gateway?: unknown): Promise<void> {
    const r = await adminCall(t, 'POST', '/config', { ...minimalConfig(up.url, { policies }), gateway });
    assert.ok(r.status === 201 || r.status === 200, `${r.status} ${r.text}`);
  }

  async function get(headers: Record<string, string> = {}) {
    const id = `ip-${++n}`;
    const r = await call(`${t.url}/hello`, { headers: { 'x-request-id': id, ...headers } });
    const line = await accessLine(t, id);
    return { r, line };
  }

  it('denies the loopback client with 403 and logs the rule, revision and detail', async () => {
    await apply([{ name: 'ip-restriction', scope: { route: 'hello' }, config: { deny: ['127.0.0.0/8'] } }]);
    const before = up.seen.length;
    const { r, line } = await get();
    assert.equal(r.status, 403);
    assert.deepEqual(r.json, {
      error: { code: 'PCS_ERR_IP_DENIED', message: 'Access denied', request_id: r.headers['x-request-id'] },
    });
    assert.equal(up.seen.length, before, 'not forwarded');
    assert.equal(line.status, 403);
    assert.equal(line.error, 'PCS_ERR_IP_DENIED');
    assert.equal(line.detail, 'client 127.0.0.1');
    assert.equal(line.revision, t.gw.revisions.active?.id);
    assert.deepEqual(line.decisions, [
      {
        policy: 'ip-restriction',
        id: 'ip-restriction',
        scope: 'route:hello',
        phase: 'request',
        mode: 'enforce',
        outcome: 'deny',
        rule: 'deny:127.0.0.0/8',
        code: 'PCS_ERR_IP_DENIED',
      },
    ]);
  });

  it('allows a listed client and logs the allow rule', async () => {
    await apply([{ name: 'ip-restriction', config: { allow: ['127.0.0.1', '10.0.0.0/8'] } }]);
    const { r, line } = await get();
    assert.equal(r.status, 200);
    assert.deepEqual(
      (line.decisions as { outcome: string; rule: string }[]).map((d) => [d.outcome, d.rule]),
      [['allow', 'allow:127.0.0.1']],
    );
  });

  it('believes X-Forwarded-For only from gateway.trustedProxies', async () => {
    const policies = [{ name: 'ip-restriction', config: { deny: ['203.0.113.0/24', '2001:db8::/32'] } }];
    await apply(policies);
    let x = await get({ 'x-forwarded-for': '203.0.113.9' });
    assert.equal(x.r.status, 200, 'an untrusted peer cannot choose its address');
    assert.equal(x.line.client_ip, '127.0.0.1');

    await apply(policies, { trustedProxies: ['127.0.0.1/32'] });
    x = await get({ 'x-forwarded-for': '203.0.113.9' });
    assert.equal(x.r.status, 403);
    assert.equal(x.line.client_ip, '203.0.113.9');
    assert.equal((x.line.decisions as { rule: string }[])[0].rule, 'deny:203.0.113.0/24');

    x = await get({ 'x-forwarded-for': '2001:DB8:0::5' });
    assert.equal(x.r.status, 403, 'IPv6 client behind the proxy');
    assert.equal(x.line.client_ip, '2001:db8::5');
    assert.equal((x.line.decisions as { rule: string }[])[0].rule, 'deny:2001:db8::/32');

    x = await get({ 'x-forwarded-for': '::ffff:203.0.113.77' });
    assert.equal(x.r.status, 403, 'IPv4-mapped client behind the proxy');
    assert.equal(x.line.client_ip, '203.0.113.77');

    x = await get({ 'x-forwarded-for': '198.51.100.1' });
    assert.equal(x.r.status, 200);
  });

  it('uses its own trustedProxies over the gateway setting', async () => {
    await apply([
      { name: 'ip-restriction', config: { deny: ['203.0.113.0/24'], trustedProxies: ['127.0.0.0/8'] } },
    ]);
    let x = await get({ 'x-forwarded-for': '203.0.113.9' });
    assert.equal(x.r.status, 403, 'the policy believes the loopback proxy');
    assert.equal(x.line.client_ip, '127.0.0.1', 'the gateway does not');

    await apply(
      [{ name: 'ip-restriction', config: { deny: ['203.0.113.0/24'], trustedProxies: ['192.0.2.1'] } }],
      { trustedProxies: ['127.0.0.1'] },
    );
    x = await get({ 'x-forwarded-for': '203.0.113.9' });
    assert.equal(x.r.status, 200, 'the policy does not believe the loopback proxy');
  });

  it('answers with the configured status', async () => {
    await apply([{ name: 'ip-restriction', config: { deny: ['0.0.0.0/0'], status: 404 } }]);
    const { r } = await get();
    assert.equal(r.status, 404);
    assert.equal(r.json.error.code, 'PCS_ERR_IP_DENIED');
  });

  it('refuses a bad CIDR as a config error with its path, and keeps the running revision', async () => {
    const active = t.gw.revisions.active?.id;
    const r = await adminCall(t, 'POST', '/config', {
      ...minimalConfig(up.url, {
        policies: [
          { name: 'ip-restriction', config: { deny: ['10.0.0.0/8'] } },
          { name: 'ip-restriction', id: 'second', config: { allow: ['10.0.0.0/8', '999.0.0.0/8'] } },
        ],
      }),
      gateway: { trustedProxies: ['10.0.0.1', 'proxy.local'] },
    });
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'PCS_ERR_CONFIG_INVALID');
    const issues = r.json.error.issues as { path: string; message: string }[];
    assert.deepEqual(issues, [
      { path: '/gateway/trustedProxies/1', message: 'not an IP address or CIDR' },
      { path: '/policies/1/config/allow/1', message: "'999.0.0.0/8' is not an IP address or CIDR" },
    ]);
    assert.equal(t.gw.revisions.active?.id, active);
  });
});

/** The access log line of a request, once it is written. */
async function accessLine(t: TestGateway, id: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 100; i++) {
    const line = t.access.lines.find((l) => l.request_id === id);
    if (line) return line;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no access log line for ${id}`);
}
