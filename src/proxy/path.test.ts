import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CANONICAL,
  DEFAULT_PATH_OPTIONS as D,
  needsNormalizing,
  normalizePath,
  type PathOptions,
  PathRefusal,
} from './path.js';

const norm = (p: string, o: Partial<PathOptions> = {}) => {
  const r = normalizePath(p, { ...D, ...o });
  return r instanceof PathRefusal ? `refused: ${r.reason}` : r;
};

describe('needsNormalizing', () => {
  it('passes ordinary paths and flags every spelling that needs work', () => {
    for (const p of ['/', '/hello/world', '/a/b/', '/.well-known/x', '/v1.0/a..b', '/ADMIN', '/a-b_c~d'])
      assert.equal(needsNormalizing(p), false, p);
    for (const p of [
      '//a',
      '/a//b',
      '/a/',
      '/a;x',
      '/a%41',
      '/a\\b',
      '/a.',
      '/a/./b',
      '/a/..',
      '/.',
      '/a\x00',
    ])
      assert.equal(needsNormalizing(p), p !== '/a/', p);
  });
  it('leaves what it passes unchanged under every option set', () => {
    for (const p of ['/', '/hello/world', '/a/b/', '/.well-known/x', '/v1.0/a..b'])
      for (const o of [D, CANONICAL]) assert.equal(normalizePath(p, o), p);
  });
});

describe('normalizePath', () => {
  it('resolves dot segments, encoded dots included, and refuses climbing above the root', () => {
    assert.equal(norm('/hello/../admin/x'), '/admin/x');
    assert.equal(norm('/hello/%2e%2E/admin'), '/admin');
    assert.equal(norm('/a/./b/.'), '/a/b/');
    assert.equal(norm('/a/..'), '/');
    assert.match(norm('/../etc'), /climbs above the root/);
    assert.match(norm('/%2e%2e/etc'), /climbs above the root/);
  });
  it('decodes unreserved characters and upper-cases the other escapes', () => {
    assert.equal(norm('/%61dmin'), '/admin');
    assert.equal(norm('/%41%7e%5F'), '/A~_');
    assert.equal(norm('/a%3bb%3f%c3%a9'), '/a%3Bb%3F%C3%A9');
  });
  it('always refuses control characters, NUL and bad encodings', () => {
    for (const p of ['/admin%00', '/a%0d%0ab', '/a%1F', '/a%7f', '/a\x00', '/a\x7f'])
      assert.match(norm(p, { escapedSlashes: 'keep', pathParams: 'keep' }), /control character/, p);
    for (const p of ['/a%', '/a%2', '/a%zz', '/a%c0%af', '/a%ff'])
      assert.match(norm(p), /invalid percent-encoding/, p);
  });
  it('merges slashes unless told not to', () => {
    assert.equal(norm('//admin'), '/admin');
    assert.equal(norm('/a///b//'), '/a/b/');
    assert.equal(norm('//admin', { mergeSlashes: false }), '//admin');
    assert.equal(norm('/a//..', { mergeSlashes: false }), '/a/');
  });
  it('escapedSlashes: reject, decode or keep', () => {
    assert.match(norm('/admin%2fx'), /encoded slash/);
    assert.match(norm('/admin%5Cx'), /encoded slash/);
    assert.equal(norm('/admin%2fx', { escapedSlashes: 'decode' }), '/admin/x');
    assert.equal(norm('/files/a%2fb', { escapedSlashes: 'keep' }), '/files/a%2Fb');
    assert.match(norm('/admin%5cx', { escapedSlashes: 'decode' }), /backslash/);
    assert.equal(norm('/admin%5cx', { escapedSlashes: 'decode', backslashes: 'slash' }), '/admin/x');
    assert.match(norm('/p/..%2fadmin', { escapedSlashes: 'keep' }), /hidden/);
    assert.equal(norm('/p/..%2fadmin', { escapedSlashes: 'decode' }), '/admin');
  });
  it('backslashes: reject, slash or keep', () => {
    assert.match(norm('/admin\\x'), /backslash/);
    assert.equal(norm('/admin\\x', { backslashes: 'slash' }), '/admin/x');
    assert.equal(norm('/a\\b', { backslashes: 'keep' }), '/a\\b');
    assert.match(norm('/p/..\\admin', { backslashes: 'keep' }), /hidden/);
  });
  it('pathParams: reject, strip or keep', () => {
    assert.match(norm('/admin;x'), /path parameter/);
    assert.equal(norm('/admin;jsessionid=1/x', { pathParams: 'strip' }), '/admin/x');
    assert.equal(norm('/p/..;x/admin', { pathParams: 'strip' }), '/admin');
    assert.equal(norm('/a;v=1/b', { pathParams: 'keep' }), '/a;v=1/b');
    assert.match(norm('/p/..;x/admin', { pathParams: 'keep' }), /hidden/);
  });
  it('trailingDotOrSpace: reject, strip or keep; dots and spaces alone always refused', () => {
    assert.match(norm('/admin.'), /ends with a dot or space/);
    assert.match(norm('/admin%20'), /ends with a dot or space/);
    assert.match(norm('/admin%2e'), /ends with a dot or space/);
    assert.equal(norm('/admin.%20./x', { trailingDotOrSpace: 'strip' }), '/admin/x');
    assert.equal(norm('/v1./x', { trailingDotOrSpace: 'keep' }), '/v1./x');
    for (const p of ['/a/.../b', '/a/..%20/b', '/a/.%20'])
      assert.match(norm(p, { trailingDotOrSpace: 'keep' }), /dots and spaces/, p);
  });
  it('the canonical reading is the most lenient one, and reading a normalised path again changes nothing', () => {
    assert.equal(normalizePath('//ADMIN;x/%2e%2e/admin%5Cb%2fc./', CANONICAL), '/admin/b/c/');
    const inputs = [
      '//admin',
      '/a;x/b',
      '/a%2fb/c',
      '/a\\b',
      '/admin./x',
      '/a%20',
      '/x/%61/..;p/y',
      '/a//b/',
    ];
    const modes: Partial<PathOptions>[] = [
      {},
      CANONICAL,
      { mergeSlashes: false, escapedSlashes: 'keep', backslashes: 'keep', pathParams: 'keep' },
      { escapedSlashes: 'decode', pathParams: 'strip', trailingDotOrSpace: 'strip', backslashes: 'slash' },
      { trailingDotOrSpace: 'keep', pathParams: 'keep' },
    ];
    for (const p of inputs) {
      const c = normalizePath(p, CANONICAL);
      for (const m of modes) {
        const o = { ...D, ...m };
        const f = normalizePath(p, o);
        if (f instanceof PathRefusal) continue;
        assert.equal(normalizePath(f, o), f, `${p} is stable under its own options`);
        assert.deepEqual(normalizePath(f, CANONICAL), c, `${p}: forwarded and canonical readings agree`);
      }
    }
  });
});
