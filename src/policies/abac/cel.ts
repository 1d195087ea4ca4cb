import { Environment } from '@marcbachmann/cel-js';
import type { PolicyContext } from '../../core/context.js';
import { type Cidr, parseCidr, parseIp } from '../../net/ip.js';
import { ZonedTime } from '../schedule/zoned-time.js';

const TS = 'google.protobuf.Timestamp';

/** Bounded caches for the helpers' constant arguments (CIDRs, zones): parsed once, not per request. */
const cidrs = new Map<string, Cidr | null>();
const zones = new Map<string, ZonedTime>();

function cidr(text: string): Cidr {
  let c = cidrs.get(text);
  if (c === undefined) {
    c = parseCidr(text) ?? null;
    if (cidrs.size > 10_000) cidrs.clear();
    cidrs.set(text, c);
  }
  if (!c) throw new Error(`'${text}' is not an IP address or CIDR`);
  return c;
}

function contains(c: Cidr, ip: Uint8Array): boolean {
  if (c.bytes.length !== ip.length) return false;
  let bits = c.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((c.bytes[i] & mask) !== (ip[i] & mask)) return false;
  }
  return true;
}

export function inCidr(ip: string, list: readonly string[]): boolean {
  const addr = parseIp(ip);
  if (!addr) return false;
  return list.some((t) => contains(cidr(t), addr));
}

function zoned(tz: string): ZonedTime {
  let z = zones.get(tz);
  if (!z) {
    z = new ZonedTime(tz);
    if (zones.size > 1000) zones.clear();
    zones.set(tz, z);
  }
  return z;
}

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

function minutes(hhmm: string): number {
  const m = HHMM.exec(hhmm);
  if (!m) throw new Error(`'${hhmm}' is not a time of day HH:MM`);
  return Number(m[1]) * 60 + Number(m[2]);
}

/** `HH:MM` at instant `d` in the IANA zone `tz`. */
export function timeOfDay(d: Date, tz: string): string {
  const w = zoned(tz).wall(d.getTime());
  return `${String(w.hour).padStart(2, '0')}:${String(w.minute).padStart(2, '0')}`;
}

/** True when the wall clock in `tz` is in [from, to); a window past midnight (`22:00`-`06:00`) wraps. */
export function inHours(d: Date, from: string, to: string, tz: string): boolean {
  const w = zoned(tz).wall(d.getTime());
  const now = w.hour * 60 + w.minute;
  const a = minutes(from);
  const b = minutes(to);
  return a <= b ? now >= a && now < b : now >= a || now < b;
}

/**
 * The CEL environment of `abac`: the variables a rule may read and the helper functions.
 * Undeclared variables are type errors at compile time.
 */
function makeEnv() {
  return new Environment({
    unlistedVariablesAreDyn: false,
    homogeneousAggregateLiterals: false,
  })
    .registerVariable('request', 'map', {
      description: 'method, path, host, route, service, protocol, params, headers, query',
    })
    .registerVariable('consumer', 'map', { description: 'id, name, groups, metadata' })
    .registerVariable('identity', 'map', { description: 'method, credential, scopes, anonymous' })
    .registerVariable('claims', 'map', { description: 'verified token claims ({} when none)' })
    .registerVariable('client', 'map', { description: 'ip' })
    .registerVariable('now', TS, { description: 'the time the request arrived' })
    .registerFunction('inCidr(string, string): bool', (ip: string, c: string) => inCidr(ip, [c]))
    .registerFunction('inCidr(string, list<string>): bool', (ip: string, c: string[]) => inCidr(ip, c))
    .registerFunction(`timeOfDay(${TS}, string): string`, timeOfDay)
    .registerFunction(`inHours(${TS}, string, string, string): bool`, inHours);
}

let env: ReturnType<typeof makeEnv> | undefined;

/** The environment, built on first use (registering its types costs ~0.1 s at start-up otherwise). */
export function abacEnv(): ReturnType<typeof makeEnv> {
  env ??= makeEnv();
  return env;
}

export type CompiledExpression = ReturnType<ReturnType<typeof makeEnv>['parse']>;

/** A compile error with its position: `1:17: Unexpected token: EOF`. */
export class ExpressionError extends Error {}

function position(expr: string, offset: number | undefined): string {
  if (offset === undefined) return '';
  const before = expr.slice(0, offset).split('\n');
  return `${before.length}:${before[before.length - 1].length + 1}: `;
}

/** Parses and type-checks a rule expression; it must yield a bool (or a dynamic value). */
export function compileExpression(expr: string): CompiledExpression {
  let parsed: CompiledExpression;
  try {
    parsed = abacEnv().parse(expr);
  } catch (err) {
    const e = err as Error & { range?: { start: number }; summary?: string };
    throw new ExpressionError(`${position(expr, e.range?.start)}${e.summary ?? e.message}`);
  }
  const check = parsed.check();
  if (!check.valid) {
    const e = check.error as Error & { range?: { start: number }; summary?: string };
    throw new ExpressionError(`${position(expr, e?.range?.start)}${e?.summary ?? e?.message}`);
  }
  if (check.type !== 'bool' && check.type !== 'dyn')
    throw new ExpressionError(`the expression yields ${check.type}, not bool`);
  return parsed;
}

const NO_CONSUMER = Object.freeze({ id: '', name: '', groups: [], metadata: {} });

function flatHeaders(h: PolicyContext['request']['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in h) {
    const v = h[k];
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

function firstValues(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!raw) return out;
  for (const [k, v] of new URLSearchParams(raw)) if (!(k in out)) out[k] = v;
  return out;
}

function definedOnly(o: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in o) if (o[k] !== undefined) out[k] = o[k] as string;
  return out;
}

/** The variables of one request, built once and shared by every rule of the policy. */
export function activation(ctx: PolicyContext): Record<string, unknown> {
  const r = ctx.request;
  const c = ctx.consumer;
  const id = ctx.identity;
  return {
    request: {
      method: r.method,
      path: r.path,
      host: r.host,
      route: r.route,
      service: r.service,
      protocol: r.protocol,
      params: definedOnly(r.params),
      headers: flatHeaders(r.headers),
      query: firstValues(r.rawQuery),
    },
    consumer: c ? { id: c.id, name: c.name, groups: c.groups, metadata: c.metadata } : NO_CONSUMER,
    identity: {
      method: id?.method ?? '',
      credential: id?.credential ?? '',
      scopes: id?.scopes ?? [],
      anonymous: id?.anonymous === true,
    },
    claims: id?.claims ?? {},
    client: { ip: r.clientIp },
    now: new Date(ctx.now()),
  };
}
