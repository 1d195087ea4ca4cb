import type { CounterStore } from '../../counters/counter-store.js';

/** Bans in the counter store: `ban:<key>` until a time; shared by every gateway on one Redis. */
export const BAN_PREFIX = 'ban:';
/** Bans a shadowed `ban` policy would have made: recorded, never enforced. */
export const SHADOW_BAN_PREFIX = 'shadowban:';

export interface BanInfo {
  key: string;
  until: string;
  untilMs: number;
  reason: string;
  by: string;
  at: string;
}

export interface BanValue {
  reason: string;
  by: string;
  at: string;
}

/** `1.2.3.4` is short for `ip=1.2.3.4`; other keys are written as the policy builds them. */
export function normalizeBanKey(key: string): string {
  return key.includes('=') ? key : `ip=${key}`;
}

export async function addBan(
  counters: CounterStore,
  key: string,
  untilMs: number,
  value: BanValue,
  prefix = BAN_PREFIX,
): Promise<void> {
  await counters.setUntil(prefix + key, JSON.stringify(value), untilMs);
}

export async function listBans(counters: CounterStore, prefix = BAN_PREFIX): Promise<BanInfo[]> {
  const list = await counters.scanUntil(prefix);
  return list
    .map((e) => {
      let v: Partial<BanValue> = {};
      try {
        v = JSON.parse(e.value) as BanValue;
      } catch {
        // a value written by hand
      }
      return {
        key: e.key.slice(prefix.length),
        until: new Date(e.untilMs).toISOString(),
        untilMs: e.untilMs,
        reason: v.reason ?? e.value,
        by: v.by ?? '',
        at: v.at ?? '',
      };
    })
    .sort((a, b) => a.key.localeCompare(b.key));
}
