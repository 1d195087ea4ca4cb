import type { PolicyContext } from '../../core/context.js';
import { definePolicy, type Outcome } from '../../core/policy.js';
import type { CounterStore } from '../../counters/counter-store.js';
import { compileKey, namespace } from '../rate-limit/key.js';
import { ConcurrencyLimitSchema } from './schema.js';

interface Waiter {
  wake(): void;
}

/** In-flight requests of one key, with the requests waiting for a slot. */
interface Slot {
  inflight: number;
  waiting: Waiter[];
}

/** What a request holds: the slot it took, or the place it waits in. */
interface Ticket {
  slot: Slot;
  key: string;
  granted: boolean;
  waiter?: Waiter;
}

/**
 * Slots per gateway (keyed by its counter store), outside the policy instance: a new revision
 * takes over the requests in flight, so raising or lowering `max` applies to them at once.
 */
const SLOTS = new WeakMap<CounterStore, Map<string, Slot>>();

function slotsOf(counters: CounterStore): Map<string, Slot> {
  let m = SLOTS.get(counters);
  if (!m) {
    m = new Map();
    SLOTS.set(counters, m);
  }
  return m;
}

/**
 * At most `max` requests in flight per key; the next ones wait in a bounded queue or are refused
 * at once. Slots are per gateway process (see docs/policies/concurrency-limit.md).
 */
export const concurrencyLimit = definePolicy({
  name: 'concurrency-limit',
  description: 'Limit requests in flight per key, with a bounded queue or an immediate 429/503.',
  schema: ConcurrencyLimitSchema,
  priority: 110,
  create(config, deps) {
    const max = config.max;
    const queue = config.queue ?? 0;
    const timeoutMs = config.queueTimeoutMs ?? 1000;
    const keyOf = compileKey(config.key ?? ['route'], config.onMissingKey);
    const ns = namespace(deps.instance, 'concurrency-limit');
    const stateKey = `concurrency-limit:${ns}`;
    const slots = slotsOf(deps.counters);
    const status = config.status;
    const gauge = deps.metrics.gauge(
      'portcullis_concurrency_inflight',
      'Requests holding a concurrency-limit slot, by policy.',
      ['policy'],
    );
    const label = deps.instance?.id ?? 'concurrency-limit';

    const refuse = (ctx: PolicyContext, key: string, why: string) =>
      ctx.reject('PCS_ERR_CONCURRENCY_LIMITED', { rule: `max:${max}`, detail: `${key}: ${why}`, status });

    function release(ticket: Ticket, key: string): void {
      const slot = ticket.slot;
      const next = slot.waiting.shift();
      if (next) {
        next.wake(); // the slot passes to the next in line
        return;
      }
      slot.inflight--;
      gauge.labels(label).dec();
      if (slot.inflight <= 0 && slot.waiting.length === 0) slots.delete(key);
    }

    return {
      rateLimit: async function concurrencyLimit(ctx: PolicyContext): Promise<Outcome> {
        const k = keyOf(ctx);
        if (k === undefined) return undefined;
        const key = `${ns}|${k}`;
        let slot = slots.get(key);
        if (!slot) {
          slot = { inflight: 0, waiting: [] };
          slots.set(key, slot);
        }
        const ticket: Ticket = { slot, key, granted: false };
        if (slot.inflight < max || !ctx.acting) {
          // In shadow the request goes on anyway: it is in flight and holds a slot.
          const over = slot.inflight >= max;
          slot.inflight++;
          gauge.labels(label).inc();
          ticket.granted = true;
          ctx.state.set(stateKey, ticket);
          return over ? refuse(ctx, k, `${max} in flight`) : undefined;
        }
        if (slot.waiting.length >= queue) return refuse(ctx, k, `${max} in flight, queue of ${queue} full`);
        const granted = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => {
            const i = slot.waiting.indexOf(waiter);
            if (i >= 0) slot.waiting.splice(i, 1);
            resolve(false);
          }, timeoutMs);
          const waiter: Waiter = {
            wake() {
              clearTimeout(timer);
              resolve(true);
            },
          };
          ticket.waiter = waiter;
          slot.waiting.push(waiter);
          ctx.state.set(stateKey, ticket);
        });
        ticket.waiter = undefined;
        if (!granted) {
          ctx.state.delete(stateKey);
          return refuse(ctx, k, `waited ${timeoutMs} ms in the queue`);
        }
        ticket.granted = true;
        return undefined;
      },
      log: function concurrencyRelease(ctx: PolicyContext) {
        const ticket = ctx.state.get(stateKey) as Ticket | undefined;
        if (!ticket) return;
        ctx.state.delete(stateKey);
        if (ticket.granted) release(ticket, ticket.key);
        else {
          // The client left while queued: give up the place in line.
          const w = ticket.waiter;
          const i = w ? ticket.slot.waiting.indexOf(w) : -1;
          if (i >= 0) ticket.slot.waiting.splice(i, 1);
        }
        return undefined;
      },
    };
  },
});
