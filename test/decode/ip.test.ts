import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { LINKTYPE } from '../../src/decode/link';
import { Verdict } from '../../src/decode/packet';
import {
  ACK, authHeader, concat, destOpts, ether, fragment6, hopByHop, ipv4, ipv6, jumboOption, routing, tcp,
} from '../helpers/packets';
import { decode, LEAD } from './util';

const RAW = LINKTYPE.RAW;
const EN = LINKTYPE.EN10MB;
const seg = (payload: string, seq = 7) => tcp({ sport: 1234, dport: 443, seq, flags: ACK, payload });

describe('IPv4', () => {
  test('plain datagram: offsets and payload', () => {
    const r = decode(ipv4(seg('abcdef'), { src: '192.168.1.2', dst: '172.16.0.9' }), RAW);
    assert.equal(r.verdict, Verdict.TCP);
    assert.equal(r.d.ipVersion, 4);
    assert.deepEqual(r.src, [192, 168, 1, 2]);
    assert.deepEqual(r.dst, [172, 16, 0, 9]);
    assert.equal(r.d.sport, 1234);
    assert.equal(r.d.dport, 443);
    assert.equal(r.payloadOffset, 40);
    assert.equal(r.payload, 'abcdef');
  });

  test('options are skipped (IHL 6..15)', () => {
    for (let words = 1; words <= 10; words++) {
      const opts = new Array(words * 4).fill(1); // NOPs
      const r = decode(ipv4(seg('xyz'), { options: opts }), RAW);
      assert.equal(r.verdict, Verdict.TCP, `ihl ${5 + words}`);
      assert.equal(r.payloadOffset, 20 + 4 * words + 20);
      assert.equal(r.payload, 'xyz');
      assert.equal(r.d.sport, 1234);
    }
  });

  test('IHL < 5 is not processed', () => {
    for (const ihl of [0, 1, 4]) {
      assert.equal(decode(ipv4(seg('abc'), { ihl }), RAW).verdict, Verdict.NOT_PROCESSED, `ihl ${ihl}`);
    }
  });

  test('header longer than the total length is not processed', () => {
    const p = ipv4(seg('abc'), { options: new Array(40).fill(1) }); // IHL 15 = 60 bytes
    assert.equal(decode(p, RAW).verdict, Verdict.TCP);
    const lying = ipv4(seg('abc'), { options: new Array(40).fill(1), total: 59 });
    assert.equal(decode(lying, RAW).verdict, Verdict.NOT_PROCESSED);
    // IHL 15 claimed on a 20-byte header with total 40: header (60) > total.
    assert.equal(decode(ipv4(seg(''), { ihl: 15 }), RAW).verdict, Verdict.NOT_PROCESSED);
  });

  test('header longer than the captured bytes is not processed (B3)', () => {
    // IHL 15 and total length 100, but only 40 bytes exist.
    const p = ipv4(seg(''), { ihl: 15, total: 100 });
    assert.equal(p.length, 40);
    assert.equal(decode(p, RAW).verdict, Verdict.NOT_PROCESSED);
    const p2 = ipv4(seg('abc'), { options: new Array(40).fill(1) });
    assert.equal(decode(p2, RAW, 59).verdict, Verdict.NOT_PROCESSED);
    assert.equal(decode(p2, RAW, 60).verdict, Verdict.NOT_PROCESSED); // no room for TCP
  });

  test('total length 0 (TSO) is not processed (B4 kept)', () => {
    assert.equal(decode(ipv4(seg('data'), { total: 0 }), RAW).verdict, Verdict.NOT_PROCESSED);
  });

  test('total length too short for a TCP header is not processed', () => {
    assert.equal(decode(ipv4(seg('data'), { total: 39 }), RAW).verdict, Verdict.NOT_PROCESSED);
    const r = decode(ipv4(seg('data'), { total: 40 }), RAW);
    assert.equal(r.verdict, Verdict.TCP);
    assert.equal(r.d.payloadLen, 0);
  });

  test('payload is clamped to the total length (padding, FCS: B1)', () => {
    const d = ipv4(seg('ab'));
    for (const f of [ether(d, { padTo: 60 }), ether(d, { padTo: 60, fcs: true }), ether(d, { fcs: true })]) {
      const r = decode(f, EN);
      assert.equal(r.verdict, Verdict.TCP);
      assert.equal(r.d.payloadLen, 2);
      assert.equal(r.payload, 'ab');
    }
    // Trailing junk of any size on RAW too.
    const r = decode(concat(d, 'TRAILER'), RAW);
    assert.equal(r.payload, 'ab');
    // A total length shorter than the data cuts the payload.
    assert.equal(decode(ipv4(seg('abcdef'), { total: 43 }), RAW).payload, 'abc');
  });

  test('payload is clamped to the captured bytes when the total length lies (B1-B3)', () => {
    const r = decode(ipv4(seg('abcdef'), { total: 1500 }), RAW);
    assert.equal(r.verdict, Verdict.TCP);
    assert.equal(r.d.payloadLen, 6);
    assert.equal(r.payload, 'abcdef');
    // Snaplen cut.
    const full = ipv4(seg('abcdef'));
    const cut = decode(full, RAW, 43);
    assert.equal(cut.verdict, Verdict.TCP);
    assert.equal(cut.payload, 'abc');
  });

  test('fragments (MF or an offset) go to the reassembler with their fields (B30: tcpflow takes a first fragment whole)', () => {
    for (const fragOffset of [0, 1, 3, 0x1fff]) {
      for (const mf of [true, false]) {
        if (fragOffset === 0 && !mf) continue;
        const frame = ipv4(seg('xyz'), { mf, fragOffset, id: 0xbeef, options: [1, 1, 1, 1] });
        const r = decode(frame, RAW);
        assert.equal(r.verdict, Verdict.FRAGMENT, `offset ${fragOffset} mf ${mf}`);
        assert.equal(r.d.fragOffset, fragOffset * 8);
        assert.equal(r.d.fragMore, mf);
        assert.equal(r.d.fragId, 0xbeef);
        assert.equal(r.d.fragProto, 6);
        assert.equal(r.d.fragData - LEAD, 24);
        assert.equal(r.d.fragEnd - LEAD, frame.length);
        assert.equal(r.addrOffset, 12);
      }
    }
    // The data ends at the total length (padding after it is not data).
    const padded = concat(ipv4(seg('pad'), { mf: true }), [0, 0, 0, 0]);
    assert.equal(decode(padded, RAW).d.fragEnd - LEAD, padded.length - 4);
    // A fragment cut short by the snapshot length can never complete a datagram: a first one
    // is taken whole (tcpflow's rule), a later one is not processed.
    const first = decode(ipv4(seg('firstpart'), { mf: true }), RAW, 45);
    assert.equal(first.verdict, Verdict.TCP);
    assert.equal(first.payload, 'first');
    assert.equal(decode(ipv4(seg('later'), { mf: true, fragOffset: 3 }), RAW, 44).verdict, Verdict.NOT_PROCESSED);
    // DF is not a fragment; nor is a fragment of another protocol a TCP one.
    assert.equal(decode(ipv4(seg('df'), { df: true }), RAW).payload, 'df');
    assert.equal(decode(ipv4(seg('x'), { mf: true, proto: 17 }), RAW).verdict, Verdict.NOT_PROCESSED);
  });

  test('non-TCP protocols are not processed', () => {
    for (const proto of [1, 17, 47, 50, 132, 0]) {
      assert.equal(decode(ipv4(seg('abc'), { proto }), RAW).verdict, Verdict.NOT_PROCESSED, `proto ${proto}`);
    }
  });

  test('fewer than 20 captured bytes are not processed', () => {
    const p = ipv4(seg('abc'));
    for (const n of [0, 1, 19]) assert.equal(decode(p, RAW, n).verdict, Verdict.NOT_PROCESSED);
  });

  test('versions other than 4 and 6 are not processed', () => {
    for (const version of [0, 5, 7, 15]) {
      assert.equal(decode(ipv4(seg('abc'), { version }), RAW).verdict, Verdict.NOT_PROCESSED);
    }
  });
});

