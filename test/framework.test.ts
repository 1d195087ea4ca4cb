import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Type as T } from '@sinclair/typebox';
import type { PolicyContext } from '../src/core/context.js';
import { definePolicy, type PolicyHandlers } from '../src/core/policy.js';
import { accessLine } from './helpers/access-log.js';
import { adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

/** Test-only: sets the consumer from `x-consumer` (and `x-groups`) in phase `auth`. */
const headerAuth = definePolicy({
  name: 'test-header-auth',
  description: 'Test only: the consumer is whoever the x-consumer header says.',
  schema: T.Object({}, { additionalProperties: false }),
  priority: 0,
  create() {
    return {
      auth: function headerAuth(ctx: PolicyContext) {
        const name = ctx.request.headers['x-consumer'];
        if (typeof name !== 'string') return undefined;
        const groups = String(ctx.request.headers['x-groups'] ?? '')
          .split(',')
          .filter(Boolean);
        ctx.setConsumer({ id: `id-${name}`, name, groups, metadata: {} });
        return ctx.allow(`consumer:${name}`);
      },
    };
  },
});

/** Test-only: appends its label to the `x-marks` response header, in a configurable phase. */
const mark = definePolicy({
  name: 'test-mark',
  description: 'Test only: shows which instances ran.',
  schema: T.Object(
    {
      label: T.String(),
      phase: T.Optional(T.Union([T.Literal('request'), T.Literal('authz'), T.Literal('transform')])),
    },
    { additionalProperties: false },
  ),
  priority: 50,
  create(config) {
    const fn = function mark(ctx: PolicyContext) {
      const prior = ctx.responseHeaders['x-marks'];
      ctx.setResponseHeader('x-marks', prior ? `${prior},${config.label}` : config.label);
      return ctx.allow(config.label);
    };
    return { [config.phase ?? 'authz']: fn } as PolicyHandlers;
  },
});

/** Test-only: does one thing per config, to exercise the pipeline. */
const probe = definePolicy({
  name: 'test-probe',
  description: 'Test only: deny, tag headers, throw, or break the phase rules.',
  schema: T.Object(
    { action: T.Union([T.Literal('deny'), T.Literal('tag'), T.Literal('throw'), T.Literal('set-consumer')]) },
    { additionalProperties: false },
  ),
  priority: 60,
  create(config) {
    return {
      request: function probe(ctx: PolicyContext) {
        switch (config.action) {
          case 'deny':
            return ctx.reject('PCS_ERR_IP_DENIED', { rule: 'probe-rule', detail: 'probe says no' });
          case 'tag':
            ctx.setRequestHeader('x-probe', 'tagged');
            ctx.removeRequestHeader('x-remove-me');
            ctx.setResponseHeader('x-probe', 'tagged');
            return ctx.allow('tagged');
          case 'throw':
            throw new Error('boom');
          case 'set-consumer':
            ctx.setConsumer({ id: 'x', name: 'sneaky', groups: [], metadata: {} });
            return undefined;
        }
      },
    };
  },
});

const POLICIES = [headerAuth, mark, probe];

function config(upstream: string, policies: unknown[]) {
  return {
    services: [
      { name: 'api', targets: [{ url: upstream }] },
      { name: 'other', targets: [{ url: upstream }] },
    ],
    routes: [
      { name: 'hello', service: 'api', paths: ['/hello'] },
      { name: 'sibling', service: 'api', paths: ['/sibling'] },
      { name: 'elsewhere', service: 'other', paths: ['/elsewhere'] },
    ],
    policies,
  };
}

interface Decision {
  policy: string;
  id: string;
  scope: string;
  phase: string;
  mode: string;
  outcome: string;
  rule?: string;
  code?: string;
}

let up: Upstream;
let t: TestGateway;
let n = 0;

before(async () => {
  up = await startUpstream();
  t = await startGateway(config(up.url, []), { policies: POLICIES });
});
after(async () => {
  await t.stop();
  await up.close();
});

async function apply(policies: unknown[]): Promise<void> {
  const r = await adminCall(t, 'POST', '/config', config(up.url, policies));
  assert.ok(r.status === 201 || r.status === 200, `${r.status} ${r.text}`);
}

async function send(path: string, headers: Record<string, string> = {}) {
  const id = `fw-${++n}`;
  const seen = up.seen.length;
  const r = await call(`${t.url}${path}`, { headers: { 'x-request-id': id, ...headers } });
  const line = await accessLine(t.access, id);
  return { r, line, decisions: line.decisions as Decision[] | undefined, forwarded: up.seen.slice(seen) };
}

async function metric(line: string): Promise<number> {
  const r = await call(`${t.admin}/metrics`);
  const found = r.text.split('\n').find((l) => l.startsWith(`${line} `));
  return found ? Number(found.slice(line.length + 1)) : 0;
}

describe('modes', () => {
  const deny = (mode: string) => [
    { name: 'ip-restriction', scope: { route: 'hello' }, mode, config: { deny: ['0.0.0.0/0', '::/0'] } },
  ];
  const wouldDeny =
    'portcullis_policy_decisions_total{policy="ip-restriction",mode="shadow",outcome="would_deny"}';

  it('enforce: the deny policy answers 403 and the upstream is not called', async () => {
    await apply(deny('enforce'));
    const x = await send('/hello');
    assert.equal(x.r.status, 403);
    assert.equal(x.r.json.error.code, 'PCS_ERR_IP_DENIED');
    assert.equal(x.forwarded.length, 0);
    assert.deepEqual(x.decisions, [
      {
        policy: 'ip-restriction',
        id: 'ip-restriction',
        scope: 'route:hello',
        phase: 'request',
        mode: 'enforce',
        outcome: 'deny',
        rule: 'deny:0.0.0.0/0',
        code: 'PCS_ERR_IP_DENIED',
      },
    ]);
  });

  it('shadow: the request reaches the upstream, the log says would_deny with policy and rule, the metric counts it', async () => {
    await apply(deny('shadow'));
    const before = await metric(wouldDeny);
    const x = await send('/hello');
    assert.equal(x.r.status, 200);
    assert.equal(x.forwarded.length, 1);
    assert.equal(x.line.error, undefined);
    assert.deepEqual(x.decisions, [
      {
        policy: 'ip-restriction',
        id: 'ip-restriction',
        scope: 'route:hello',
        phase: 'request',
        mode: 'shadow',
        outcome: 'would_deny',
        rule: 'deny:0.0.0.0/0',
        code: 'PCS_ERR_IP_DENIED',
      },
    ]);
    assert.equal(x.line.revision, t.gw.revisions.active?.id);
    assert.equal(await metric(wouldDeny), before + 1);
  });

  it('off: no decision at all', async () => {
    await apply(deny('off'));
    const x = await send('/hello');
    assert.equal(x.r.status, 200);
    assert.equal(x.decisions, undefined);
  });

  it('shadow: header mutations do not happen, the decision is recorded', async () => {
    await apply([{ name: 'test-probe', mode: 'shadow', config: { action: 'tag' } }]);
    const x = await send('/hello', { 'x-remove-me': 'still here' });
    assert.equal(x.r.status, 200);
    assert.equal(x.r.headers['x-probe'], undefined);
    assert.equal(x.forwarded[0].headers['x-probe'], undefined);
    assert.equal(x.forwarded[0].headers['x-remove-me'], 'still here');
    assert.deepEqual(
      x.decisions?.map((d) => [d.policy, d.mode, d.outcome, d.rule]),
      [['test-probe', 'shadow', 'allow', 'tagged']],
    );

    await apply([{ name: 'test-probe', config: { action: 'tag' } }]);
    const y = await send('/hello', { 'x-remove-me': 'gone' });
    assert.equal(y.r.headers['x-probe'], 'tagged');
    assert.equal(y.forwarded[0].headers['x-probe'], 'tagged');
    assert.equal(y.forwarded[0].headers['x-remove-me'], undefined);
  });

  it('shadow and enforce side by side: the shadow denial does not stop the enforced policy', async () => {
    await apply([
      { name: 'test-probe', id: 'dry', mode: 'shadow', config: { action: 'deny' } },
      { name: 'test-probe', id: 'wet', config: { action: 'tag' } },
    ]);
    const x = await send('/hello');
    assert.equal(x.r.status, 200);
    assert.equal(x.r.headers['x-probe'], 'tagged');
    assert.deepEqual(
      x.decisions?.map((d) => [d.id, d.outcome, d.rule ?? null]),
      [
        ['dry', 'would_deny', 'probe-rule'],
        ['wet', 'allow', 'tagged'],
      ],
    );
  });
});

describe('policy failures', () => {
  it('enforce: a policy that throws gives 500 PCS_ERR_POLICY_FAILURE, logged with the policy', async () => {
    await apply([{ name: 'test-probe', id: 'thrower', config: { action: 'throw' } }]);
    const logs = t.logs.lines.length;
    const x = await send('/hello');
    assert.equal(x.r.status, 500);
    assert.deepEqual(x.r.json, {
      error: {
        code: 'PCS_ERR_POLICY_FAILURE',
        message: 'Internal gateway error',
        request_id: x.line.request_id,
      },
    });
    assert.equal(x.forwarded.length, 0);
    assert.equal(x.line.error, 'PCS_ERR_POLICY_FAILURE');
    assert.equal(x.line.detail, 'test-probe#thrower: boom');
    assert.deepEqual(
      x.decisions?.map((d) => [d.id, d.outcome, d.code]),
      [['thrower', 'error', 'PCS_ERR_POLICY_FAILURE']],
    );
    const logged = t.logs.lines.slice(logs).find((l) => l.msg === 'policy failed');
    assert.ok(logged, 'error log line');
    assert.equal(logged.policy, 'test-probe#thrower');
    assert.equal(logged.phase, 'request');
    assert.match(String(logged.err), /Error: boom/);
  });

  it('shadow: a policy that throws is recorded as error and the request goes on', async () => {
    await apply([{ name: 'test-probe', mode: 'shadow', config: { action: 'throw' } }]);
    const before = await metric(
      'portcullis_policy_decisions_total{policy="test-probe",mode="shadow",outcome="error"}',
    );
    const x = await send('/hello');
    assert.equal(x.r.status, 200);
    assert.equal(x.forwarded.length, 1);
    assert.equal(x.line.error, undefined);
    assert.deepEqual(
      x.decisions?.map((d) => [d.policy, d.mode, d.outcome, d.code]),
      [['test-probe', 'shadow', 'error', 'PCS_ERR_POLICY_FAILURE']],
    );
    assert.equal(
      await metric('portcullis_policy_decisions_total{policy="test-probe",mode="shadow",outcome="error"}'),
      before + 1,
    );
  });

  it('setConsumer outside auth is a PhaseError: 500, logged', async () => {
    await apply([{ name: 'test-probe', config: { action: 'set-consumer' } }]);
    const logs = t.logs.lines.length;
    const x = await send('/hello');
    assert.equal(x.r.status, 500);
    assert.equal(x.r.json.error.code, 'PCS_ERR_POLICY_FAILURE');
    assert.equal(x.line.consumer, undefined);
    assert.match(
      String(x.line.detail),
      /setConsumer\(\) is not allowed in phase 'request' \(allowed: auth\)/,
    );
    const logged = t.logs.lines.slice(logs).find((l) => l.msg === 'policy failed');
    assert.match(String(logged?.err), /^PhaseError: setConsumer\(\) is not allowed in phase 'request'/);
  });
});

describe('scope precedence', () => {
  const marks = (x: { r: { headers: Record<string, unknown> } }) => x.r.headers['x-marks'];

  it('the most specific of global, service and route wins, per route', async () => {
    await apply([
      { name: 'test-mark', config: { label: 'global' } },
      { name: 'test-mark', scope: { service: 'api' }, config: { label: 'service' } },
      { name: 'test-mark', scope: { route: 'hello' }, config: { label: 'route' } },
    ]);
    const hello = await send('/hello');
    assert.equal(marks(hello), 'route');
    assert.deepEqual(
      hello.decisions?.map((d) => [d.policy, d.scope, d.phase, d.rule]),
      [['test-mark', 'route:hello', 'authz', 'route']],
    );
    assert.equal(marks(await send('/sibling')), 'service');
    assert.equal(marks(await send('/elsewhere')), 'global');
  });

  it('several instances at the winning level all run, in config order', async () => {
    await apply([
      { name: 'test-mark', config: { label: 'global' } },
      { name: 'test-mark', id: 'a', scope: { route: 'hello' }, config: { label: 'a' } },
      { name: 'test-mark', id: 'b', scope: { route: 'hello' }, config: { label: 'b' } },
    ]);
    assert.equal(marks(await send('/hello')), 'a,b');
  });

  it('other policy types are not affected by a more specific instance of one type', async () => {
    await apply([
      { name: 'test-mark', scope: { route: 'hello' }, config: { label: 'route' } },
      { name: 'test-probe', config: { action: 'tag' } },
    ]);
    const x = await send('/hello');
    assert.equal(marks(x), 'route');
    assert.equal(x.r.headers['x-probe'], 'tagged');
  });

  it('consumer- and group-scoped instances replace the route one from authz on', async () => {
    await apply([
      { name: 'test-header-auth' },
      { name: 'test-mark', config: { label: 'global' } },
      { name: 'test-mark', scope: { route: 'hello' }, config: { label: 'route' } },
      { name: 'test-mark', scope: { group: 'gold' }, config: { label: 'gold' } },
      { name: 'test-mark', scope: { consumer: 'alice' }, config: { label: 'alice' } },
    ]);
    const anon = await send('/hello');
    assert.equal(marks(anon), 'route');
    assert.equal(anon.line.consumer, undefined);

    const alice = await send('/hello', { 'x-consumer': 'alice', 'x-groups': 'gold' });
    assert.equal(marks(alice), 'alice', 'consumer beats group and route');
    assert.equal(alice.line.consumer, 'alice');
    assert.deepEqual(
      alice.decisions?.map((d) => [d.policy, d.id, d.scope, d.phase, d.outcome, d.rule]),
      [
        ['test-header-auth', 'test-header-auth', 'global', 'auth', 'allow', 'consumer:alice'],
        ['test-mark', 'test-mark', 'consumer:alice', 'authz', 'allow', 'alice'],
      ],
    );

    assert.equal(marks(await send('/hello', { 'x-consumer': 'bob', 'x-groups': 'silver,gold' })), 'gold');
    assert.equal(marks(await send('/hello', { 'x-consumer': 'carol' })), 'route', 'no personal instance');
    assert.equal(marks(await send('/elsewhere', { 'x-consumer': 'carol' })), 'global');
    assert.equal(marks(await send('/elsewhere', { 'x-consumer': 'alice' })), 'alice');
    // The chain cache is keyed by consumer and groups: a changed group is seen at once.
    assert.equal(marks(await send('/hello', { 'x-consumer': 'bob' })), 'route');
  });

  it('a consumer-scoped policy that runs in request is a config error', async () => {
    const active = t.gw.revisions.active?.id;
    const r = await adminCall(
      t,
      'POST',
      '/config',
      config(up.url, [
        { name: 'test-mark', scope: { consumer: 'alice' }, config: { label: 'x', phase: 'request' } },
        { name: 'ip-restriction', scope: { group: 'gold' }, config: { deny: ['10.0.0.0/8'] } },
      ]),
    );
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'PCS_ERR_CONFIG_INVALID');
    assert.deepEqual(r.json.error.issues, [
      {
        path: '/policies/0/scope',
        message:
          "'test-mark' runs in phase request, before the consumer is known; it cannot be scoped to a consumer or group",
      },
      {
        path: '/policies/1/scope',
        message:
          "'ip-restriction' runs in phase request, before the consumer is known; it cannot be scoped to a consumer or group",
      },
    ]);
    assert.equal(t.gw.revisions.active?.id, active);
  });
});
