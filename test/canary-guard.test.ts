import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Canary, jwtSubject, type RollbackBounds } from '../src/canary/canary.js';
import { LatencyHistogram } from '../src/canary/stats.js';
import type { CompiledRevision } from '../src/runtime/compile.js';
import type { Decision } from '../src/core/policy.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const deny: Decision = {
  policy: 'waf',
  id: 'waf',
  scope: 'global',
  phase: 'validate',
  mode: 'enforce',
  outcome: 'deny',
};

function canary(bounds: Partial<RollbackBounds>) {
  const rev = { id: 7, hash: 'c'.repeat(64) } as CompiledRevision;
  const meta = { id: 7, hash: rev.hash, parent: 6, author: 'a', message: '', createdAt: '' };
  return new Canary(
    rev,
    meta,
    { percent: 10, sticky: 'ip' },
    { forMs: 0, intervalMs: 1000, minRequests: 10, ...bounds },
    T0,
    'a',
    'b'.repeat(64),
  );
}

describe('canary guard: one evaluation per interval', () => {
  it('rolls back on the p99 bound at once with for: 0s', () => {
    const c = canary({ maxP99Ms: 100 });
    for (let i = 0; i < 98; i++) c.record('canary', 200, 10, undefined);
    c.record('canary', 200, 900, undefined);
    c.record('canary', 200, 900, undefined);
    const e = c.evaluate(T0);
    assert.equal(e.verdict, 'rollback');
    assert.equal(e.canary.p99Ms !== null && e.canary.p99Ms >= 900 && e.canary.p99Ms < 990, true);
    assert.match(e.violations[0], /^p99Ms \d+(\.\d+)? > 100$/);
  });

  it('a deny-rate breach must last `for`; a good interval clears it', () => {
    const c = canary({ maxDenyRate: 0.1, forMs: 60_000 });
    const interval = (denied: number) => {
      for (let i = 0; i < 20; i++) c.record('canary', i < denied ? 403 : 200, 1, i < denied ? [deny] : []);
    };
    interval(5);
    assert.equal(c.evaluate(T0).verdict, 'breach');
    interval(0);
    assert.equal(c.evaluate(T0 + 30_000).verdict, 'ok');
    interval(5);
    assert.equal(c.evaluate(T0 + 40_000).breachSince, new Date(T0 + 40_000).toISOString());
    interval(5);
    assert.equal(c.evaluate(T0 + 90_000).verdict, 'breach');
    interval(5);
    const e = c.evaluate(T0 + 100_000);
    assert.equal(e.verdict, 'rollback');
    assert.deepEqual(e.violations, ['denyRate 0.25 > 0.1']);
    assert.deepEqual(e.canary.denyRateByPolicy, { 'waf@global': 0.25 });
  });

  it('stable traffic never trips the guard, and the cumulative view keeps both cohorts', () => {
    const c = canary({ max5xxRate: 0 });
    for (let i = 0; i < 50; i++) c.record('stable', 500, 1, undefined);
    for (let i = 0; i < 10; i++) c.record('canary', 200, 1, undefined);
    assert.equal(c.evaluate(T0).verdict, 'ok');
    assert.deepEqual([c.total.stable.summary().rate5xx, c.total.canary.summary().requests], [1, 10]);
  });
});

describe('latency histogram', () => {
  it('reports quantiles within 10 % above the true value, in fixed memory', () => {
    const h = new LatencyHistogram();
    for (let ms = 1; ms <= 1000; ms++) h.record(ms);
    const p50 = h.quantile(0.5)!;
    const p99 = h.quantile(0.99)!;
    assert.ok(p50 >= 500 && p50 <= 550, `p50 ${p50}`);
    assert.ok(p99 >= 990 && p99 <= 1089, `p99 ${p99}`);
    assert.equal(new LatencyHistogram().quantile(0.5), null);
  });
});

describe('sticky key of a bearer JWT', () => {
  const jwt = (claims: object) =>
    `Bearer eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

  it('is its issuer and subject, so a refreshed token keeps the cohort', () => {
    assert.equal(jwtSubject(jwt({ iss: 'https://idp', sub: 'u1', iat: 1 })), 'jwt:https://idp|u1');
    assert.equal(jwtSubject(jwt({ iss: 'https://idp', sub: 'u1', iat: 2 })), 'jwt:https://idp|u1');
  });

  it('falls back to the whole credential for anything else', () => {
    for (const h of ['Bearer opaque-token', 'Basic YWxpY2U6cHc=', jwt({ iss: 'x' }), 'Bearer a.!!!.c'])
      assert.equal(jwtSubject(h), undefined, h);
  });
});
