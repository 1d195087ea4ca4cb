import type { PolicyContext } from '../../core/context.js';
import type { Reservation } from '../../counters/counter-store.js';
import type { AiBudgetConfig } from './schema.js';

const MINUTE_MS = 60_000;
/** Costs are counted in millionths, so counters stay integers. */
export const MICRO = 1_000_000;

/** One counter a call must fit in: a reservation plus what a refusal needs to say. */
export interface BudgetItem extends Reservation {
  unit: 'tokens' | 'requests' | 'cost';
  limit: number;
  /** `per:window:unit`, the rule named in the access log. */
  rule: string;
  who: string;
  endsAt: number;
}

type Window = AiBudgetConfig['limits'][number]['window'];

/** The calendar window (UTC) holding `now`: an id for the counter key and when it ends. */
export function windowOf(kind: Window, now: number): { id: string; endsAt: number } {
  const d = new Date(now);
  if (kind === 'minute') {
    const start = Math.floor(now / MINUTE_MS) * MINUTE_MS;
    return { id: String(start), endsAt: start + MINUTE_MS };
  }
  if (kind === 'day') {
    const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
    return { id: new Date(start).toISOString().slice(0, 10), endsAt: start + 86_400_000 };
  }
  const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  return {
    id: new Date(start).toISOString().slice(0, 7),
    endsAt: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1),
  };
}

function subjects(per: AiBudgetConfig['limits'][number]['per'], ctx: PolicyContext): string[] {
  if (per === 'global') return ['*'];
  if (per === 'group') return ctx.consumer?.groups ?? [];
  if (per === 'credential') return [ctx.identity?.credential ?? ctx.consumer?.name ?? 'anonymous'];
  return [ctx.consumer?.name ?? 'anonymous'];
}

/**
 * Every counter this call must fit in, for the instance namespace `ns`: per limit and subject,
 * the tokens (`reserve` of them), the requests (one) and the cost (checked now at amount 0,
 * charged when the call settles).
 */
export function budgetItems(
  limits: AiBudgetConfig['limits'],
  ctx: PolicyContext,
  ns: string,
  reserve: number,
  now: number,
): BudgetItem[] {
  const items: BudgetItem[] = [];
  limits.forEach((l, i) => {
    const w = windowOf(l.window, now);
    const ttlMs = Math.max(1000, w.endsAt - now + MINUTE_MS);
    for (const who of subjects(l.per, ctx)) {
      const base = `ai-budget:${ns}:${i}:${l.per}:${who}:${w.id}`;
      const add = (unit: BudgetItem['unit'], amount: number, limit: number | undefined) => {
        if (limit === undefined) return;
        const rule = `${l.per}:${l.window}:${unit}`;
        items.push({ key: `${base}:${unit}`, amount, limit, ttlMs, unit, rule, who, endsAt: w.endsAt });
      };
      add('tokens', reserve, l.tokens);
      add('requests', 1, l.requests);
      add('cost', 0, l.cost === undefined ? undefined : Math.round(l.cost * MICRO));
    }
  });
  return items;
}
