// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${env:X}` secret references are literal config text here
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { accessLineOf } from './helpers/access-log.js';
import { adminCall, call, minimalConfig, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

/**
 * Configs a gateway must refuse whole, through `portcullis validate` and through `POST /config`:
 * every error listed by JSON path, the running revision unchanged, traffic still served, and
 * resolved secret values never printed.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'portcullis-hostile-config-'));

/** Secret values used below; none may ever appear in an answer. */
const SECRET_CIDR = 'cidr-s3cr3t-9f2Q';
const SECRET_PASSWORD = 'pw-s3cr3t-Zk81x';
const SECRET_KEY = 'key-s3cr3t-Qm72y';
const SECRET_FILE_VALUE = 'file-s3cr3t-Lp40z';
const secretFile = join(tmp, 'route-key.txt');
writeFileSync(secretFile, `${SECRET_FILE_VALUE}\n`);
const SECRET_ENV = {
  PCS_TEST_SECRET_CIDR: SECRET_CIDR,
  PCS_TEST_UP_PASSWORD: SECRET_PASSWORD,
  PCS_TEST_ROUTE_KEY: SECRET_KEY,
};
const ALL_SECRETS = [SECRET_CIDR, SECRET_PASSWORD, SECRET_KEY, SECRET_FILE_VALUE];

interface Case {
  name: string;
  text: string;
  /** Every issue path expected, exactly (a RegExp for paths carrying a line number). */
  paths: (string | RegExp)[];
  /** Fragments some issue message must contain, by path. */
  messages?: Record<string, string>;
}

const CASES: Case[] = [
  {
    name: 'invalid YAML',
    text: 'services:\n  - name: echo\n    targets: [{ url: "http://127.0.0.1:1" }\nroutes: []\n',
    paths: [/:4:1$/],
  },
  {
    name: 'duplicate YAML keys',
    text: 'services: []\nroutes: []\nservices: []\n',
    paths: [/:3:1$/],
  },
  {
    name: 'a YAML alias bomb',
    text: [
      'a: &a ["x","x","x","x","x","x","x","x","x","x"]',
      'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]',
      'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]',
      'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]',
      'e: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]',
      '',
    ].join('\n'),
    paths: [/^(body|.*\.yaml)$/],
  },
  {
    name: 'a document that is not a mapping',
    text: '- services\n- routes\n',
    paths: ['/'],
  },
  {
    name: 'an empty document',
    text: '# nothing but a comment\n',
    paths: [/^(body|.*\.yaml)$/],
    messages: {},
  },
  {
    name: 'schema errors: unknown keys and wrong types, all at once',
    text: [
      'services:',
      '  - name: echo',
      '    targets: [{ url: "http://127.0.0.1:1", weight: "heavy" }]',
      '    connections: -1',
      '    colour: blue',
      'routes:',
      '  - name: r',
      '    service: echo',
      '    paths: ["no-leading-slash"]',
      '    priority: high',
      'policies: []',
      'unknownTop: 1',
      '',
    ].join('\n'),
    paths: [
      '/services/0/targets/0/weight',
      '/services/0/connections',
      '/services/0/colour',
      '/routes/0/paths/0',
      '/routes/0/priority',
      '/unknownTop',
    ],
    messages: {
      '/services/0/colour': 'unknown key',
      '/unknownTop': 'unknown key',
      '/routes/0/priority': 'integer',
      '/services/0/connections': '>= 1',
    },
  },
  {
    name: 'a missing ${env:NAME} and a missing ${file:PATH}',
    text: [
      'services:',
      '  - name: echo',
      '    targets: [{ url: "http://u:${env:PCS_TEST_NOT_SET_ANYWHERE}@127.0.0.1:1" }]',
      'routes:',
      '  - name: r',
      '    service: echo',
      '    paths: ["/a"]',
      `    headers: { x-api-key: "\${file:${join(tmp, 'no-such-file')}}" }`,
      '',
    ].join('\n'),
    paths: ['/services/0/targets/0/url', '/routes/0/headers/x-api-key'],
    messages: {
      '/services/0/targets/0/url': 'PCS_TEST_NOT_SET_ANYWHERE',
      '/routes/0/headers/x-api-key': 'ENOENT',
    },
  },
  {
    name: 'a config that validates but cannot compile',
    text: [
      'services:',
      '  - name: echo',
      '    targets: [{ url: "http://127.0.0.1:1" }]',
      'routes:',
      '  - { name: r, service: echo, paths: ["/a"] }',
      '  - { name: r, service: echo, paths: ["/b"] }',
      '  - { name: lost, service: nowhere, paths: ["/c"] }',
      'policies:',
      '  - { name: ip-restriction, config: { deny: ["10.0.0.0/33"] } }',
      '  - { name: no-such-policy, config: {} }',
      'gateway: { trustedProxies: ["not-a-cidr"] }',
      '',
    ].join('\n'),
    paths: [
      '/routes/1/name',
      '/routes/2/service',
      '/policies/0/config/deny/0',
      '/policies/1/name',
      '/gateway/trustedProxies/0',
    ],
    messages: {
      '/routes/1/name': "duplicate name 'r'",
      '/routes/2/service': "no service named 'nowhere'",
      '/policies/0/config/deny/0': '10.0.0.0/33',
      '/policies/1/name': "unknown policy 'no-such-policy'",
    },
  },
  {
    name: 'a policy error that would quote a resolved secret',
    text: [
      'services:',
      '  - name: echo',
      '    targets: [{ url: "http://127.0.0.1:1" }]',
      'routes: [{ name: r, service: echo, paths: ["/a"] }]',
      'policies:',
      '  - { name: ip-restriction, config: { deny: ["${env:PCS_TEST_SECRET_CIDR}"] } }',
      '',
    ].join('\n'),
    paths: ['/policies/0/config/deny/0'],
    messages: { '/policies/0/config/deny/0': '[REDACTED]' },
  },
  {
    name: 'a target URL that is invalid once its secret is resolved',
    text: [
      'services:',
      '  - name: echo',
      '    targets: [{ url: "http://${env:PCS_TEST_ROUTE_KEY} x/" }]',
      'routes: [{ name: r, service: echo, paths: ["/a"] }]',
      '',
    ].join('\n'),
    paths: ['/services/0/targets/0/url'],
    messages: { '/services/0/targets/0/url': 'not a valid URL' },
  },
];

function assertIssues(c: Case, issues: { path: string; message: string }[], where: string): void {
  assert.equal(issues.length, c.paths.length, `${where}: ${JSON.stringify(issues)}`);
  for (const p of c.paths) {
    const hit = issues.find((i) => (typeof p === 'string' ? i.path === p : p.test(i.path)));
    assert.ok(hit, `${where}: no issue at ${p}; got ${JSON.stringify(issues)}`);
    assert.ok(hit.message.length > 0);
  }
  for (const [path, fragment] of Object.entries(c.messages ?? {})) {
    const hit = issues.find((i) => i.path === path);
    assert.ok(
      hit?.message.includes(fragment),
      `${where}: ${path} should mention '${fragment}': ${hit?.message}`,
    );
  }
  const text = JSON.stringify(issues);
  for (const s of ALL_SECRETS) assert.ok(!text.includes(s), `${where}: a secret value leaked: ${text}`);
}

function runValidate(file: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'validate', file],
      { cwd: ROOT, env: { ...process.env, ...SECRET_ENV }, timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    );
  });
}

