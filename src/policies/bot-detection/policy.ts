import { CounterStoreUnavailableError } from '../../counters/counter-store.js';
import type { PolicyContext } from '../../core/context.js';
import { definePolicy } from '../../core/policy.js';
import { classify } from './classify.js';
import { BOT_CLASSES, type BotClass, BotDetectionSchema } from './schema.js';

const DEFAULT_ACTIONS: Record<BotClass, string> = {
  crawler: 'tag',
  headless: 'deny',
  library: 'tag',
  missing: 'tag',
  inconsistent: 'tag',
  unknown: 'allow',
  browser: 'allow',
};

/**
 * Classifies each client (crawler, headless browser, HTTP library, missing or inconsistent
 * browser headers) in phase `request` and applies the route's action for its class.
 */
export const botDetection = definePolicy({
  name: 'bot-detection',
  description:
    'Classifies clients (known crawlers, headless browsers, HTTP libraries, missing or inconsistent browser headers) and allows, tags, rate-limits or denies each class.',
  schema: BotDetectionSchema,
  priority: 40,
  create(config, deps) {
    const actions = { ...DEFAULT_ACTIONS, ...(config.actions as Partial<Record<BotClass, string>>) };
    const tagHeader = (config.tagHeader ?? 'x-bot-class').toLowerCase();
    deps.assertsHeader?.(tagHeader);
    const exempt = (config.exempt ?? []).map((s) => s.toLowerCase());
    const secFetch = config.secFetch ?? 'https';
    const rl = config.rateLimit ?? {};
    const requests = rl.requests ?? 60;
    const emissionMs = ((rl.perSeconds ?? 60) * 1000) / requests;
    const burst = rl.burst ?? requests;
    const perIp = (rl.key ?? 'class+ip') === 'class+ip';
    const prefix = `bot:${deps.instance?.id ?? 'bot-detection'}@${deps.instance?.scope ?? ''}`;
    const seen = deps.metrics.counter('portcullis_bot_requests_total', 'Requests by bot class and action', [
      'class',
      'action',
    ]);
    const storeDown = deps.metrics.counter(
      'portcullis_bot_store_failures_total',
      'bot-detection rate limits skipped because the counter store failed (fail open)',
      [],
    );
    for (const c of BOT_CLASSES) for (const a of ['allow', 'tag', 'rate-limit', 'deny']) seen.labels(c, a);

    return {
      request: async function botDetection(ctx: PolicyContext) {
        const r = ctx.request;
        ctx.removeRequestHeader(tagHeader);
        const ua = r.headers['user-agent'];
        if (ua && exempt.length) {
          const low = ua.toLowerCase();
          if (exempt.some((e) => low.includes(e))) return ctx.allow('exempt');
        }
        const cls = classify(
          r.headers,
          secFetch === 'always' || (secFetch === 'https' && r.protocol === 'https'),
        );
        const action = actions[cls];
        seen.labels(cls, action).inc();
        const rule = `class:${cls}`;
        switch (action) {
          case 'deny':
            return ctx.reject('PCS_ERR_BOT_DENIED', {
              rule,
              detail: `${cls}: ${String(ua ?? '').slice(0, 200)}`,
            });
          case 'tag':
            ctx.setRequestHeader(tagHeader, cls);
            return ctx.allow(rule);
          case 'rate-limit': {
            ctx.setRequestHeader(tagHeader, cls);
            const key = `${prefix}:${cls}${perIp ? `:${r.clientIp}` : ''}`;
            let g: Awaited<ReturnType<typeof deps.counters.gcra>>;
            try {
              g = await deps.counters.gcra(key, 1, emissionMs, burst, deps.clock.now());
            } catch (err) {
              if (!(err instanceof CounterStoreUnavailableError)) throw err;
              storeDown.inc();
              return ctx.allow(`${rule}:store-unavailable`);
            }
            if (g.allowed) return ctx.allow(rule);
            return ctx.reject('PCS_ERR_RATE_LIMITED', {
              rule: `${rule}:rate-limit`,
              detail: `${cls} over ${requests}/${rl.perSeconds ?? 60}s`,
              headers: { 'retry-after': String(Math.max(1, Math.ceil(g.retryAfterMs / 1000))) },
            });
          }
          default:
            return ctx.allow(rule);
        }
      },
    };
  },
});
