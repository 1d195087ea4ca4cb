import type { IncomingHttpHeaders } from 'node:http';
import { isIdentityHeader } from '../core/identity-headers.js';

/** Hop-by-hop headers (RFC 9110 §7.6.1), plus ones undici must not be given. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'http2-settings',
  // Not hop-by-hop, but never meant for an upstream: `Proxy` is the httpoxy vector (CVE-2016-5385).
  'proxy',
]);

export type HeaderMap = Record<string, string | string[] | undefined>;

function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (!value || value === 'keep-alive' || value === 'close') return undefined;
  const v = Array.isArray(value) ? value.join(',') : value;
  const set = new Set<string>();
  for (const t of v.split(',')) {
    const k = t.trim().toLowerCase();
    if (k && k !== 'close' && k !== 'keep-alive') set.add(k);
  }
  return set.size ? set : undefined;
}

/**
 * Copies headers without hop-by-hop ones (any `Proxy-*` included) and those named in `Connection`.
 * For a client's request, pass `asserted` (the revision's declared identity headers): then every
 * header the gateway asserts (src/core/identity-headers.ts) is dropped too, in the same pass.
 */
export function endToEnd(
  headers: IncomingHttpHeaders | HeaderMap,
  asserted?: ReadonlySet<string>,
): HeaderMap {
  const named = connectionTokens(headers.connection);
  const out: HeaderMap = {};
  for (const k in headers) {
    if (HOP_BY_HOP.has(k) || k.startsWith('proxy-') || named?.has(k)) continue;
    if (asserted !== undefined && isIdentityHeader(k, asserted)) continue;
    const v = headers[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Forwarding headers only a trusted proxy may set; from anyone else they are dropped. */
const FORWARDING = [
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-real-ip',
  'forwarded',
];

/**
 * Adds X-Forwarded-For/Proto/Host and Forwarded. From a trusted proxy (`gateway.trustedProxies`)
 * the incoming ones are believed: the peer is appended to X-Forwarded-For and Forwarded, and
 * X-Forwarded-Proto/Host are kept when present. From anyone else they are replaced, so an
 * upstream never reads a client-forged address or scheme.
 */
export function addForwarded(
  h: HeaderMap,
  peer: string,
  proto: string,
  host: string,
  peerTrusted: boolean,
): void {
  if (!peerTrusted) for (const k of FORWARDING) delete h[k];
  const xff = h['x-forwarded-for'];
  h['x-forwarded-for'] = xff ? `${Array.isArray(xff) ? xff.join(', ') : xff}, ${peer}` : peer;
  if (!h['x-forwarded-proto']) h['x-forwarded-proto'] = proto;
  if (!h['x-forwarded-host']) h['x-forwarded-host'] = host;
  const forNode = peer.includes(':') ? `"[${peer}]"` : peer;
  const element = `for=${forNode};host=${quoteIfNeeded(host)};proto=${proto}`;
  const prior = h.forwarded;
  h.forwarded = prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${element}` : element;
}

function quoteIfNeeded(v: string): string {
  return /^[A-Za-z0-9.-]+$/.test(v) ? v : `"${v.replace(/["\\]/g, '')}"`;
}