/** The `  path: message` lines of the CLI's refusal. */
function cliIssues(stderr: string): { path: string; message: string }[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('  '))
    .map((l) => {
      const t = l.trim();
      // A path is a JSON pointer or file[:line:col]; the message follows the first ': '.
      const at = t.indexOf(': ');
      return { path: t.slice(0, at), message: t.slice(at + 2) };
    });
}

after(() => rmSync(tmp, { recursive: true, force: true }));

describe('portcullis validate refuses bad configs with every error by path', () => {
  it('prints "valid" and exits 0 on examples/gateway.yaml', async () => {
    const r = await runValidate('examples/gateway.yaml');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'examples/gateway.yaml: valid\n');
  });

  for (const c of CASES) {
    it(`exits 1 on ${c.name}`, async () => {
      const file = join(tmp, `${c.name.replace(/[^a-z0-9]+/gi, '-')}.yaml`);
      writeFileSync(file, c.text);
      const r = await runValidate(file);
      assert.equal(r.code, 1, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^configuration refused \(\d+ errors?\):\n/);
      assertIssues(c, cliIssues(r.stderr), 'cli');
      for (const s of ALL_SECRETS) assert.ok(!r.stderr.includes(s), 'no secret in the CLI output');
    });
  }
});

describe('POST /config refuses bad configs and keeps the running revision', () => {
  let up: Upstream;
  let t: TestGateway;
  let revision: number;

  before(async () => {
    up = await startUpstream();
    t = await startGateway(minimalConfig(up.url), {
      secretEnv: { env: { ...SECRET_ENV }, readFile: (p) => readFileSync(p, 'utf8') },
    });
    revision = t.gw.revisions.active!.id;
  });
  after(async () => {
    await t.stop();
    await up.close();
  });

  async function unchanged(): Promise<void> {
    const s = await adminCall(t, 'GET', '/status');
    assert.equal(s.status, 200);
    assert.equal(s.json.revision.id, revision, 'the running revision is unchanged');
    const list = await adminCall(t, 'GET', '/revisions');
    assert.equal(list.json.revisions.length, 1, 'no revision was stored');
    const r = await call(`${t.url}/hello/still`);
    assert.equal(r.status, 200, 'traffic is still served by the old routes');
    assert.equal(r.json.url, '/hello/still');
  }

  for (const c of CASES) {
    it(`answers 400 PCS_ERR_CONFIG_INVALID to ${c.name}`, async () => {
      const r = await adminCall(t, 'POST', '/config', c.text, { 'content-type': 'application/yaml' });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error.code, 'PCS_ERR_CONFIG_INVALID');
      assertIssues(c, r.json.error.issues, 'admin');
      await unchanged();
    });
  }

  it('refuses an empty body rather than wiping every route', async () => {
    const r = await adminCall(t, 'POST', '/config', '');
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'PCS_ERR_CONFIG_INVALID');
    assert.deepEqual(r.json.error.issues, [{ path: 'body', message: 'the configuration is empty' }]);
    await unchanged();
  });

  it('refuses a dry run of a bad config the same way', async () => {
    const bad = CASES.find((c) => c.name.startsWith('a config that validates'))!;
    const r = await adminCall(t, 'POST', '/config?dry_run=true', bad.text);
    assert.equal(r.status, 400);
    assertIssues(bad, r.json.error.issues, 'dry run');
    await unchanged();
  });

  it('refuses deeply nested JSON without falling over', async () => {
    const deep = `{"services":${'['.repeat(50_000)}${']'.repeat(50_000)}}`;
    const r = await adminCall(t, 'POST', '/config', deep);
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'PCS_ERR_CONFIG_INVALID');
    await unchanged();
  });
});

