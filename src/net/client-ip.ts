import { type CidrSet, normalizeIp, parseIp } from './ip.js';

/**
 * The client's address: the TCP peer, unless the peer is a trusted proxy, in which case the
 * X-Forwarded-For list is walked from the right, skipping trusted proxies, and the first
 * untrusted address is the client. Entries that are not addresses stop the walk.
 */
export function clientIpFrom(
  remote: string,
  xff: string | string[] | undefined,
  trusted: CidrSet | undefined,
): string {
  const peer = normalizeIp(remote);
  if (!trusted || trusted.size === 0 || !xff || trusted.match(parseIp(peer)) === undefined) return peer;
  const list = (Array.isArray(xff) ? xff.join(',') : xff).split(',');
  let client = peer;
  for (let i = list.length - 1; i >= 0; i--) {
    const candidate = list[i].trim();
    const bytes = parseIp(candidate);
    if (!bytes) break;
    client = normalizeIp(candidate);
    if (trusted.match(bytes) === undefined) break;
  }
  return client;
}
