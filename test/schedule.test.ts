import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { validator } from '../src/config/ajv.js';
import { ManualClock } from '../src/core/clock.js';
import { schedule } from '../src/policies/schedule/policy.js';
import { ScheduleSchema } from '../src/policies/schedule/schema.js';
import { accessLineOf } from './helpers/access-log.js';
import { call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

function config(upstream: string, cfg: unknown, mode = 'enforce') {
  return {
    services: [{ name: 'admin', targets: [{ url: upstream }] }],
    routes: [{ name: 'admin-api', service: 'admin', paths: ['/admin'] }],
    policies: [{ name: 'schedule', mode, scope: { route: 'admin-api' }, config: cfg }],
  };
}

describe('schedule: schema', () => {
  const valid = validator(ScheduleSchema);
  it('accepts windows with days and HH:MM times; refuses bad times and days', () => {
    assert.equal(
      valid({ timeZone: 'Europe/Paris', windows: [{ days: ['mon', 'fri'], from: '09:00', to: '24:00' }] }),
      true,
    );
    assert.equal(valid({ windows: [] }), false);
    assert.equal(valid({ windows: [{ from: '9:00', to: '18:00' }] }), false);
    assert.equal(valid({ windows: [{ from: '09:00', to: '24:01' }] }), false);
    assert.equal(valid({ windows: [{ days: ['monday'], from: '09:00', to: '18:00' }] }), false);
  });
  it('refuses an unknown zone and empty windows at create', () => {
    const make = (c: unknown) => schedule.create(c as never, {} as never);
    assert.throws(
      () => make({ timeZone: 'Paris', windows: [{ from: '09:00', to: '18:00' }] }),
      /^Error: timeZone: 'Paris' is not an IANA time zone/,
    );
    assert.throws(
      () => make({ windows: [{ from: '09:00', to: '09:00' }] }),
      /windows\/0: 'from' and 'to' are equal/,
    );
  });
});

describe('schedule: through the gateway', () => {
  let up: Upstream;
  let t: TestGateway;
  const clock = new ManualClock();
  before(async () => {
    up = await startUpstream();
  });
  after(() => up.close());

  const at = async (iso: string) => {
    clock.set(Date.parse(iso));
    return call(`${t.url}/admin`);
  };

  it('business hours in Europe/Paris, across the DST change', async () => {
    t = await startGateway(
      config(up.url, {
        timeZone: 'Europe/Paris',
        windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '09:00', to: '18:00' }],
      }),
      { clock },
    );
    try {
      // Friday 29 March 2024, CET (UTC+1): 09:00 Paris is 08:00 UTC.
      assert.equal((await at('2024-03-29T07:59:00Z')).status, 403);
      assert.equal((await at('2024-03-29T08:00:00Z')).status, 200);
      assert.equal((await at('2024-03-29T16:59:59Z')).status, 200);
      const closed = await at('2024-03-29T17:00:00Z');
      assert.equal(closed.status, 403);
      assert.equal(closed.json.error.code, 'PCS_ERR_OUTSIDE_SCHEDULE');
      const line = await accessLineOf(t.access, closed);
      assert.equal(line.detail, 'closed at fri 18:00 Europe/Paris');
      assert.equal(line.decisions[0].rule, 'closed:Europe/Paris');
      // Saturday: closed all day.
      assert.equal((await at('2024-03-30T10:00:00Z')).status, 403);
      // Monday 1 April 2024, CEST (UTC+2): 09:00 Paris is now 07:00 UTC.
      assert.equal((await at('2024-04-01T06:59:00Z')).status, 403);
      assert.equal((await at('2024-04-01T07:00:00Z')).status, 200);
      assert.equal((await at('2024-04-01T15:59:00Z')).status, 200);
      assert.equal((await at('2024-04-01T16:00:00Z')).status, 403);
    } finally {
      await t.stop();
    }
  });

  it('a window past midnight, a custom status, shadow and off', async () => {
    t = await startGateway(
      config(up.url, {
        timeZone: 'America/New_York',
        windows: [{ days: ['sat'], from: '22:00', to: '02:00' }],
        status: 503,
      }),
      { clock },
    );
    try {
      // Saturday 13 January 2024, EST (UTC-5).
      assert.equal((await at('2024-01-14T02:59:00Z')).status, 503); // Sat 21:59
      assert.equal((await at('2024-01-14T03:00:00Z')).status, 200); // Sat 22:00
      assert.equal((await at('2024-01-14T06:59:00Z')).status, 200); // Sun 01:59
      assert.equal((await at('2024-01-14T07:00:00Z')).status, 503); // Sun 02:00
    } finally {
      await t.stop();
    }
    for (const mode of ['shadow', 'off']) {
      t = await startGateway(config(up.url, { windows: [{ from: '09:00', to: '10:00' }] }, mode), { clock });
      try {
        const r = await at('2024-01-14T12:00:00Z');
        assert.equal(r.status, 200);
        const decisions = (await accessLineOf(t.access, r)).decisions as { outcome: string }[] | undefined;
        assert.deepEqual(
          decisions?.map((d) => d.outcome),
          mode === 'shadow' ? ['would_deny'] : undefined,
        );
      } finally {
        await t.stop();
      }
    }
  });
});
