import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { accessLineOf } from './helpers/access-log.js';
import { adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

const spec = {
  openapi: '3.1.0',
  info: { title: 'users', version: '1' },
  paths: {
    '/users/{id}': {
      get: {
        operationId: 'getUser',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          '200': {
            description: 'a user',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['id', 'name'],
                  properties: { id: { type: 'string' }, name: { type: 'string' }, age: { type: 'integer' } },
                },
              },
            },
          },
        },
      },
    },
  },
};

describe('request-validation: response bodies are checked after they went out', () => {
  let up: Upstream;
  let gw: TestGateway;
  const answers: Record<string, string> = {
    '/users/ok': '{"id":"ok","name":"Ann","age":41}',
    '/users/leak': '{"id":"leak","name":"Bob","passwordHash":"$2b$10$abc"}',
    '/users/type': '{"id":"type","name":"Cy","age":"forty"}',
    '/users/broken': '{"id":"broken",',
  };
  before(async () => {
    up = await startUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(answers[req.url ?? ''] ?? '{}');
    });
    gw = await startGateway({
      services: [{ name: 'api', targets: [{ url: up.url }] }],
      routes: [{ name: 'users', service: 'api', paths: ['/users'] }],
      policies: [
        {
          name: 'request-validation',
          scope: { route: 'users' },
          mode: 'enforce',
          config: { spec, responses: { validate: true } },
        },
      ],
    });
  });
  after(async () => {
    await gw.stop();
    await up.close();
  });

  const decisionFor = async (path: string) => {
    const r = await call(`${gw.url}${path}`);
    const line = await accessLineOf(gw.access, r);
    const d = (
      (line.decisions ?? []) as { phase: string; outcome: string; rule?: string; code?: string }[]
    ).filter((x) => x.phase === 'response' && x.outcome === 'would_deny');
    return { r, d };
  };

  it('passes a matching body with no response decision', async () => {
    const { r, d } = await decisionFor('/users/ok');
    assert.equal(r.status, 200);
    assert.deepEqual(d, []);
  });

  it('records a leaking field, a wrong type and broken JSON, while the client gets the body untouched', async () => {
    for (const path of ['/users/leak', '/users/type', '/users/broken']) {
      const { r, d } = await decisionFor(path);
      assert.equal(r.status, 200, path);
      assert.equal(r.text, answers[path], `${path}: body streamed unchanged`);
      assert.equal(d.length, 1, path);
      assert.equal(d[0].rule, 'getUser:response-body');
      assert.equal(d[0].code, 'PCS_ERR_RESPONSE_INVALID');
    }
    const events = gw.logs.lines.filter((l) => l.type === 'openapi.response_mismatch');
    const leak = events.find((e) => JSON.stringify(e).includes('passwordHash'));
    assert.ok(leak, 'a security event names the leaking field');
    const m = await adminCall(gw, 'GET', '/metrics');
    assert.match(
      m.text,
      /portcullis_policy_decisions_total\{policy="request-validation",mode="enforce",outcome="would_deny"\} 3/,
    );
  });
});
