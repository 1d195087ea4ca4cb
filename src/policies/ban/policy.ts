import type { PolicyContext } from '../../core/context.js';
import { definePolicy, type Outcome, type PolicyHandlers } from '../../core/policy.js';
import { CounterStoreUnavailableError } from '../../counters/counter-store.js';
import { compileKey, durationMs, namespace } from '../rate-limit/key.js';
import type { KeyPartConfig } from '../rate-limit/schema.js';
import { addBan, BAN_PREFIX, SHADOW_BAN_PREFIX } from './bans.js';
import { BanSchema } from './schema.js';

const IDENTITY_PARTS = new Set<unknown>(['consumer', 'credential']);
const needsIdentity = (parts: readonly KeyPartConfig[]) =>
  parts.some((p) => IDENTITY_PARTS.has(p) || (typeof p === 'object' && 'claim' in p));

/**
 * Brute force and abuse: counts a key's denials (final statuses 401/403/429) in its `log`
 * phase, bans the key for a while once there are `after` of them within `window`, and refuses
 * banned keys early. Bans live in the counter store, so a Redis store shares them.
 */
export const ban = definePolicy({
  name: 'ban',
  description:
    'Ban a key (IP, consumer, ...) for a while after repeated denials; bans shared through the counter store.',
  schema: BanSchema,
  priority: 5,
  create(config, deps) {
    const parts = config.key ?? ['ip'];
    const keyOf = compileKey(parts, 'ip');
    const windowMs = durationMs(config.window);
    const banMs = durationMs(config.duration);
    const statuses = new Set(config.statuses ?? [401, 403, 429]);
    const status = config.status;
    const failClosed = config.onStoreError === 'deny';
    const ns = namespace(deps.instance, 'ban');
    const label = deps.instance?.id ?? 'ban';
    const { counters, events, clock, logger } = deps;
    const refused = `ban:refused:${ns}`;
    const errors = deps.metrics.counter(
      'portcullis_ban_store_failures_total',
      'Ban checks or counts the counter store could not make, by policy.',
      ['policy'],
    );

    async function check(ctx: PolicyContext): Promise<Outcome> {
      const key = keyOf(ctx);
      if (key === undefined) return undefined;
      let banned: { untilMs: number } | undefined;
      try {
        banned = await counters.getUntil((ctx.acting ? BAN_PREFIX : SHADOW_BAN_PREFIX) + key);
      } catch (err) {
        if (!(err instanceof CounterStoreUnavailableError)) throw err;
        errors.labels(label).inc();
        if (!failClosed) return ctx.allow('store-unavailable:open');
        return ctx.reject('PCS_ERR_COUNTER_STORE_UNAVAILABLE', {
          rule: 'store-unavailable:closed',
          detail: err.message,
        });
      }
      if (!banned) return undefined;
      ctx.state.set(refused, true);
      return ctx.reject('PCS_ERR_BANNED', {
        rule: `banned:${key}`,
        detail: `banned until ${new Date(banned.untilMs).toISOString()}`,
        headers: { 'retry-after': String(Math.max(1, Math.ceil((banned.untilMs - ctx.now()) / 1000))) },
        status,
      });
    }

    async function count(ctx: PolicyContext, key: string, shadow: boolean): Promise<void> {
      const n = await counters.incrBy(`bancount:{${ns}|${key}}`, 1, windowMs);
      if (n < config.after) return;
      const now = clock.now();
      const untilMs = now + banMs;
      await counters.delete(`bancount:{${ns}|${key}}`);
      await addBan(
        counters,
        key,
        untilMs,
        {
          reason: `${n} denials within ${config.window}`,
          by: `policy:${label}`,
          at: new Date(now).toISOString(),
        },
        shadow ? SHADOW_BAN_PREFIX : BAN_PREFIX,
      );
      events.emit({
        type: shadow ? 'ban.would_add' : 'ban.added',
        subject: key,
        policy: label,
        route: ctx.request.route,
        requestId: ctx.requestId,
        detail: {
          denials: n,
          window: config.window,
          until: new Date(untilMs).toISOString(),
          last: ctx.finalStatus,
        },
      });
    }

    const handlers: PolicyHandlers = {
      log: function banCount(ctx: PolicyContext) {
        if (ctx.state.has(refused)) return undefined;
        const s = ctx.finalStatus;
        if (s === undefined || !statuses.has(s)) return undefined;
        const key = keyOf(ctx);
        if (key === undefined) return undefined;
        count(ctx, key, !ctx.acting).catch((err) => {
          errors.labels(label).inc();
          logger.warn({ policy: label, err: (err as Error).message }, 'ban: denial not counted');
        });
        return undefined;
      },
    };
    handlers[needsIdentity(parts) ? 'authz' : 'request'] = async function banCheck(ctx: PolicyContext) {
      return check(ctx);
    };
    return handlers;
  },
});
