import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { validator } from '../src/config/ajv.js';
import { ManualClock } from '../src/core/clock.js';
import { BanSchema } from '../src/policies/ban/schema.js';
import { accessLineOf } from './helpers/access-log.js';
import { ADMIN_TOKEN, adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

const T0 = Date.UTC(2024, 0, 15, 12, 0, 0);

function config(upstream: string, ban: Record<string, unknown>, mode = 'enforce') {
  return {
    services: [{ name: 'app', targets: [{ url: upstream }] }],
    routes: [{ name: 'login', service: 'app', paths: ['/login'] }],
    policies: [
      {
        name: 'ban',
        mode,
        config: { key: [{ header: 'x-client' }], after: 3, window: '1m', duration: '10m', ...ban },
      },
    ],
  };
}

/** Waits for the log phase's asynchronous count to land. */
async function until(fn: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

let up: Upstream;
before(async () => {
  // The upstream refuses any password but "good" with 401.
  up = await startUpstream((req, res) => {
    res.writeHead(req.headers['x-pass'] === 'good' ? 200 : 401).end();
  });
});
after(() => up.close());

const login = (t: TestGateway, client: string, pass = 'bad') =>
  call(`${t.url}/login`, { headers: { 'x-client': client, 'x-pass': pass } });

const bannedKeys = async (t: TestGateway, q = '') =>
  ((await adminCall(t, 'GET', `/bans${q}`)).json.bans as { key: string }[]).map((b) => b.key);

describe('ban: schema', () => {
  const valid = validator(BanSchema);
  it('accepts a threshold, window, duration, statuses and status; refuses the rest', () => {
    assert.equal(
      valid({ after: 5, window: '1m', duration: '1h', statuses: [401], status: 429, key: ['consumer'] }),
      true,
    );
    assert.equal(valid({ after: 5, window: '1m' }), false);
    assert.equal(valid({ after: 0, window: '1m', duration: '1h' }), false);
    assert.equal(valid({ after: 5, window: 'a minute', duration: '1h' }), false);
    assert.equal(valid({ after: 5, window: '1m', duration: '1h', status: 401 }), false);
  });
});

describe('ban: through the gateway (memory store)', () => {
  let t: TestGateway;
  let clock: ManualClock;
  const start = async (ban: Record<string, unknown> = {}, mode = 'enforce') => {
    clock = new ManualClock(T0);
    t = await startGateway(config(up.url, ban, mode), { clock });
  };

  it('bans a key after N denials in the window, refuses it with 403 and Retry-After, then lets it go', async () => {
    await start();
    try {
      for (let i = 0; i < 3; i++) assert.equal((await login(t, 'mallory')).status, 401);
      await until(async () => (await bannedKeys(t)).length === 1, 'the ban');
      const r = await login(t, 'mallory', 'good');
      assert.equal(r.status, 403);
      assert.equal(r.json.error.code, 'PCS_ERR_BANNED');
      assert.equal(r.headers['retry-after'], '600');
      // Others are not affected.
      assert.equal((await login(t, 'alice', 'good')).status, 200);
      const event = t.logs.lines.find((l) => l.security_event && l.type === 'ban.added') as Record<
        string,
        any
      >;
      assert.equal(event.subject, 'header:x-client=mallory');
      assert.deepEqual(event.detail, {
        denials: 3,
        window: '1m',
        until: '2024-01-15T12:10:00.000Z',
        last: 401,
      });
      const list = (await adminCall(t, 'GET', '/bans')).json.bans;
      assert.deepEqual(list, [
        {
          key: 'header:x-client=mallory',
          until: '2024-01-15T12:10:00.000Z',
          untilMs: T0 + 600_000,
          reason: '3 denials within 1m',
          by: 'policy:ban',
          at: '2024-01-15T12:00:00.000Z',
        },
      ]);
      // Refusals by the ban itself do not count towards a new ban.
      clock.advance(600_000);
      assert.equal((await login(t, 'mallory', 'good')).status, 200);
      assert.deepEqual(await bannedKeys(t), []);
    } finally {
      await t.stop();
    }
  });

  it('counts only the configured statuses, within the window', async () => {
    await start({ statuses: [401] });
    try {
      assert.equal((await login(t, 'bob')).status, 401);
      assert.equal((await login(t, 'bob')).status, 401);
      clock.advance(60_000); // the window is over: counting starts again
      assert.equal((await login(t, 'bob')).status, 401);
      assert.equal((await login(t, 'bob')).status, 401);
      assert.equal((await login(t, 'bob', 'good')).status, 200);
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(await bannedKeys(t), []);
      assert.equal((await login(t, 'bob')).status, 401);
      await until(async () => (await bannedKeys(t)).length === 1, 'the ban');
      assert.equal((await login(t, 'bob')).status, 403);
    } finally {
      await t.stop();
    }
  });

  it('admin API: add, list and lift bans, audited and each a security event', async () => {
    await start({ key: ['ip'], status: 429 });
    try {
      const bad = await adminCall(t, 'POST', '/bans', { key: '127.0.0.1', duration: 'forever' });
      assert.equal(bad.status, 400);
      const added = await adminCall(t, 'POST', '/bans', {
        key: '127.0.0.1',
        duration: '1h',
        reason: 'scraping',
      });
      assert.equal(added.status, 201);
      assert.equal(added.json.key, 'ip=127.0.0.1');
      assert.equal(added.json.until, '2024-01-15T13:00:00.000Z');
      const r = await call(`${t.url}/login`);
      assert.equal(r.status, 429);
      assert.equal(r.json.error.code, 'PCS_ERR_BANNED');
      assert.equal(r.headers['retry-after'], '3600');
      assert.deepEqual(await bannedKeys(t), ['ip=127.0.0.1']);
      assert.equal((await adminCall(t, 'DELETE', '/bans/ip%3D127.0.0.1')).status, 204);
      assert.equal((await adminCall(t, 'DELETE', '/bans/127.0.0.1')).status, 404);
      assert.equal((await call(`${t.url}/login`, { headers: { 'x-pass': 'good' } })).status, 200);
      const audit = (await adminCall(t, 'GET', '/audit')).json.events.map(
        (e: { action: string; target: string }) => `${e.action} ${e.target}`,
      );
      assert.ok(audit.includes('ban.add ban/ip=127.0.0.1'));
      assert.ok(audit.includes('ban.lift ban/ip=127.0.0.1'));
      const types = t.logs.lines.filter((l) => l.security_event).map((l) => l.type);
      assert.deepEqual(types, ['ban.added', 'ban.lifted']);
    } finally {
      await t.stop();
    }
  });

  it('shadow: would-be bans are recorded apart and never refuse', async () => {
    await start({}, 'shadow');
    try {
      for (let i = 0; i < 3; i++) assert.equal((await login(t, 'eve')).status, 401);
      await until(async () => (await bannedKeys(t, '?shadow=true')).length === 1, 'the shadow ban');
      assert.deepEqual(await bannedKeys(t), []);
      const good = await login(t, 'eve', 'good');
      assert.equal(good.status, 200);
      const d = (await accessLineOf(t.access, good)).decisions[0];
      assert.deepEqual([d.outcome, d.code], ['would_deny', 'PCS_ERR_BANNED']);
      assert.ok(t.logs.lines.some((l) => l.security_event && l.type === 'ban.would_add'));
    } finally {
      await t.stop();
    }
  });

  it('CLI: portcullis bans add, list and lift', async () => {
    await start();
    const run = promisify(execFile);
    const cli = async (...args: string[]) =>
      (
        await run(
          process.execPath,
          ['--import', 'tsx', 'src/cli/main.ts', 'bans', ...args, '--admin-url', t.admin],
          {
            env: { ...process.env, PORTCULLIS_ADMIN_TOKEN: ADMIN_TOKEN },
          },
        )
      ).stdout;
    try {
      assert.equal(
        await cli('add', '10.1.2.3', '--for', '2h', '--reason', 'abuse'),
        'banned ip=10.1.2.3 until 2024-01-15T14:00:00.000Z\n',
      );
      assert.match(
        await cli('list'),
        /^ip=10\.1\.2\.3 {2}until 2024-01-15T14:00:00\.000Z {2}\S+ {2}abuse\n$/,
      );
      assert.equal(await cli('lift', 'ip=10.1.2.3'), 'lifted the ban on ip=10.1.2.3\n');
      assert.equal(await cli('list'), 'no bans\n');
    } finally {
      await t.stop();
    }
  });
});

describe('ban: shared through Redis by two gateways', () => {
  let redis: TestRedis;
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis.stop());

  it('a ban made on one gateway refuses the key on the other; lifting it on either frees it', async () => {
    const clock = new ManualClock(T0);
    const a = await startGateway(config(up.url, {}), { clock, redisUrl: redis.url });
    const b = await startGateway(config(up.url, {}), { clock, redisUrl: redis.url });
    try {
      assert.equal((await login(a, 'mallory')).status, 401);
      assert.equal((await login(b, 'mallory')).status, 401);
      assert.equal((await login(a, 'mallory')).status, 401);
      await until(async () => (await bannedKeys(b)).length === 1, 'the ban on b');
      assert.equal((await login(b, 'mallory', 'good')).status, 403);
      assert.equal((await login(a, 'mallory', 'good')).status, 403);
      assert.equal((await adminCall(b, 'DELETE', '/bans/header:x-client%3Dmallory')).status, 204);
      assert.equal((await login(a, 'mallory', 'good')).status, 200);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
