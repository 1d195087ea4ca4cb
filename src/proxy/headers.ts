import type { IncomingHttpHeaders } from 'node:http';

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
]);

export type HeaderMap = Record<string, string | string[] | undefined>;

function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (!value) return undefined;
  const v = Array.isArray(value) ? value.join(',') : value;
  const set = new Set<string>();
  for (const t of v.split(',')) {
    const k = t.trim().toLowerCase();
    if (k && k !== 'close' && k !== 'keep-alive') set.add(k);
  }
  return set.size ? set : undefined;
}

/** Copies headers without hop-by-hop ones and those named in `Connection`. */
export function endToEnd(headers: IncomingHttpHeaders | HeaderMap): HeaderMap {
  const named = connectionTokens(headers.connection);
  const out: HeaderMap = {};
  for (const k in headers) {
    if (HOP_BY_HOP.has(k) || named?.has(k)) continue;
    const v = headers[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/**
 * Adds X-Forwarded-For/Proto/Host and Forwarded. The peer's address is always appended to
 * X-Forwarded-For; incoming Proto and Host are believed only from a trusted proxy.
 */
export function addForwarded(
  h: HeaderMap,
  peer: string,
  proto: string,
  host: string,
  peerTrusted: boolean,
): void {
  const xff = h['x-forwarded-for'];
  h['x-forwarded-for'] = xff ? `${Array.isArray(xff) ? xff.join(', ') : xff}, ${peer}` : peer;
  if (!peerTrusted || !h['x-forwarded-proto']) h['x-forwarded-proto'] = proto;
  if (!peerTrusted || !h['x-forwarded-host']) h['x-forwarded-host'] = host;
  const forNode = peer.includes(':') ? `"[${peer}]"` : peer;
  const element = `for=${forNode};host=${quoteIfNeeded(host)};proto=${proto}`;
  const prior = peerTrusted ? h.forwarded : undefined;
  h.forwarded = prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${element}` : element;
}

function quoteIfNeeded(v: string): string {
  return /^[A-Za-z0-9.-]+$/.test(v) ? v : `"${v.replace(/["\\]/g, '')}"`;
}
