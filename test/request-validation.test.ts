import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { validator } from '../src/config/ajv.js';
import { importOpenApi } from '../src/openapi/import.js';
import { loadSpec, type OpenApiDoc } from '../src/openapi/spec.js';
import { RequestValidationSchema } from '../src/policies/request-validation/schema.js';
import { accessLineOf } from './helpers/access-log.js';
import { call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

const FIX = join(import.meta.dirname, 'fixtures', 'openapi');
const JSON_CT = { 'content-type': 'application/json' };

function configFor(
  doc: OpenApiDoc,
  upstream: string,
  mode: 'enforce' | 'shadow' | 'off',
  extra: object = {},
) {
  const imported = importOpenApi(doc, { service: 'shop', upstream });
  const p = imported.policies[0] as { mode: string; config: Record<string, unknown> };
  p.mode = mode;
  Object.assign(p.config, extra);
  return imported;
}

describe('request-validation: schema', () => {
  it('requires a spec and refuses unknown keys', () => {
    const v = validator(RequestValidationSchema);
    assert.equal(v({}), false);
    assert.equal(v({ spec: { openapi: '3.0.3' }, bogus: 1 }), false);
    assert.equal(v({ spec: { openapi: '3.0.3', paths: {} } }), true);
  });
});

describe('request-validation through the gateway (enforce)', () => {
  let up: Upstream;
  let t: TestGateway;
  let doc: OpenApiDoc;
  before(async () => {
    up = await startUpstream((req, res, body) => {
      // /users/7 answers without the X-Rate-Limit header the spec requires.
      const out = JSON.stringify({ url: req.url, body });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(out);
    });
    doc = await loadSpec(join(FIX, 'shop-3.0.yaml'));
    t = await startGateway(configFor(doc, up.url, 'enforce'));
  });
  after(async () => {
    await t?.stop();
    await up?.close();
  });

  it('passes a valid request with form, deepObject and header parameters', async () => {
    const r = await call(`${t.url}/users?limit=5&tags=admin,staff&filter[name]=bob&filter[age]=30`, {
      headers: { 'x-trace-id': '3f1d2a6e-8b1c-4c7e-9d3f-2a6e8b1c4c7e' },
    });
    assert.equal(r.status, 200);
    assert.equal((await accessLineOf(t.access, r)).decisions[0].outcome, 'allow');
  });

  it('refuses bad query values, listing the locations only', async () => {
    const r = await call(`${t.url}/users?limit=500&tags=admin,root`);
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'PCS_ERR_REQUEST_INVALID');
    assert.match(r.json.error.message, /query\.limit must be <= 100/);
    assert.match(r.json.error.message, /query\.tags\.1 must be one of the allowed values/);
    assert.doesNotMatch(r.json.error.message, /root|500/);
    assert.equal((await accessLineOf(t.access, r)).decisions[0].rule, 'listUsers:query');
  });

  it('refuses unknown deepObject keys, repeated scalars and a bad header format', async () => {
    assert.match(
      (await call(`${t.url}/users?filter[admin]=1`)).json.error.message,
      /query\.filter\.admin is not allowed/,
    );
    assert.match(
      (await call(`${t.url}/users?limit=1&limit=2`)).json.error.message,
      /query\.limit is given more than once/,
    );
    const h = await call(`${t.url}/users`, { headers: { 'x-trace-id': 'nope' } });
    assert.match(h.json.error.message, /header\.X-Trace-Id must match format "uuid"/);
  });

  it('validates path and cookie parameters; concrete paths before templates', async () => {
    assert.match((await call(`${t.url}/users/abc`)).json.error.message, /path\.id must be integer/);
    assert.match((await call(`${t.url}/users/0`)).json.error.message, /path\.id must be >= 1/);
    assert.equal((await call(`${t.url}/users/me`)).status, 200);
    assert.match((await call(`${t.url}/users/5`)).json.error.message, /cookie\.session is required/);
    assert.equal(
      (await call(`${t.url}/users/5`, { headers: { cookie: 'a=b; session=deadbeef' } })).status,
      200,
    );
    assert.equal((await call(`${t.url}/files/logo.png`)).status, 200);
    assert.match((await call(`${t.url}/files/logo.exe`)).json.error.message, /path\.ext/);
  });

  it('validates JSON bodies: types, formats, readOnly and unknown fields (mass assignment)', async () => {
    const post = (body: string, headers: Record<string, string> = JSON_CT) =>
      call(`${t.url}/users`, { method: 'POST', headers, body });
    assert.equal(
      (await post(JSON.stringify({ name: "O'Brien", email: 'ob@example.com', nickname: null }))).status,
      200,
    );
    const role = await post(JSON.stringify({ name: 'x', role: 'admin' }));
    assert.equal(role.status, 400);
    assert.match(role.json.error.message, /body\.role is read-only/);
    assert.match(
      (await post(JSON.stringify({ name: 'x', isAdmin: true }))).json.error.message,
      /body\.isAdmin is not allowed/,
    );
    assert.match(
      (await post(JSON.stringify({ email: 'not-mail' }))).json.error.message,
      /body\.name is required; body\.email must match format "email"/,
    );
    assert.match((await post('{"name":')).json.error.message, /body is not valid JSON/);
    const none = await call(`${t.url}/users`, { method: 'POST' });
    assert.match(none.json.error.message, /body is required/);
  });

  it('answers 415 for an undocumented content type, and validates urlencoded forms with coercion', async () => {
    const r = await call(`${t.url}/users`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'name=x',
    });
    assert.equal(r.status, 415);
    assert.equal(r.json.error.code, 'PCS_ERR_UNSUPPORTED_MEDIA_TYPE');
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    assert.equal(
      (await call(`${t.url}/users`, { method: 'POST', headers: form, body: 'name=Zo%C3%AB' })).status,
      200,
    );
    const bad = await call(`${t.url}/users`, {
      method: 'POST',
      headers: form,
      body: 'name=x&email=nope&extra=1',
    });
    assert.match(bad.json.error.message, /body\.extra is not allowed/);
    assert.match(bad.json.error.message, /body\.email must match format "email"/);
  });

  it('validates multipart/form-data fields and files', async () => {
    const b = 'XyZb0undary';
    const part = (name: string, value: string, file?: string) =>
      `--${b}\r\nContent-Disposition: form-data; name="${name}"${file ? `; filename="${file}"\r\nContent-Type: application/octet-stream` : ''}\r\n\r\n${value}\r\n`;
    const headers = { 'content-type': `multipart/form-data; boundary=${b}` };
    const ok = `${part('title', 'cat')}${part('count', '3')}${part('file', 'PNGDATA', 'cat.png')}--${b}--\r\n`;
    assert.equal((await call(`${t.url}/uploads`, { method: 'POST', headers, body: ok })).status, 200);
    const bad = `${part('title', 'a very long title')}${part('count', 'x')}--${b}--\r\n`;
    const r = await call(`${t.url}/uploads`, { method: 'POST', headers, body: bad });
    assert.equal(r.status, 400);
    assert.match(r.json.error.message, /body\.file is required/);
    assert.match(r.json.error.message, /body\.title must NOT have more than 10 characters/);
    assert.match(r.json.error.message, /body\.count must be integer/);
    const broken = await call(`${t.url}/uploads`, { method: 'POST', headers, body: 'garbage' });
    assert.match(broken.json.error.message, /body is not valid multipart/);
  });

  it('does not parse XML: an entity declaration is passed on unexpanded when the type is documented', async () => {
    const xxe = '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>';
    const r = await call(`${t.url}/xml`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml' },
      body: xxe,
    });
    assert.equal(r.status, 200);
    assert.equal(up.seen[up.seen.length - 1].body, xxe);
  });

  it('refuses undocumented paths and methods with PCS_ERR_UNDOCUMENTED_ENDPOINT', async () => {
    for (const [method, path] of [
      ['GET', '/admin/debug'],
      ['PATCH', '/users'],
      ['DELETE', '/users/me'],
    ]) {
      const r = await call(`${t.url}${path}`, { method });
      assert.equal(r.status, 404, `${method} ${path}`);
      assert.equal(r.json.error.code, 'PCS_ERR_UNDOCUMENTED_ENDPOINT');
    }
    const ev = t.logs.lines.find((l) => l.security_event && l.type === 'openapi.undocumented') as Record<
      string,
      any
    >;
    assert.equal(ev.detail.path, '/admin/debug');
  });

  it('bounds the answer: at most maxErrors locations, names cut, no values echoed', async () => {
    const body: Record<string, string> = { name: 'x' };
    for (let i = 0; i < 12; i++) body[`field${i}${'z'.repeat(100)}`] = 'SECRET-VALUE';
    const r = await call(`${t.url}/users`, { method: 'POST', headers: JSON_CT, body: JSON.stringify(body) });
    assert.equal(r.status, 400);
    const msg: string = r.json.error.message;
    assert.match(msg, /\(and \d+ more\)$/);
    assert.equal(msg.split(';').length, 5);
    assert.doesNotMatch(msg, /SECRET|z{65}/);
  });
});