describe('resolved secrets are never printed', () => {
  let up: Upstream;
  let t: TestGateway;

  const config = (extraRoute = false) => ({
    services: [
      {
        name: 'echo',
        targets: [{ url: `http://svc:\${env:PCS_TEST_UP_PASSWORD}@127.0.0.1:${new URL(up.url).port}` }],
      },
    ],
    routes: [
      {
        name: 'keyed',
        service: 'echo',
        paths: ['/keyed'],
        headers: { 'x-api-key': '${env:PCS_TEST_ROUTE_KEY}' },
      },
      {
        name: 'filed',
        service: 'echo',
        paths: ['/filed'],
        headers: { 'x-file-key': `\${file:${secretFile}}` },
      },
      ...(extraRoute ? [{ name: 'extra', service: 'echo', paths: ['/extra'] }] : []),
    ],
    policies: [{ name: 'ip-restriction', config: { deny: ['${env:PCS_TEST_SECRET_CIDR}'] }, mode: 'off' }],
  });

  before(async () => {
    up = await startUpstream();
    t = await startGateway(config(), {
      secretEnv: { env: { ...SECRET_ENV }, readFile: (p) => readFileSync(p, 'utf8') },
    });
  });
  after(async () => {
    await t.stop();
    await up.close();
  });

  function noSecret(text: string, where: string): void {
    for (const s of ALL_SECRETS) assert.ok(!text.includes(s), `${where} leaks a secret value: ${text}`);
  }

  it('resolves them for matching: the route headers match the secret values', async () => {
    assert.equal((await call(`${t.url}/keyed`, { headers: { 'x-api-key': SECRET_KEY } })).status, 200);
    assert.equal((await call(`${t.url}/keyed`, { headers: { 'x-api-key': 'wrong' } })).status, 404);
    assert.equal(
      (await call(`${t.url}/filed`, { headers: { 'x-file-key': SECRET_FILE_VALUE } })).status,
      200,
    );
  });

  it('keeps them out of GET /config, GET /revisions/:id, diffs, dry runs and /status', async () => {
    const first = t.gw.revisions.active!.id;
    const applied = await adminCall(t, 'POST', '/config', config(true));
    assert.equal(applied.status, 201, applied.text);
    noSecret(applied.text, 'the apply answer');
    const second = applied.json.revision.id;
    for (const path of [
      '/config',
      `/revisions/${first}`,
      `/revisions/${second}`,
      `/revisions/${first}/diff/${second}`,
      `/revisions/${second}/diff/${first}`,
      '/revisions',
      '/status',
      '/audit',
    ]) {
      const r = await adminCall(t, 'GET', path);
      assert.equal(r.status, 200, path);
      noSecret(r.text, path);
    }
    const stored = await adminCall(t, 'GET', `/revisions/${second}`);
    assert.equal(
      stored.json.config.routes[0].headers['x-api-key'],
      '${env:PCS_TEST_ROUTE_KEY}',
      'the revision keeps the reference, not the value',
    );
    const dry = await adminCall(t, 'POST', '/config?dry_run=true', config(false));
    assert.equal(dry.status, 200);
    noSecret(dry.text, 'a dry run');
  });

  it('keeps them out of refusals, even when a policy quotes the value it refused', async () => {
    const bad = config(true);
    bad.policies[0].mode = 'enforce';
    const r = await adminCall(t, 'POST', '/config', bad);
    assert.equal(r.status, 400);
    assert.equal(r.json.error.issues[0].path, '/policies/0/config/deny/0');
    assert.match(r.json.error.issues[0].message, /\[REDACTED\]/);
    noSecret(r.text, 'the refusal');
  });

  it('keeps them out of the access log and the error log', async () => {
    const r = await call(`${t.url}/keyed`, { headers: { 'x-api-key': SECRET_KEY } });
    await accessLineOf(t.access, r); // written, so the check below sees it
    noSecret(
      JSON.stringify(t.access.lines.map(({ request_id: _r, ...l }) => ({ ...l, headers: undefined }))),
      'the access log',
    );
    noSecret(JSON.stringify(t.logs.lines), 'the error log');
  });
});
