import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addrName, addrText, ipv4Padded, ipv4Text, ipv6Text, macText } from '../../src/util/address';
import { ip6 } from '../helpers/packets';
import { Rng } from '../flow/rng';

const hex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));

test('ipv6Text: known glibc inet_ntop outputs', () => {
  const cases: [string, string][] = [
    ['::1', '::1'],
    ['::', '::'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['::1.2.3.4', '::1.2.3.4'],
    ['2001:db8::1', '2001:db8::1'],
    ['1:0:0:1:0:0:0:1', '1:0:0:1::1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::2', '::2'],
    ['::ffff:0:0', '::ffff:0.0.0.0'],
    ['::ffff:0.0.0.1', '::ffff:0.0.0.1'],
    ['0:0:0:0:0:fffe:1.2.3.4', '::fffe:102:304'],
    ['0:0:0:0:1:ffff:1.2.3.4', '::1:ffff:102:304'],
    ['1::', '1::'],
    ['fe80::1:0:0:1', 'fe80::1:0:0:1'],
    ['0:0:1::', '0:0:1::'],
    ['1:0:0:0:1:0:0:0', '1::1:0:0:0'],
    ['0:1:0:1:0:1:0:1', '0:1:0:1:0:1:0:1'],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
    ['::ffff', '::ffff'],
    ['::ffff:ffff', '::255.255.255.255'],
    ['::1:0:0', '::1:0:0'],
    ['0:0:0:0:0:0:1:0', '::0.1.0.0'],
    ['2001:DB8:0:0:8:800:200C:417A', '2001:db8::8:800:200c:417a'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ['::ffff:0:1.2.3.4', '::ffff:0:102:304'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['::2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8'],
    ['1:2:3:4:5:6::8', '1:2:3:4:5:6:0:8'],
    ['0:0:0:0:0:1:0:0', '::1:0:0'],
  ];
  for (const [input, want] of cases) assert.equal(ipv6Text(ip6(input.toLowerCase())), want, input);
});

test('ipv6Text: random addresses against glibc inet_ntop (table made with glibc 2.36)', () => {
  const table: [string, string][] = [
  ['00000000000000000000ffff00000000', '::ffff:0.0.0.0'],
  ['0000ffff000117d900000000ffffffff', '0:ffff:1:17d9::ffff:ffff'],
  ['34c300001e84daedffff000000000029', '34c3:0:1e84:daed:ffff::29'],
  ['0000000000000000003c00004dd00000', '::3c:0:4dd0:0'],
  ['00ae0000000023340000009effff0091', 'ae::2334:0:9e:ffff:91'],
  ['00000000000000000000423800002941', '::4238:0:2941'],
  ['0000000000000000ffff000100000000', '::ffff:1:0:0'],
  ['000000000000ffff0000000000000000', '0:0:0:ffff::'],
  ['ffff00e9c8e500000000000000000001', 'ffff:e9:c8e5::1'],
  ['0000000000000000000000000000004c', '::4c'],
  ['000000000000000000000000000000f5', '::f5'],
  ['00000000004b00000000000000850000', '0:0:4b::85:0'],
  ['0000007263ea006600000e4d000000e4', '0:72:63ea:66:0:e4d:0:e4'],
  ['0001000000000000000000f5000000c6', '1::f5:0:c6'],
  ['f4c0002c0000000000010000ffff0000', 'f4c0:2c::1:0:ffff:0'],
  ['00000000000000000000000100000000', '::1:0:0'],
  ['0000ffff00000000000000eaffff0042', '0:ffff::ea:ffff:42'],
  ['0000000000010000000000a60000ffff', '::1:0:0:a6:0:ffff'],
  ['00010000000000000000000020716618', '1::2071:6618'],
  ['0000008400010000000000000001004f', '0:84:1::1:4f'],
  ['00000000000000000000ffff00000000', '::ffff:0.0.0.0'],
  ['000000000000000000a9000135a50000', '::a9:1:35a5:0'],
  ['00010001000000000000000000000001', '1:1::1'],
  ['000000000000000071dfe85500890000', '::71df:e855:89:0'],
  ['00000000000000000000000000000000', '::'],
  ['000000000000000000000000009d0000', '::0.157.0.0'],
  ['00000000478900010001000000900000', '::4789:1:1:0:90:0'],
  ['0000000000000000000000019e7d0000', '::1:9e7d:0'],
  ['00000000000000010000000000000000', '0:0:0:1::'],
  ['000000000000ffff000000a600910016', '::ffff:0:a6:91:16'],
  ['00000000000000000000000000090000', '::0.9.0.0'],
  ['000000000021811f0000762300f50000', '::21:811f:0:7623:f5:0'],
  ['0000002700000000000100000000006f', '0:27::1:0:0:6f'],
  ['0000923200000000000108f600000000', '0:9232::1:8f6:0:0'],
  ['00010026000000010039000000000001', '1:26:0:1:39::1'],
  ['000000000000000000000000000000e4', '::e4'],
  ['0064000000010000271d000100004c3e', '64:0:1:0:271d:1:0:4c3e'],
  ['00000000000e0000000100e60001412e', '::e:0:1:e6:1:412e'],
  ['00000000000000cf0000000000550000', '::cf:0:0:55:0'],
  ['0000fe800001000000000000ffff0000', '0:fe80:1::ffff:0'],
  ['00000000000000000000ffff00000000', '::ffff:0.0.0.0'],
  ['000000006e9200cc0000000100000001', '::6e92:cc:0:1:0:1'],
  ['0000000100010000002b0001ffff0000', '0:1:1:0:2b:1:ffff:0'],
  ['00800001000062260000055b00000000', '80:1:0:6226:0:55b::'],
  ['00f30000000000010000d70c00000000', 'f3::1:0:d70c:0:0'],
  ['00000000000000000000000022860001', '::34.134.0.1'],
  ['0000000000fd00000000000000010000', '0:0:fd::1:0'],
  ['00015e4200010001ef6bc1da00000000', '1:5e42:1:1:ef6b:c1da::'],
  ['0000000000006a300001000000000000', '::6a30:1:0:0:0'],
  ['62d4000f0000cf3e0000000000630000', '62d4:f:0:cf3e::63:0'],
  ['000000000000000000000000ee75fca8', '::238.117.252.168'],
  ['0000004d000000b90000000000010001', '0:4d:0:b9::1:1'],
  ['35df6aab000000010000000078490000', '35df:6aab:0:1::7849:0'],
  ['ffff0000000100000000000000010000', 'ffff:0:1::1:0'],
  ['00330000000000007654000000000000', '33::7654:0:0:0'],
  ['00000000000000000000ffff6f6f0000', '::ffff:111.111.0.0'],
  ['0000000100010001f78e00000000ffff', '0:1:1:1:f78e::ffff'],
  ['2eab009100009fed0000ba4168470001', '2eab:91:0:9fed:0:ba41:6847:1'],
  ['000000010000ffff002d000100000000', '0:1:0:ffff:2d:1::'],
  ['000000000000000116450000002c0071', '::1:1645:0:2c:71'],
  ['00000000000000000000000000000000', '::'],
  ['0000ffff0001000000009cc8ffff0000', '0:ffff:1::9cc8:ffff:0'],
  ['0001000000010000eaa4000000000000', '1:0:1:0:eaa4::'],
  ['00000014000000010001000100017137', '0:14:0:1:1:1:1:7137'],
  ['812300010000006a0000000000000000', '8123:1:0:6a::'],
  ['00000000000000000000e7f4c9db0000', '::e7f4:c9db:0'],
  ['00000000000000000000009700000000', '::97:0:0'],
  ['0000000000d500000000000000010000', '0:0:d5::1:0'],
  ['0000000000000000ffffffff00000001', '::ffff:ffff:0:1'],
  ['00000001000000008a1e00b300010000', '0:1::8a1e:b3:1:0'],
  ['00000000000000000000ffffffff0001', '::ffff:255.255.0.1'],
  ['000100000000f4b200290001000000ab', '1::f4b2:29:1:0:ab'],
  ['86cfdf42002b0000000000000001a838', '86cf:df42:2b::1:a838'],
  ['00f100df000000c8ffffffff00000000', 'f1:df:0:c8:ffff:ffff::'],
  ['00000001000100220000006600010000', '0:1:1:22:0:66:1:0'],
  ['0000000000000000000068f400000000', '::68f4:0:0'],
  ['000018c80093d36a0000000000000000', '0:18c8:93:d36a::'],
  ['ffff00010000000000001ba100000000', 'ffff:1::1ba1:0:0'],
  ['00fd0000856a0001000000fbffff0000', 'fd:0:856a:1:0:fb:ffff:0'],
  ['0000000000d800000000000000c20000', '0:0:d8::c2:0'],
  ];
  for (const [h, want] of table) assert.equal(ipv6Text(hex(h)), want, h);
});

test('ipv6Text: agrees with Node\'s URL serialisation wherever no IPv4 form applies', () => {
  const r = new Rng(99);
  let compared = 0;
  for (let i = 0; i < 5000; i++) {
    const words = Array.from({ length: 8 }, () => (r.chance(0.5) ? 0 : r.chance(0.3) ? r.int(1, 15) : r.int(0, 0xffff)));
    if (words.slice(0, 5).every((w) => w === 0) && (words[5] === 0 || words[5] === 0xffff)) continue;
    const b = new Uint8Array(16);
    words.forEach((w, j) => { b[2 * j] = w >> 8; b[2 * j + 1] = w & 0xff; });
    const node = new URL(`http://[${words.map((w) => w.toString(16)).join(':')}]/`).hostname.slice(1, -1);
    assert.equal(ipv6Text(b), node, words.join(','));
    compared++;
  }
  assert.ok(compared > 4000);
});

test('ipv6Text reads at an offset', () => {
  const buf = new Uint8Array(40).fill(0xaa);
  buf.set(ip6('2001:db8::1'), 7);
  assert.equal(ipv6Text(buf, 7), '2001:db8::1');
});

test('ipv4Padded and ipv4Text', () => {
  const cases: [number[], string, string][] = [
    [[10, 0, 0, 1], '010.000.000.001', '10.0.0.1'],
    [[0, 0, 0, 0], '000.000.000.000', '0.0.0.0'],
    [[255, 255, 255, 255], '255.255.255.255', '255.255.255.255'],
    [[192, 168, 1, 20], '192.168.001.020', '192.168.1.20'],
    [[1, 22, 99, 100], '001.022.099.100', '1.22.99.100'],
  ];
  for (const [b, padded, text] of cases) {
    assert.equal(ipv4Padded(Uint8Array.from(b)), padded);
    assert.equal(ipv4Text(Uint8Array.from(b)), text);
    const buf = Uint8Array.from([9, 9, 9, ...b, 9]);
    assert.equal(ipv4Padded(buf, 3), padded);
    assert.equal(ipv4Text(buf, 3), text);
  }
  for (let i = 0; i < 256; i++) {
    assert.equal(ipv4Padded(Uint8Array.from([i, i, i, i])), Array(4).fill(String(i).padStart(3, '0')).join('.'));
  }
});

test('addrText and addrName pick the form by length', () => {
  assert.equal(addrText(Uint8Array.from([10, 1, 2, 3])), '10.1.2.3');
  assert.equal(addrName(Uint8Array.from([10, 1, 2, 3])), '010.001.002.003');
  assert.equal(addrText(ip6('2001:db8::2')), '2001:db8::2');
  assert.equal(addrName(ip6('::ffff:10.0.0.1')), '::ffff:10.0.0.1');
  const buf = Uint8Array.from([0, 0, 10, 1, 2, 3, 4, 5]);
  assert.equal(addrText(buf, 2, 4), '10.1.2.3');
  assert.equal(addrName(buf, 2, 4), '010.001.002.003');
});

test('macText: lower-case, zero-padded, at an offset', () => {
  const b = Uint8Array.from([0xff, 0x02, 0x00, 0xab, 0xcd, 0x0e, 0xf0, 0x99]);
  assert.equal(macText(b, 1), '02:00:ab:cd:0e:f0');
  assert.equal(macText(b, 0), 'ff:02:00:ab:cd:0e');
});

test('macText: the same text as byte-by-byte formatting, for MACs met again and again in any order', () => {
  const slow = (a: Uint8Array, off: number) => Array.from(a.subarray(off, off + 6), (x) => x.toString(16).padStart(2, '0')).join(':');
  const macs = new Uint8Array(6 * 5);
  for (let i = 0; i < macs.length; i++) macs[i] = (i * 37 + (i >> 3)) & 0xff;
  macs.fill(0, 24, 30); // an all-zero one too
  let x = 7;
  for (let k = 0; k < 500; k++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const m = x % 5;
    assert.equal(macText(macs, 6 * m), slow(macs, 6 * m));
    // The buffer is reused for other bytes: what is cached is the bytes, not the place.
    if (k % 97 === 0) macs[6 * m + 5] ^= 0x5a;
  }
});
