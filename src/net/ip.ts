import { isIPv4, isIPv6 } from 'node:net';

/** An address as bytes: 4 for IPv4, 16 for IPv6. IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes IPv4. */
export function parseIp(text: string): Uint8Array | undefined {
  let s = text;
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (isIPv4(s)) return v4(s);
  if (!isIPv6(s)) return undefined;
  const b = v6(s);
  if (isMappedV4(b)) return b.subarray(12);
  return b;
}

/**
 * The canonical text of an address: IPv4-mapped IPv6 shown as IPv4, IPv6 in the RFC 5952 form
 * (lower case, no leading zeros, the longest run of zero groups compressed, no zone, no
 * brackets). Text that is not an address is returned as given.
 */
export function normalizeIp(text: string): string {
  const b = parseIp(text);
  if (!b) return text;
  return formatIp(b);
}

/** The text of an address given as bytes (4 or 16). */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return b.join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i] << 8) | b[i + 1]);
  // The longest run of two or more zero groups; the first one on a tie (RFC 5952 §4.2.3).
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number[]) => g.map((n) => n.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

function v4(s: string): Uint8Array {
  const out = new Uint8Array(4);
  const parts = s.split('.');
  for (let i = 0; i < 4; i++) out[i] = Number(parts[i]);
  return out;
}

function v6(s: string): Uint8Array {
  const out = new Uint8Array(16);
  let text = s;
  // A trailing dotted IPv4 part becomes two hextets.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const b = v4(tail);
    text = `${text.slice(0, lastColon + 1)}${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const [head, rest] = text.split('::');
  const h = head ? head.split(':') : [];
  const r = rest !== undefined && rest !== '' ? rest.split(':') : [];
  const groups = rest === undefined ? h : [...h, ...new Array(8 - h.length - r.length).fill('0'), ...r];
  for (let i = 0; i < 8; i++) {
    const n = Number.parseInt(groups[i] ?? '0', 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  }
  return out;
}

function isMappedV4(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

export interface Cidr {
  bytes: Uint8Array;
  prefix: number;
  text: string;
}

/** Parses `10.0.0.0/8`, `2001:db8::/32` or a bare address (a /32 or /128). */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const bytes = parseIp(addr.trim());
  if (!bytes) return undefined;
  const max = bytes.length * 8;
  let prefix = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1).trim();
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return undefined;
    prefix = Number(p);
    // A mapped IPv6 prefix (::ffff:10.0.0.0/104) becomes its IPv4 prefix.
    if (bytes.length === 4 && addr.includes(':')) prefix -= 96;
    if (prefix < 0 || prefix > max) return undefined;
  }
  return { bytes, prefix, text: text.trim() };
}

interface Node {
  zero?: Node;
  one?: Node;
  value?: string;
}

/**
 * A binary prefix trie over address bits. Lookup walks at most 32 (IPv4) or 128 (IPv6) bits,
 * whatever the number of CIDRs, and returns the label of the longest matching prefix.
 */
export class CidrSet {
  private readonly v4: Node = {};
  private readonly v6: Node = {};
  private count = 0;

  add(cidr: Cidr, label = cidr.text): void {
    let node = cidr.bytes.length === 4 ? this.v4 : this.v6;
    for (let i = 0; i < cidr.prefix; i++) {
      const bit = (cidr.bytes[i >> 3] >> (7 - (i & 7))) & 1;
      if (bit) node = node.one ??= {};
      else node = node.zero ??= {};
    }
    if (node.value === undefined) this.count++;
    node.value ??= label;
  }

  get size(): number {
    return this.count;
  }

  /** The label of the longest prefix containing the address, or undefined. */
  match(addr: Uint8Array | undefined): string | undefined {
    if (!addr) return undefined;
    let node: Node | undefined = addr.length === 4 ? this.v4 : this.v6;
    let found = node.value;
    const bits = addr.length * 8;
    for (let i = 0; i < bits && node; i++) {
      const bit = (addr[i >> 3] >> (7 - (i & 7))) & 1;
      node = bit ? node.one : node.zero;
      if (node?.value !== undefined) found = node.value;
    }
    return found;
  }
}

/** Builds a set from CIDR texts; returns the texts that did not parse. */
export function buildCidrSet(texts: readonly string[]): { set: CidrSet; invalid: number[] } {
  const set = new CidrSet();
  const invalid: number[] = [];
  texts.forEach((t, i) => {
    const c = parseCidr(t);
    if (c) set.add(c);
    else invalid.push(i);
  });
  return { set, invalid };
}