describe('request-validation: shadow, off and responses', () => {
  let up: Upstream;
  let doc: OpenApiDoc;
  before(async () => {
    up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<p>hi</p>');
    });
    doc = await loadSpec(join(FIX, 'shop-3.0.yaml'));
  });
  after(() => up?.close());

  it('shadow records would_deny and lets invalid and undocumented requests through', async () => {
    const t = await startGateway(configFor(doc, up.url, 'shadow'));
    try {
      const bad = await call(`${t.url}/users?limit=500`);
      assert.equal(bad.status, 200);
      const d = (await accessLineOf(t.access, bad)).decisions[0];
      assert.deepEqual(
        [d.outcome, d.code, d.rule],
        ['would_deny', 'PCS_ERR_REQUEST_INVALID', 'listUsers:query'],
      );
      const hidden = await call(`${t.url}/hidden`);
      assert.equal(hidden.status, 200);
      assert.equal((await accessLineOf(t.access, hidden)).decisions[0].code, 'PCS_ERR_UNDOCUMENTED_ENDPOINT');
    } finally {
      await t.stop();
    }
  });

  it('off makes no decision at all', async () => {
    const t = await startGateway(configFor(doc, up.url, 'off'));
    try {
      const r = await call(`${t.url}/users?limit=500`);
      assert.equal(r.status, 200);
      assert.equal((await accessLineOf(t.access, r)).decisions, undefined);
    } finally {
      await t.stop();
    }
  });

  it('unknownQuery: reject refuses undocumented query parameters', async () => {
    const t = await startGateway(configFor(doc, up.url, 'enforce', { unknownQuery: 'reject' }));
    try {
      assert.equal((await call(`${t.url}/users?limit=5&filter[name]=x`)).status, 200);
      const r = await call(`${t.url}/users?limit=5&role=admin`);
      assert.equal(r.status, 400);
      assert.match(r.json.error.message, /query\.role is not documented/);
      assert.match(
        (await call(`${t.url}/users/me?debug=1`)).json.error.message,
        /query\.debug is not documented/,
      );
    } finally {
      await t.stop();
    }
  });

  it('undocumented: allow lets shadow APIs through with an event', async () => {
    const t = await startGateway(configFor(doc, up.url, 'enforce', { undocumented: 'allow' }));
    try {
      const r = await call(`${t.url}/hidden`);
      assert.equal(r.status, 200);
      assert.equal((await accessLineOf(t.access, r)).decisions[0].rule, 'undocumented');
      assert.ok(t.logs.lines.some((l) => l.security_event && l.type === 'openapi.undocumented'));
    } finally {
      await t.stop();
    }
  });

  it('records responses that break the spec; blocks them only with responses.block', async () => {
    const t = await startGateway(configFor(doc, up.url, 'enforce', { responses: { validate: true } }));
    try {
      const r = await call(`${t.url}/users/5`, { headers: { cookie: 'session=deadbeef' } });
      assert.equal(r.status, 200);
      const d = (await accessLineOf(t.access, r)).decisions.find(
        (x: { phase: string }) => x.phase === 'response',
      );
      assert.deepEqual([d.outcome, d.rule], ['allow', 'getUser:response-mismatch']);
      const ev = t.logs.lines.find((l) => l.type === 'openapi.response_mismatch') as Record<string, any>;
      assert.deepEqual(ev.detail.issues, [
        'content-type text/html not documented',
        'header x-rate-limit missing',
      ]);
    } finally {
      await t.stop();
    }
  });

  it('responses.block replaces a mismatching answer with 502', async () => {
    const b = await startGateway(
      configFor(doc, up.url, 'enforce', { responses: { validate: true, block: true } }),
    );
    try {
      const r = await call(`${b.url}/users/5`, { headers: { cookie: 'session=deadbeef' } });
      assert.equal(r.status, 502);
      assert.equal(r.json.error.code, 'PCS_ERR_RESPONSE_INVALID');
      assert.doesNotMatch(r.text, /<p>hi/);
    } finally {
      await b.stop();
    }
  });

  it('OpenAPI 3.1: type arrays, exclusiveMinimum as a number, header coercion, base path', async () => {
    const d31 = await loadSpec(join(FIX, 'orders-3.1.json'));
    const imported = importOpenApi(d31, { service: 'shop', upstream: up.url, basePath: '/v2' });
    const t = await startGateway(imported);
    try {
      const put = (id: string, body: unknown, version = '3') =>
        call(`${t.url}/v2/orders/${id}`, {
          method: 'PUT',
          headers: { ...JSON_CT, 'x-version': version },
          body: JSON.stringify(body),
        });
      assert.equal((await put('o-1', { items: ['a'], note: null, total: 2.5 })).status, 200);
      const bad = await put('x-1', { items: [1], total: 0 }, 'v3');
      assert.equal(bad.status, 400);
      for (const loc of ['path.id', 'header.X-Version', 'body.items.0', 'body.total'])
        assert.ok(bad.json.error.message.includes(loc), loc);
      assert.equal((await call(`${t.url}/v2/orders/o-1`)).json.error.code, 'PCS_ERR_UNDOCUMENTED_ENDPOINT');
    } finally {
      await t.stop();
    }
  });
});
