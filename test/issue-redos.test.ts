import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { headerConsumer, type MockLlm, startMockLlm } from './helpers/mock-llm.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

/**
 * Issue 11 item 5: user-supplied regexes ran on V8's backtracking engine. `(\d|\w)+$` passed the
 * WAF's safety check, mask patterns were not checked at all, and an OpenAPI `pattern` ran as
 * given: a 27-byte value stalled every request of the process for 1.25 s, doubling per byte.
 * Here every place a user can put a pattern gets the three classic shapes and a value of 80
 * letters and a `!`: on a backtracking engine each request would take longer than the universe
 * has left, so the test can only finish (within the runner's timeout) on a linear engine.
 * No timing is asserted.
 */
const SHAPES = ['(\\d|\\w)+$', '(a|a)+$', '(a+)+$'];
const EVIL = `${'a'.repeat(80)}!`;

function config(upstream: string, llm: string) {
  return {
    services: [{ name: 'echo', targets: [{ url: upstream }] }],
    routes: [
      { name: 'hello', service: 'echo', paths: ['/hello'] },
      { name: 'waf', service: 'echo', paths: ['/waf'] },
      { name: 'api', service: 'echo', paths: ['/api'] },
      { name: 'chat', paths: ['/chat'], ai: { endpoint: 'openai' } },
    ],
    policies: [
      { name: 'test-header-consumer' },
      {
        name: 'waf',
        scope: { route: 'waf' },
        config: {
          rules: SHAPES.map((pattern, i) => ({ id: `evil-${i}`, category: 'custom', pattern, score: 1 })),
        },
      },
      {
        name: 'request-validation',
        scope: { route: 'api' },
        config: {
          basePath: '/api',
          spec: {
            openapi: '3.0.3',
            info: { title: 't', version: '1' },
            paths: {
              '/items': {
                get: {
                  parameters: SHAPES.map((pattern, i) => ({
                    name: `q${i}`,
                    in: 'query',
                    schema: { type: 'string', pattern },
                  })),
                  responses: { '200': { description: 'ok' } },
                },
              },
            },
          },
        },
      },
      {
        name: 'ai-guard-deny',
        scope: { route: 'chat' },
        config: { patterns: SHAPES.map((pattern, i) => ({ name: `evil-${i}`, pattern })) },
      },
    ],
    ai: {
      providers: [{ name: 'p', kind: 'openai-compatible', baseUrl: `${llm}/v1`, apiKey: 'sk-p' }],
      models: [{ name: 'fast', targets: [{ provider: 'p', model: 'gpt-4o-mini' }] }],
    },
    gateway: { requestLog: { enabled: true, captureBody: { enabled: true, maskPatterns: SHAPES } } },
  };
}

describe('issue: ReDoS through accepted patterns', () => {
  let up: Upstream;
  let llm: MockLlm;
  let t: TestGateway;
  before(async () => {
    up = await startUpstream();
    llm = await startMockLlm();
    t = await startGateway(config(up.url, llm.url), { policies: [headerConsumer] });
  });
  after(async () => {
    await t?.stop();
    await up?.close();
    await llm?.close();
  });

  it('evil values meet every pattern and complete, and a simple request is answered alongside', async () => {
    const query = SHAPES.map((_, i) => `q${i}=${EVIL}`).join('&');
    const [waf, body, api, chat, hello] = await Promise.all([
      call(`${t.url}/waf?${query}`),
      // A body the WAF reads, so the request log captures it and runs the mask patterns.
      call(`${t.url}/waf`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: EVIL }),
      call(`${t.url}/api/items?${query}`),
      call(`${t.url}/chat/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-consumer': 'mallory' },
        body: JSON.stringify({ model: 'fast', messages: [{ role: 'user', content: EVIL }] }),
      }),
      call(`${t.url}/hello`),
    ]);
    assert.equal(hello.status, 200);
    assert.equal(waf.status, 200); // three custom rules of score 1 stay under the threshold
    assert.equal(body.status, 200);
    assert.equal(api.status, 400);
    assert.equal(api.json.error.code, 'PCS_ERR_REQUEST_INVALID');
    assert.equal(chat.status, 200); // none of the shapes matches before the `!`
    // The masks ran on the recorded body: `(a+)+$` and `(\d|\w)+$` do not match before the `!`.
    const records = (await adminCall(t, 'GET', '/request-log?since=1h')).json.records as {
      method: string;
      path: string;
      body: string | null;
    }[];
    const posted = records.find((r) => r.method === 'POST' && r.path === '/waf');
    assert.equal(posted?.body, EVIL);
  });

  it('the same patterns still match what they should', async () => {
    const chat = await call(`${t.url}/chat/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-consumer': 'mallory' },
      body: JSON.stringify({ model: 'fast', messages: [{ role: 'user', content: 'say aaaa' }] }),
    });
    assert.equal(chat.status, 400);
    assert.equal(chat.json.error.code, 'PCS_ERR_AI_GUARDRAIL_BLOCKED');
    assert.equal((await call(`${t.url}/api/items?q0=abc&q1=aa&q2=aaa`)).status, 200);
    const r = await call(`${t.url}/waf`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'x-aaaa',
    });
    assert.equal(r.status, 200);
    const records = (await adminCall(t, 'GET', '/request-log?since=1h')).json.records as {
      requestId: string;
      body: string | null;
    }[];
    const id = r.headers['x-request-id'];
    assert.equal(records.find((x) => x.requestId === id)?.body, 'x-***');
  });

  it('refuses, by path, patterns RE2 cannot run and regex route parameters; the revision stays', async () => {
    const live = (await adminCall(t, 'GET', '/revisions')).json;
    const cfg = config(up.url, llm.url);
    cfg.routes[0].paths = ['/u/:id((a|a)+$)'];
    cfg.gateway.requestLog.captureBody.maskPatterns = ['(a)\\1'];
    const waf = cfg.policies[1].config as { rules: unknown[] };
    waf.rules = [{ id: 'x', category: 'custom', pattern: '^(?!admin)', score: 1 }];
    const r = await adminCall(t, 'POST', '/config', cfg);
    assert.equal(r.status, 400);
    const issues = r.json.error.issues as { path: string; message: string }[];
    const NOT_RE2 = 'which the linear-time engine (RE2) does not support';
    assert.deepEqual(issues, [
      {
        path: '/gateway/requestLog/captureBody/maskPatterns/0',
        message: `pattern uses a backreference (\\1), ${NOT_RE2}`,
      },
      {
        path: '/policies/1/config',
        message: `rules/0/pattern: pattern uses a negative lookahead ((?!...)), ${NOT_RE2}`,
      },
    ]);
    cfg.gateway.requestLog.captureBody.maskPatterns = [];
    waf.rules = [];
    const routes = await adminCall(t, 'POST', '/config', cfg);
    assert.equal(routes.status, 400);
    assert.deepEqual(
      routes.json.error.issues.map((i: { path: string }) => i.path),
      ['/routes/0/paths/0'],
    );
    assert.match(routes.json.error.issues[0].message, /regular-expression parameters/);
    assert.deepEqual((await adminCall(t, 'GET', '/revisions')).json, live);
  });
});
