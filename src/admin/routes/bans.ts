import { type Static, Type as T } from '@sinclair/typebox';
import { formatAjvErrors, validator } from '../../config/ajv.js';
import { addBan, BAN_PREFIX, listBans, normalizeBanKey, SHADOW_BAN_PREFIX } from '../../policies/ban/bans.js';
import { durationMs } from '../../policies/rate-limit/key.js';
import { AdminError, readJson, sendJson } from '../http.js';
import type { AdminModule } from '../server.js';

const BanBody = T.Object(
  {
    key: T.String({
      minLength: 1,
      maxLength: 512,
      description: '`ip=1.2.3.4`, `consumer=alice`, ... or a bare IP.',
    }),
    duration: T.String({
      pattern: '^[1-9][0-9]{0,8}(ms|s|m|h|d)$',
      description: 'How long: `15m`, `1h`, `7d`.',
    }),
    reason: T.Optional(T.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);
const checkBan = validator(BanBody);

/**
 * Bans: list, add and lift. They live in the counter store, so with Redis every gateway sees an
 * operator's ban at once. Each change is audited and a security event.
 */
export const bansModule: AdminModule = (route, deps) => {
  const { counters, events } = deps.services;

  route('GET', '/bans', async (_q, res, _p, query) => {
    const prefix = query.get('shadow') === 'true' ? SHADOW_BAN_PREFIX : BAN_PREFIX;
    sendJson(res, 200, { bans: await listBans(counters, prefix) });
  });

  route('POST', '/bans', async (req, res, _p, _q, actor) => {
    const raw = await readJson(req, deps.maxBodyBytes);
    if (!checkBan(raw))
      throw new AdminError('PCS_ERR_ADMIN_BAD_INPUT', 'invalid ban', {
        issues: formatAjvErrors(checkBan.errors),
      });
    const body = raw as Static<typeof BanBody>;
    const key = normalizeBanKey(body.key);
    const now = deps.clock.now();
    const untilMs = now + durationMs(body.duration);
    const reason = body.reason ?? 'added by an operator';
    await addBan(counters, key, untilMs, { reason, by: actor, at: new Date(now).toISOString() });
    await deps.store.appendAudit({
      actor,
      action: 'ban.add',
      target: `ban/${key}`,
      detail: { duration: body.duration, reason },
    });
    events.emit({
      type: 'ban.added',
      subject: key,
      detail: { by: actor, until: new Date(untilMs).toISOString(), reason },
    });
    sendJson(res, 201, { key, until: new Date(untilMs).toISOString(), untilMs, reason, by: actor });
  });

  route('DELETE', '/bans/:key', async (_q, res, p, _query, actor) => {
    const key = normalizeBanKey(p.key ?? '');
    if (!(await counters.getUntil(BAN_PREFIX + key)))
      throw new AdminError('PCS_ERR_ADMIN_NOT_FOUND', `no ban on ${key}`);
    await counters.delete(BAN_PREFIX + key);
    await deps.store.appendAudit({ actor, action: 'ban.lift', target: `ban/${key}` });
    events.emit({ type: 'ban.lifted', subject: key, detail: { by: actor } });
    res.writeHead(204).end();
  });
};
