import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { compileSpec } from '../src/openapi/compile.js';
import { importOpenApi } from '../src/openapi/import.js';
import { PathMatcher, toRoutePath } from '../src/openapi/match.js';
import { paramDef, parseQuery, readParam, REPEATED } from '../src/openapi/params.js';
import { loadSpec, specVersion } from '../src/openapi/spec.js';
import { compiled } from '../src/policies/request-validation/policy.js';

const FIX = join(import.meta.dirname, 'fixtures', 'openapi');

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', ...args],
      { env: { PATH: process.env.PATH, HOME: process.env.HOME }, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('openapi: loading', () => {
  it('bundles relative $refs of YAML and JSON documents into one object', async () => {
    const doc = await loadSpec(join(FIX, 'shop-3.0.yaml'));
    const text = JSON.stringify(doc);
    assert.doesNotMatch(text, /user\.yaml/);
    assert.match(text, /"readOnly":true/);
    assert.equal(specVersion(await loadSpec(join(FIX, 'orders-3.1.json'))), '3.1');
  });
  it('refuses Swagger 2.0 and unknown OpenAPI versions', () => {
    assert.throws(() => specVersion({ swagger: '2.0' }), /Swagger 2.0 is not supported/);
    assert.throws(() => specVersion({ openapi: '4.0.0' }), /OpenAPI 4.0.0 is not supported/);
    assert.throws(() => specVersion({}), /not an OpenAPI document/);
  });
  it('a revision with the same document reuses its compiled validators', async () => {
    const doc = await loadSpec(join(FIX, 'shop-3.0.yaml'));
    const a = compiled(doc, { basePath: '', responses: false });
    assert.equal(compiled(structuredClone(doc), { basePath: '', responses: false }), a);
    assert.notEqual(compiled(doc, { basePath: '/v1', responses: false }), a);
  });
  it('names the operation whose schema does not compile', () => {
    const doc = {
      openapi: '3.0.0',
      paths: {
        '/x': {
          post: {
            operationId: 'bad',
            requestBody: {
              content: { 'application/json': { schema: { type: 'object', required: 'name' } } },
            },
            responses: {},
          },
        },
      },
    };
    assert.throws(() => compileSpec(doc as never, { basePath: '', responses: false }), /operation bad:/);
  });
});

describe('openapi: paths and parameters', () => {
  it('matches concrete paths before templates, with params inside segments', () => {
    const m = new PathMatcher([
      ['/users/{id}', 'one'],
      ['/users/me', 'me'],
      ['/files/{name}.{ext}', 'file'],
    ]);
    assert.equal(m.match('/users/me')?.value, 'me');
    assert.deepEqual(m.match('/users/42')?.params, { id: '42' });
    assert.deepEqual(m.match('/files/a.b.png')?.params, { name: 'a.b', ext: 'png' });
    assert.equal(m.match('/users/42/x'), undefined);
    assert.equal(toRoutePath('/users/{user-id}/posts'), '/users/:user_id/posts');
  });
  it('deserialises styles: simple, label, matrix, form, pipeDelimited, deepObject', () => {
    const raw = (pathParams: Record<string, string>, q = '') => ({
      pathParams,
      query: parseQuery(q),
      headers: {},
      cookies: new Map(),
    });
    const arr = { type: 'array' };
    const obj = { type: 'object', properties: { r: {}, g: {} } };
    const p = (o: object, s?: object) => paramDef({ in: 'path', ...o }, s as never);
    assert.deepEqual(readParam(p({ name: 'c' }, arr), raw({ c: 'a,b%2Cc' })), ['a', 'b,c']);
    assert.deepEqual(readParam(p({ name: 'c', explode: true }, obj), raw({ c: 'r=1,g=2' })), {
      r: '1',
      g: '2',
    });
    assert.deepEqual(readParam(p({ name: 'c', style: 'label', explode: true }, arr), raw({ c: '.x.y' })), [
      'x',
      'y',
    ]);
    assert.deepEqual(
      readParam(p({ name: 'c', style: 'matrix', explode: true }, arr), raw({ c: ';c=1;c=2' })),
      ['1', '2'],
    );
    assert.equal(readParam(p({ name: 'c', style: 'matrix' }), raw({ c: ';c=5' })), '5');
    const q = (o: object, s?: object) => paramDef({ in: 'query', ...o }, s as never);
    assert.deepEqual(readParam(q({ name: 't' }, arr), raw({}, 't=a&t=b')), ['a', 'b']);
    assert.deepEqual(
      readParam(q({ name: 't', style: 'pipeDelimited', explode: false }, arr), raw({}, 't=a|b')),
      ['a', 'b'],
    );
    assert.deepEqual(
      readParam(q({ name: 'f', style: 'deepObject', explode: true }, obj), raw({}, 'f[r]=1&f[g]=x+y')),
      { r: '1', g: 'x y' },
    );
    assert.deepEqual(readParam(q({ name: 'f' }, obj), raw({}, 'r=1&z=2')), { r: '1' });
    assert.equal(readParam(q({ name: 'n' }), raw({}, 'n=1&n=2')), REPEATED);
    assert.deepEqual(
      readParam(
        q({ name: 'j', content: { 'application/json': {} } }),
        raw({}, `j=${encodeURIComponent('{"a":1}')}`),
      ),
      { a: 1 },
    );
  });
});

describe('openapi: import', () => {
  it('emits one exact route per path, a catch-all for undocumented endpoints and one policy', async () => {
    const doc = await loadSpec(join(FIX, 'shop-3.0.yaml'));
    const c = importOpenApi(doc, { service: 'shop', basePath: '/api' });
    assert.deepEqual(
      c.routes.map((r) => [r.name, r.paths[0], r.methods?.join(',')]),
      [
        ['shop-users', '/api/users', 'GET,POST'],
        ['shop-users-id', '/api/users/:id', 'DELETE,GET'],
        ['shop-users-me', '/api/users/me', 'GET'],
        ['shop-files-name-ext', '/api/files/:name_ext', 'GET'],
        ['shop-uploads', '/api/uploads', 'POST'],
        ['shop-xml', '/api/xml', 'POST'],
        ['shop-undocumented', '/api', undefined],
      ],
    );
    assert.deepEqual(
      { ...c.policies[0], config: undefined },
      {
        name: 'request-validation',
        id: 'openapi-shop',
        scope: { service: 'shop' },
        mode: 'enforce',
        config: undefined,
      },
    );
    assert.equal((c.policies[0].config as { basePath: string }).basePath, '/api');
  });

  it('the CLI writes the file, shows a diff for a changed spec and overwrites only with --force', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-openapi-'));
    mkdirSync(join(dir, 'schemas'));
    copyFileSync(join(FIX, 'schemas', 'user.yaml'), join(dir, 'schemas', 'user.yaml'));
    const spec = join(dir, 'spec.yaml');
    const out = join(dir, 'shop.yaml');
    const original = readFileSync(join(FIX, 'shop-3.0.yaml'), 'utf8');
    writeFileSync(spec, original);
    const first = await cli([
      'import-openapi',
      spec,
      '--service',
      'shop',
      '--out',
      out,
      '--upstream',
      'http://127.0.0.1:9',
    ]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /7 routes, request-validation policy 'openapi-shop'/);
    const written = parse(readFileSync(out, 'utf8'));
    assert.equal(written.services[0].name, 'shop');
    const valid = await cli(['validate', out]);
    assert.equal(valid.code, 0, valid.stderr);
    assert.match(valid.stdout, /valid/);

    writeFileSync(
      spec,
      original
        .replace('maximum: 100', 'maximum: 50')
        .replace(
          '  /uploads:',
          '  /health:\n    get:\n      responses: { "200": { description: ok } }\n  /uploads:',
        ),
    );
    const changed = await cli([
      'import-openapi',
      spec,
      '--service',
      'shop',
      '--out',
      out,
      '--upstream',
      'http://127.0.0.1:9',
    ]);
    assert.equal(changed.code, 2);
    assert.match(changed.stdout, /\+ routes\/shop-health/);
    assert.match(changed.stdout, /~ policies\/request-validation#openapi-shop@service:shop/);
    assert.match(
      changed.stdout,
      /\n {4}\/config\/spec\/paths\/\/users\/get\/parameters\/0\/schema\/maximum: 100 -> 50\n/,
    );
    assert.doesNotMatch(changed.stdout, /services/);
    assert.match(changed.stderr, /--force/);
    assert.deepEqual(parse(readFileSync(out, 'utf8')), written);

    const forced = await cli([
      'import-openapi',
      spec,
      '--service',
      'shop',
      '--out',
      out,
      '--force',
      '--upstream',
      'http://127.0.0.1:9',
    ]);
    assert.equal(forced.code, 0, forced.stderr);
    const again = await cli([
      'import-openapi',
      spec,
      '--service',
      'shop',
      '--out',
      out,
      '--upstream',
      'http://127.0.0.1:9',
    ]);
    assert.match(again.stdout, /no changes/);
  });
});
