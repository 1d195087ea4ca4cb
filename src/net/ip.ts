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

/**
 * A binary prefix trie over address bits, stored in typed arrays (two child indexes and a label
 * index per node) so that 100,000+ CIDRs stay compact. Lookup walks at most 32 (IPv4) or 128
 * (IPv6) bits, whatever the number of CIDRs, and returns the label of the longest matching
 * prefix: constant time per request.
 */
export class CidrSet {
  /** children[2n] = zero child of node n, children[2n+1] = one child; 0 = none (roots are never children). */
  private children = new Int32Array(512);
  /** values[n] = index in `labels` of the prefix ending at node n, or -1. */
  private values = new Int32Array(256).fill(-1);
  private readonly labels: string[] = [];
  /** Node 0 is the IPv4 root, node 1 the IPv6 root. */
  private nodes = 2;

  add(cidr: Cidr, label = cidr.text): void {
    let node = cidr.bytes.length === 4 ? 0 : 1;
    for (let i = 0; i < cidr.prefix; i++) {
      const slot = 2 * node + ((cidr.bytes[i >> 3] >> (7 - (i & 7))) & 1);
      let next = this.children[slot];
      if (next === 0) {
        next = this.allocate();
        this.children[slot] = next;
      }
      node = next;
    }
    if (this.values[node] === -1) {
      this.values[node] = this.labels.length;
      this.labels.push(label);
    }
  }

  get size(): number {
    return this.labels.length;
  }

  /** The label of the longest prefix containing the address, or undefined. */
  match(addr: Uint8Array | undefined): string | undefined {
    if (!addr) return undefined;
    const children = this.children;
    const values = this.values;
    let node = addr.length === 4 ? 0 : 1;
    let found = values[node];
    const bits = addr.length * 8;
    for (let i = 0; i < bits; i++) {
      node = children[2 * node + ((addr[i >> 3] >> (7 - (i & 7))) & 1)];
      if (node === 0) break;
      if (values[node] !== -1) found = values[node];
    }
    return found === -1 ? undefined : this.labels[found];
  }

  private allocate(): number {
    if (this.nodes === this.values.length) {
      const children = new Int32Array(this.children.length * 2);
      children.set(this.children);
      this.children = children;
      const values = new Int32Array(this.values.length * 2).fill(-1);
      values.set(this.values);
      this.values = values;
    }
    return this.nodes++;
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
