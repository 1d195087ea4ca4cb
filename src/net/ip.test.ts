import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientIpFrom } from './client-ip.js';
import { buildCidrSet, CidrSet, formatIp, normalizeIp, parseCidr, parseIp } from './ip.js';

const bytes = (s: string) => {
  const b = parseIp(s);
  return b ? Array.from(b) : undefined;
};

describe('parseIp', () => {
  it('parses IPv4 into 4 bytes', () => {
    assert.deepEqual(bytes('1.2.3.4'), [1, 2, 3, 4]);
    assert.deepEqual(bytes('0.0.0.0'), [0, 0, 0, 0]);
    assert.deepEqual(bytes('255.255.255.255'), [255, 255, 255, 255]);
  });

  it('parses every IPv6 compression form into the same 16 bytes', () => {
    const want = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    for (const s of [
      '2001:db8::1',
      '2001:DB8:0:0:0:0:0:1',
      '2001:0db8:0000:0000:0000:0000:0000:0001',
      '2001:db8:0::0:1',
    ])
      assert.deepEqual(bytes(s), want, s);
    assert.deepEqual(bytes('::'), new Array(16).fill(0));
    assert.deepEqual(bytes('::1'), [...new Array(15).fill(0), 1]);
    assert.deepEqual(bytes('1::'), [0, 1, ...new Array(14).fill(0)]);
    assert.deepEqual(bytes('1:2:3:4:5:6:7:8'), [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]);
  });

  it('reads a trailing dotted quad in IPv6', () => {
    assert.deepEqual(bytes('64:ff9b::1.2.3.4'), [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
    assert.deepEqual(bytes('1:2:3:4:5:6:1.2.3.4'), [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 1, 2, 3, 4]);
  });

  it('turns IPv4-mapped IPv6 into IPv4, dotted or hex', () => {
    assert.deepEqual(bytes('::ffff:10.1.2.3'), [10, 1, 2, 3]);
    assert.deepEqual(bytes('::FFFF:a01:203'), [10, 1, 2, 3]);
    assert.deepEqual(bytes('0:0:0:0:0:ffff:127.0.0.1'), [127, 0, 0, 1]);
    // IPv4-compatible (deprecated) and NAT64 addresses are not mapped: they stay IPv6.
    assert.equal(bytes('::1.2.3.4')?.length, 16);
  });

  it('accepts brackets and drops a zone id', () => {
    assert.deepEqual(bytes('[::1]'), bytes('::1'));
    assert.deepEqual(bytes('fe80::1%eth0'), bytes('fe80::1'));
  });

  it('refuses what is not an address', () => {
    for (const s of [
      '',
      'abc',
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '01.2.3.4',
      '1.2.3.4 ',
      ' 1.2.3.4',
      '1:2:3:4:5:6:7:8:9',
      '1::2::3',
      '12345::1',
      'g::1',
      '10.0.0.0/8',
      '::ffff:1.2.3.256',
    ])
      assert.equal(parseIp(s), undefined, JSON.stringify(s));
  });
});

describe('normalizeIp and formatIp', () => {
  it('prints IPv6 in the RFC 5952 form', () => {
    assert.equal(normalizeIp('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
    assert.equal(normalizeIp('2001:0db8:0000:0000:0001:0000:0000:0001'), '2001:db8::1:0:0:1');
    assert.equal(normalizeIp('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1');
    assert.equal(normalizeIp('1:0:0:2:0:0:0:3'), '1:0:0:2::3');
    assert.equal(normalizeIp('::'), '::');
    assert.equal(normalizeIp('0::1'), '::1');
    assert.equal(normalizeIp('1::'), '1::');
    assert.equal(normalizeIp('[FE80::1%eth0]'), 'fe80::1');
  });

  it('prints mapped addresses as IPv4 and leaves non-addresses alone', () => {
    assert.equal(normalizeIp('::ffff:127.0.0.1'), '127.0.0.1');
    assert.equal(normalizeIp('not-an-ip'), 'not-an-ip');
    assert.equal(formatIp(new Uint8Array([192, 168, 0, 1])), '192.168.0.1');
  });
});

describe('parseCidr', () => {
  it('parses IPv4 and IPv6 prefixes and bare addresses', () => {
    assert.deepEqual(parseCidr('10.0.0.0/8'), {
      bytes: new Uint8Array([10, 0, 0, 0]),
      prefix: 8,
      text: '10.0.0.0/8',
    });
    assert.equal(parseCidr('2001:db8::/32')?.prefix, 32);
    assert.equal(parseCidr('1.2.3.4')?.prefix, 32);
    assert.equal(parseCidr('::1')?.prefix, 128);
    assert.equal(parseCidr('0.0.0.0/0')?.prefix, 0);
    assert.equal(parseCidr('::/0')?.prefix, 0);
  });

  it('turns a mapped IPv6 prefix into its IPv4 prefix', () => {
    const c = parseCidr('::ffff:10.0.0.0/104');
    assert.deepEqual(c && [Array.from(c.bytes), c.prefix], [[10, 0, 0, 0], 8]);
  });

  it('refuses bad prefixes and addresses', () => {
    for (const s of [
      '10.0.0.0/33',
      '::/129',
      '1.2.3.4/',
      '1.2.3.4/-1',
      '1.2.3.4/08',
      '1.2.3.4/8a',
      'x/8',
      '/8',
      '300.0.0.0/8',
      '::ffff:0.0.0.0/80',
    ])
      assert.equal(parseCidr(s), undefined, s);
  });
});

describe('CidrSet', () => {
  it('returns the label of the longest matching prefix', () => {
    const { set, invalid } = buildCidrSet(['10.0.0.0/8', '10.1.0.0/16', '10.1.2.3', '0.0.0.0/0']);
    assert.deepEqual(invalid, []);
    assert.equal(set.size, 4);
    assert.equal(set.match(parseIp('10.1.2.3')), '10.1.2.3');
    assert.equal(set.match(parseIp('10.1.2.4')), '10.1.0.0/16');
    assert.equal(set.match(parseIp('10.2.0.1')), '10.0.0.0/8');
    assert.equal(set.match(parseIp('192.0.2.1')), '0.0.0.0/0');
  });

  it('keeps IPv4 and IPv6 apart, and matches mapped peers as IPv4', () => {
    const { set } = buildCidrSet(['192.168.0.0/16', '2001:db8::/32']);
    assert.equal(set.match(parseIp('::ffff:192.168.3.4')), '192.168.0.0/16');
    assert.equal(set.match(parseIp('2001:db8:1::5')), '2001:db8::/32');
    assert.equal(set.match(parseIp('2001:db9::1')), undefined);
    assert.equal(set.match(parseIp('::c0a8:1')), undefined, 'an IPv6 address is not an IPv4 one');
    assert.equal(set.match(undefined), undefined);
  });

  it('matches at the prefix boundaries only', () => {
    const { set } = buildCidrSet(['172.16.0.0/12', 'fe80::/10']);
    assert.equal(set.match(parseIp('172.15.255.255')), undefined);
    assert.equal(set.match(parseIp('172.16.0.0')), '172.16.0.0/12');
    assert.equal(set.match(parseIp('172.31.255.255')), '172.16.0.0/12');
    assert.equal(set.match(parseIp('172.32.0.0')), undefined);
    assert.equal(set.match(parseIp('febf:ffff::1')), 'fe80::/10');
    assert.equal(set.match(parseIp('fec0::1')), undefined);
  });

  it('keeps the first label of a duplicate prefix and counts it once', () => {
    const set = new CidrSet();
    set.add(parseCidr('10.0.0.0/8')!, 'first');
    set.add(parseCidr('10.9.9.9/8')!, 'second');
    assert.equal(set.size, 1);
    assert.equal(set.match(parseIp('10.3.3.3')), 'first');
  });

  it('reports the indexes of invalid entries', () => {
    const { set, invalid } = buildCidrSet(['10.0.0.0/8', 'nope', '1.2.3.4/40', '::1']);
    assert.deepEqual(invalid, [1, 2]);
    assert.equal(set.size, 2);
  });
});

describe('clientIpFrom', () => {
  const trusted = buildCidrSet(['10.0.0.0/8', '::1']).set;

  it('is the peer when the peer is not trusted', () => {
    assert.equal(clientIpFrom('203.0.113.5', '198.51.100.1', trusted), '203.0.113.5');
    assert.equal(clientIpFrom('::ffff:203.0.113.5', '198.51.100.1', trusted), '203.0.113.5');
  });

  it('walks X-Forwarded-For from the right past trusted proxies', () => {
    assert.equal(clientIpFrom('10.0.0.1', '198.51.100.1, 10.0.0.2', trusted), '198.51.100.1');
    assert.equal(clientIpFrom('10.0.0.1', ['1.1.1.1, 198.51.100.1', '10.0.0.2'], trusted), '198.51.100.1');
    assert.equal(clientIpFrom('::1', '2001:DB8::7', trusted), '2001:db8::7');
  });

  it('stops at an entry that is not an address', () => {
    assert.equal(clientIpFrom('10.0.0.1', '198.51.100.1, junk, 10.0.0.2', trusted), '10.0.0.2');
    assert.equal(clientIpFrom('10.0.0.1', 'junk', trusted), '10.0.0.1');
  });

  it('ignores X-Forwarded-For without a trusted set', () => {
    assert.equal(clientIpFrom('10.0.0.1', '198.51.100.1', undefined), '10.0.0.1');
    assert.equal(clientIpFrom('10.0.0.1', '198.51.100.1', new CidrSet()), '10.0.0.1');
  });
});
