/**
 * Writes a tiny MaxMind DB (MMDB v2) for tests: an IPv6 tree (IPv4 networks under ::/96) whose
 * records point to `{ country: { iso_code } }` maps. Enough for the `maxmind` reader; not a
 * general-purpose writer.
 */
import { parseCidr } from '../../src/net/ip.js';

interface TreeNode {
  kids: [TreeNode | number | undefined, TreeNode | number | undefined];
}

function ctrl(type: number, size: number): Buffer {
  if (size >= 29) throw new Error('writer handles short fields only');
  if (type <= 7) return Buffer.from([(type << 5) | size]);
  return Buffer.from([size, type - 7]);
}

function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([ctrl(2, b.length), b]);
}

function uint(type: 5 | 6 | 9, n: number | bigint): Buffer {
  let hex = BigInt(n).toString(16);
  if (hex === '0') hex = '';
  if (hex.length % 2) hex = `0${hex}`;
  const bytes = Buffer.from(hex, 'hex');
  return Buffer.concat([ctrl(type, bytes.length), bytes]);
}

function map(entries: [string, Buffer][]): Buffer {
  return Buffer.concat([ctrl(7, entries.length), ...entries.flatMap(([k, v]) => [str(k), v])]);
}

function array(items: Buffer[]): Buffer {
  return Buffer.concat([ctrl(11, items.length), ...items]);
}

/** `networks`: CIDR (IPv4 or IPv6) -> ISO country code. */
export function buildCountryMmdb(networks: Record<string, string>): Buffer {
  const root: TreeNode = { kids: [undefined, undefined] };
  const data: Buffer[] = [];
  const offsets = new Map<string, number>();
  let dataSize = 0;
  for (const [cidrText, iso] of Object.entries(networks)) {
    const c = parseCidr(cidrText);
    if (!c) throw new Error(`bad CIDR ${cidrText}`);
    const bits: number[] = [];
    const v6 = new Uint8Array(16);
    if (c.bytes.length === 4) v6.set(c.bytes, 12);
    else v6.set(c.bytes);
    const prefix = c.bytes.length === 4 ? 96 + c.prefix : c.prefix;
    for (let i = 0; i < prefix; i++) bits.push((v6[i >> 3] >> (7 - (i & 7))) & 1);
    let off = offsets.get(iso);
    if (off === undefined) {
      const rec = map([['country', map([['iso_code', str(iso)]])]]);
      off = dataSize;
      offsets.set(iso, off);
      data.push(rec);
      dataSize += rec.length;
    }
    let n = root;
    for (let i = 0; i < bits.length - 1; i++) {
      const k = n.kids[bits[i]];
      if (typeof k === 'object') n = k;
      else {
        const next: TreeNode = { kids: [undefined, undefined] };
        n.kids[bits[i]] = next;
        n = next;
      }
    }
    n.kids[bits[bits.length - 1]] = -(off + 1); // data marker, resolved below
  }
  // Number the nodes breadth first.
  const nodes: TreeNode[] = [];
  const queue: TreeNode[] = [root];
  while (queue.length) {
    const n = queue.shift()!;
    nodes.push(n);
    for (const k of n.kids) if (typeof k === 'object') queue.push(k);
  }
  const index = new Map(nodes.map((n, i) => [n, i]));
  const count = nodes.length;
  const tree = Buffer.alloc(count * 6);
  nodes.forEach((n, i) => {
    n.kids.forEach((k, side) => {
      let v: number;
      if (k === undefined) v = count;
      else if (typeof k === 'object') v = index.get(k)!;
      else v = count + 16 + (-k - 1);
      tree.writeUIntBE(v, i * 6 + side * 3, 3);
    });
  });
  const metadata = map([
    ['node_count', uint(6, count)],
    ['record_size', uint(5, 24)],
    ['ip_version', uint(5, 6)],
    ['database_type', str('Portcullis-Test-Country')],
    ['languages', array([str('en')])],
    ['binary_format_major_version', uint(5, 2)],
    ['binary_format_minor_version', uint(5, 0)],
    ['build_epoch', uint(9, 1_700_000_000)],
    ['description', map([['en', str('test')]])],
  ]);
  return Buffer.concat([
    tree,
    Buffer.alloc(16),
    ...data,
    Buffer.from([0xab, 0xcd, 0xef]),
    Buffer.from('MaxMind.com'),
    metadata,
  ]);
}
