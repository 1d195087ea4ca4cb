import { isIP } from 'node:net';

/** URLs in free text (`http://host`, `gopher://host`, `//host/`), host part only. */
const URL_HOST = /(?:\b[a-z][a-z0-9+.-]{1,15}:|(?:^|[\s"'=(,]))\/\/+([^\s/?#"'<>\\]{1,300})/g;

const BAD_NAMES = new Set([
  'localhost',
  'localhost.localdomain',
  'ip6-localhost',
  'ip6-loopback',
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
  'kubernetes.default',
  'kubernetes.default.svc',
  'broadcasthost',
]);
/** Wildcard DNS services that resolve a name to the address written in it. */
const WILDCARD_DNS = /(?:^|\.)(?:nip\.io|sslip\.io|xip\.io|localtest\.me|lvh\.me|vcap\.me|1u\.ms)$/;

/** Parses IPv4 the way inet_aton does: 1 to 4 parts, decimal, octal (0-prefixed) or hex (0x). */
export function parseLooseIpv4(host: string): number | undefined {
  const parts = host.split('.');
  if (parts.length > 4 || parts.some((p) => p === '')) return undefined;
  const nums: number[] = [];
  for (const p of parts) {
    let n: number;
    if (/^0x[0-9a-f]*$/.test(p)) n = p.length === 2 ? 0 : Number.parseInt(p.slice(2), 16);
    else if (/^0[0-7]+$/.test(p)) n = Number.parseInt(p, 8);
    else if (/^\d+$/.test(p)) n = Number.parseInt(p, 10);
    else return undefined;
    nums.push(n);
  }
  const last = nums.pop() as number;
  if (nums.some((n) => n > 255) || last >= 2 ** (8 * (4 - nums.length))) return undefined;
  let v = 0;
  for (const n of nums) v = v * 256 + n;
  return v * 2 ** (8 * (4 - nums.length)) + last;
}

function privateV4(v: number): boolean {
  const a = Math.floor(v / 2 ** 24);
  const b = Math.floor(v / 2 ** 16) % 256;
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b < 32) ||
    (a === 192 && b === 168) ||
    (a === 100 && b >= 64 && b < 128) ||
    (a === 100 && b === 100) ||
    a >= 224
  );
}

function privateV6(h: string): boolean {
  const x = h.toLowerCase();
  if (x === '::1' || x === '::' || /^0*:(?:0*:)*0*:?0*1?$/.test(x)) return true;
  const mapped = /^(?:0*:)*(?:ffff:)?(\d+\.\d+\.\d+\.\d+)$/.exec(x);
  if (mapped) {
    const v = parseLooseIpv4(mapped[1]);
    return v !== undefined && privateV4(v);
  }
  const mappedHex = /^(?:0*:)*ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(x);
  if (mappedHex)
    return privateV4(Number.parseInt(mappedHex[1], 16) * 65536 + Number.parseInt(mappedHex[2], 16));
  return /^f[cd][0-9a-f]{0,2}:/.test(x) || /^fe[89ab][0-9a-f]?:/.test(x) || x.startsWith('fd00:ec2');
}

/** True when a host (name or address, in any notation) points inside the network. */
export function internalHost(rawHost: string): boolean {
  let h = rawHost.toLowerCase();
  const at = h.lastIndexOf('@');
  if (at >= 0) h = h.slice(at + 1);
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    h = h.slice(1, end < 0 ? undefined : end);
    const pct = h.indexOf('%');
    if (pct >= 0) h = h.slice(0, pct);
    return privateV6(h);
  }
  const colon = h.indexOf(':');
  if (colon >= 0 && h.indexOf(':', colon + 1) >= 0) return isIP(h) === 6 && privateV6(h);
  if (colon >= 0) h = h.slice(0, colon);
  h = h.replace(/\.+$/, '');
  if (BAD_NAMES.has(h) || h.endsWith('.localhost') || h.endsWith('.internal') || h.endsWith('.local'))
    return true;
  const v4 = parseLooseIpv4(h);
  if (v4 !== undefined) return privateV4(v4);
  if (WILDCARD_DNS.test(h)) {
    const embedded = /(\d{1,3}[.-]\d{1,3}[.-]\d{1,3}[.-]\d{1,3})/.exec(h);
    if (embedded) {
      const v = parseLooseIpv4(embedded[1].replace(/-/g, '.'));
      return v !== undefined && privateV4(v);
    }
    return h === 'localtest.me' || h === 'lvh.me' || h === 'vcap.me';
  }
  return false;
}

/** The first URL host in a normalised value that points inside the network. */
export function findInternalUrl(text: string): string | undefined {
  if (!text.includes('//')) return undefined;
  URL_HOST.lastIndex = 0;
  for (let m = URL_HOST.exec(text); m; m = URL_HOST.exec(text)) {
    if (internalHost(m[1])) return m[1];
  }
  return undefined;
}