describe('IPv6', () => {
  test('plain datagram', () => {
    const r = decode(ipv6(seg('hello6'), { src: '::1', dst: 'fe80::2' }), RAW);
    assert.equal(r.verdict, Verdict.TCP);
    assert.equal(r.d.ipVersion, 6);
    assert.equal(r.addrOffset, 8);
    assert.equal(r.d.addrLen, 16);
    assert.deepEqual(r.src, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    assert.deepEqual(r.dst, [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    assert.equal(r.payloadOffset, 60);
    assert.equal(r.payload, 'hello6');
  });

  const single: [string, () => ReturnType<typeof hopByHop>, number][] = [
    ['hop-by-hop', () => hopByHop(), 8],
    ['hop-by-hop with 3 words', () => hopByHop(new Array(20).fill(0)), 24],
    ['routing', () => routing(1), 24],
    ['routing with 3 addresses', () => routing(3, 2), 56],
    ['destination options', () => destOpts(), 8],
    ['destination options, 2 words', () => destOpts([5, 6, 1, 2, 3, 4, 5, 6, 7, 8]), 16],
    ['atomic fragment (offset 0, M=0)', () => fragment6(0, false), 8],
    ['authentication header', () => authHeader(3), 24],
    ['authentication header, longer ICV', () => authHeader(5), 32],
  ];
  for (const [name, mk, len] of single) {
    test(`extension header followed: ${name} (B29)`, () => {
      const e = mk();
      assert.equal(e.bytes.length, len);
      const r = decode(ipv6(seg('payload'), { ext: [e] }), RAW);
      assert.equal(r.verdict, Verdict.TCP);
      assert.equal(r.payloadOffset, 40 + len + 20);
      assert.equal(r.payload, 'payload');
      assert.equal(r.d.sport, 1234);
      assert.equal(r.d.seq, 7);
    });
  }

  test('a chain of every extension header type', () => {
    const ext = [hopByHop(), destOpts(), routing(2), fragment6(0, false), authHeader(3), destOpts()];
    const r = decode(ether(ipv6(seg('chained'), { ext })), EN);
    assert.equal(r.verdict, Verdict.TCP);
    assert.equal(r.payloadOffset, 14 + 40 + 8 + 8 + 40 + 8 + 24 + 8 + 20);
    assert.equal(r.payload, 'chained');
  });

  test('fragments go to the reassembler with their fields, behind other headers too (B30)', () => {
    for (const off of [0, 1, 100, 0x1fff]) {
      for (const more of [true, false]) {
        if (off === 0 && !more) continue;
        const frame = ipv6(seg('x'), { ext: [hopByHop(), fragment6(off, more, 0xfedcba98)] });
        const r = decode(frame, RAW);
        assert.equal(r.verdict, Verdict.FRAGMENT, `offset ${off}`);
        assert.equal(r.d.fragOffset, off * 8);
        assert.equal(r.d.fragMore, more);
        assert.equal(r.d.fragId, 0xfedcba98);
        assert.equal(r.d.fragProto, 6);
        assert.equal(r.d.fragHeader - LEAD, 48);
        assert.equal(r.d.fragNextAt - LEAD, 40, 'the hop-by-hop header names the fragment header');
        assert.equal(r.d.fragData - LEAD, 56);
        assert.equal(r.d.fragEnd - LEAD, frame.length);
      }
    }
    assert.equal(decode(ipv6(seg('x'), { ext: [fragment6(3, true)] }), RAW).d.fragNextAt - LEAD, 6, 'the IPv6 header names it');
    // Cut short by the snapshot length: a first fragment is the datagram, a later one is not processed.
    const cut = decode(ipv6(seg('abcdef'), { ext: [fragment6(0, true)] }), RAW, 40 + 8 + 20 + 3);
    assert.equal(cut.verdict, Verdict.TCP);
    assert.equal(cut.payload, 'abc');
    assert.equal(decode(ipv6(seg('abcdef'), { ext: [fragment6(5, true)] }), RAW, 40 + 8 + 20 + 3).verdict, Verdict.NOT_PROCESSED);
    // A fragment of a datagram that cannot hold TCP (UDP, ICMPv6) is not processed.
    for (const next of [17, 58]) {
      assert.equal(decode(ipv6(new Uint8Array(16), { next, ext: [fragment6(1, true)] }), RAW).verdict, Verdict.NOT_PROCESSED);
    }
  });

  test('other next headers are not processed', () => {
    for (const next of [17, 58, 59, 50, 135, 255]) {
      assert.equal(decode(ipv6(seg('x'), { next }), RAW).verdict, Verdict.NOT_PROCESSED, `next ${next}`);
      assert.equal(decode(ipv6(seg('x'), { next, ext: [destOpts()] }), RAW).verdict, Verdict.NOT_PROCESSED);
    }
  });

  test('a very long extension chain is refused (no endless loop)', () => {
    const ext = Array.from({ length: 64 }, () => destOpts());
    assert.equal(decode(ipv6(seg('x'), { ext }), RAW).verdict, Verdict.NOT_PROCESSED);
    const ok = Array.from({ length: 8 }, () => destOpts());
    assert.equal(decode(ipv6(seg('x'), { ext: ok }), RAW).payload, 'x');
  });

  test('jumbo payload in hop-by-hop (payload length 0)', () => {
    const t = seg('jumbo-data');
    const hbh = hopByHop(jumboOption(8 + t.length));
    const r = decode(ipv6(t, { ext: [hbh], payloadLen: 0 }), RAW);
    assert.equal(r.verdict, Verdict.TCP);
    assert.equal(r.payload, 'jumbo-data');
    // Jumbo length shorter than the data cuts it; longer is clamped to the capture.
    assert.equal(decode(ipv6(t, { ext: [hopByHop(jumboOption(8 + 20 + 5))], payloadLen: 0 }), RAW).payload, 'jumbo');
    assert.equal(decode(ipv6(t, { ext: [hopByHop(jumboOption(0x7fffffff))], payloadLen: 0 }), RAW).payload, 'jumbo-data');
    assert.equal(decode(ipv6(t, { ext: [hopByHop(jumboOption(0xfffffff0))], payloadLen: 0 }), RAW).payload, 'jumbo-data');
    // The option may follow padding inside the header.
    const padded = hopByHop([0, 0, 1, 0, ...jumboOption(16 + t.length)]);
    assert.equal(padded.bytes.length, 16);
    assert.equal(decode(ipv6(t, { ext: [padded], payloadLen: 0 }), RAW).payload, 'jumbo-data');
  });

  test('payload length 0 without a jumbo option leaves no TCP header', () => {
    assert.equal(decode(ipv6(seg('abc'), { payloadLen: 0 }), RAW).verdict, Verdict.NOT_PROCESSED);
    assert.equal(decode(ipv6(seg('abc'), { ext: [hopByHop()], payloadLen: 0 }), RAW).verdict, Verdict.NOT_PROCESSED);
  });

  test('payload length is clamped to the captured bytes (B2)', () => {
    const r = decode(ipv6(seg('abcdef'), { payloadLen: 9000 }), RAW);
    assert.equal(r.verdict, Verdict.TCP);
    assert.equal(r.payload, 'abcdef');
    const cut = decode(ipv6(seg('abcdef')), RAW, 63);
    assert.equal(cut.payload, 'abc');
  });

  test('payload length shorter than the data cuts the payload (padding)', () => {
    assert.equal(decode(ipv6(seg('abcdef'), { payloadLen: 22 }), RAW).payload, 'ab');
    assert.equal(decode(ether(ipv6(seg('ab')), { padTo: 90, fcs: true }), EN).payload, 'ab');
  });

  test('extension headers beyond the payload length or the capture are not processed', () => {
    const p = ipv6(seg('abc'), { ext: [routing(2)] });
    assert.equal(decode(p, RAW, 40 + 20).verdict, Verdict.NOT_PROCESSED);
    assert.equal(decode(p, RAW, 40 + 4).verdict, Verdict.NOT_PROCESSED);
    assert.equal(decode(ipv6(seg('abc'), { ext: [routing(2)], payloadLen: 30 }), RAW).verdict, Verdict.NOT_PROCESSED);
  });

  test('fewer than 40 captured bytes are not processed', () => {
    const p = ipv6(seg(''));
    for (const n of [20, 39]) assert.equal(decode(p, RAW, n).verdict, Verdict.NOT_PROCESSED);
  });
});
