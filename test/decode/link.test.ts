import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFrame, isSupportedLinkType, LINKTYPE } from '../../src/decode/link';
import { newDecodedPacket, Verdict } from '../../src/decode/packet';
import {
  ACK, PSH, SYN, ether, ipv4, ipv6, nullFrame, ppp, pppoe, sll, sll2, tcp, concat, MAC_CLIENT, MAC_SERVER,
} from '../helpers/packets';
import { decode, JUNK, LEAD } from './util';

const seg = tcp({ sport: 40000, dport: 80, seq: 1001, flags: ACK | PSH, payload: 'hello' });
const v4 = ipv4(seg, { src: '10.0.0.1', dst: '10.0.0.2' });
const v6 = ipv6(seg, { src: '2001:db8::1', dst: '2001:db8::2' });

/** Assert a decoded IPv4 test segment with the IP header at `ip` (relative to the frame). */
function assertV4(r: ReturnType<typeof decode>, ip: number) {
  assert.equal(r.verdict, Verdict.TCP);
  assert.equal(r.d.ipVersion, 4);
  assert.equal(r.ipOffset, ip);
  assert.equal(r.addrOffset, ip + 12);
  assert.equal(r.d.addrLen, 4);
  assert.deepEqual(r.src, [10, 0, 0, 1]);
  assert.deepEqual(r.dst, [10, 0, 0, 2]);
  assert.equal(r.d.sport, 40000);
  assert.equal(r.d.dport, 80);
  assert.equal(r.d.seq, 1001);
  assert.equal(r.d.flags, ACK | PSH);
  assert.equal(r.payloadOffset, ip + 40);
  assert.equal(r.d.payloadLen, 5);
  assert.equal(r.payload, 'hello');
}

function assertV6(r: ReturnType<typeof decode>, ip: number) {
  assert.equal(r.verdict, Verdict.TCP);
  assert.equal(r.d.ipVersion, 6);
  assert.equal(r.ipOffset, ip);
  assert.equal(r.addrOffset, ip + 8);
  assert.equal(r.d.addrLen, 16);
  assert.deepEqual(r.src, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual(r.dst, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
  assert.equal(r.payloadOffset, ip + 60);
  assert.equal(r.payload, 'hello');
}

describe('link: supported types', () => {
  test('isSupportedLinkType lists exactly the decoded DLTs', () => {
    for (const dlt of [0, 1, 6, 9, 12, 14, 51, 101, 108, 113, 228, 229, 276]) {
      assert.equal(isSupportedLinkType(dlt), true, `DLT ${dlt}`);
    }
    for (const dlt of [2, 8, 10, 50, 104, 105, 107, 119, 127, 192, 231, 1000, -1]) {
      assert.equal(isSupportedLinkType(dlt), false, `DLT ${dlt}`);
    }
  });

  test('an unknown link type is dropped at the link layer', () => {
    for (const dlt of [105, 127, 231]) assert.equal(decode(v4, dlt).verdict, Verdict.LINK_DROP);
  });
});

describe('link: Ethernet', () => {
  test('IPv4 frame: fields, MAC offset, no VLAN', () => {
    const r = decode(ether(v4), LINKTYPE.EN10MB);
    assertV4(r, 14);
    assert.equal(r.macOffset, 0);
    assert.equal(r.d.vlan, -1);
    assert.deepEqual([...r.buf.subarray(LEAD, LEAD + 12)], [...MAC_SERVER, ...MAC_CLIENT]);
  });

  test('IPv6 frame', () => {
    const r = decode(ether(v6), LINKTYPE.EN10MB);
    assertV6(r, 14);
    assert.equal(r.macOffset, 0);
  });

  test('DLT 6 (IEEE802) is decoded as Ethernet', () => {
    const r = decode(ether(v4), LINKTYPE.IEEE802);
    assertV4(r, 14);
    assert.equal(r.macOffset, 0);
  });

  test('802.1Q tag: the suffix is the 12-bit VID, PCP and DEI masked (B6)', () => {
    const tci = (5 << 13) | 0x1000 | 42; // PCP 5, DEI 1, VID 42
    const r = decode(ether(v4, { tags: [{ tpid: 0x8100, tci }] }), LINKTYPE.EN10MB);
    assertV4(r, 18);
    assert.equal(r.d.vlan, 42);
    assert.equal(r.macOffset, 0);
  });

  test('802.1Q VID 0 and 4095 are kept as numbers', () => {
    assert.equal(decode(ether(v4, { tags: [{ tpid: 0x8100, tci: 0xe000 }] }), 1).d.vlan, 0);
    assert.equal(decode(ether(v4, { tags: [{ tpid: 0x8100, tci: 0xffff }] }), 1).d.vlan, 4095);
  });

  test('QinQ with an outer 0x88a8 tag: the inner 802.1Q VID names the flow', () => {
    const r = decode(ether(v4, { tags: [{ tpid: 0x88a8, tci: 100 }, { tpid: 0x8100, tci: (3 << 13) | 42 }] }), 1);
    assertV4(r, 22);
    assert.equal(r.d.vlan, 42);
  });

  test('outer 0x9100 tag: the inner VID names the flow', () => {
    const r = decode(ether(v6, { tags: [{ tpid: 0x9100, tci: 7 }, { tpid: 0x8100, tci: 42 }] }), 1);
    assertV6(r, 22);
    assert.equal(r.d.vlan, 42);
  });

  test('a lone 802.1ad (or 0x9100) tag names the flow like an 802.1Q tag', () => {
    assert.equal(decode(ether(v4, { tags: [{ tpid: 0x88a8, tci: 0x2000 | 42 }] }), 1).d.vlan, 42);
    assert.equal(decode(ether(v4, { tags: [{ tpid: 0x9100, tci: 4094 }] }), 1).d.vlan, 4094);
  });

  test('two 802.1Q tags (old-style QinQ): the inner one names the flow', () => {
    const r = decode(ether(v4, { tags: [{ tpid: 0x8100, tci: 10 }, { tpid: 0x8100, tci: 20 }] }), 1);
    assertV4(r, 22);
    assert.equal(r.d.vlan, 20);
  });

  test('three or more tags, any TPIDs in any order: the innermost (last) one names the flow', () => {
    const tags = [{ tpid: 0x9100, tci: 1 }, { tpid: 0x88a8, tci: 2 }, { tpid: 0x8100, tci: 3 }, { tpid: 0x88a8, tci: 0xf004 }];
    const r = decode(ether(v6, { tags }), 1);
    assertV6(r, 14 + 16);
    assert.equal(r.d.vlan, 4);
    assert.equal(decode(ether(v4, { tags: tags.slice(0, 3) }), 1).d.vlan, 3);
  });

  test('runt frames are dropped at the link layer', () => {
    const f = ether(v4);
    for (const n of [0, 1, 6, 12, 13]) assert.equal(decode(f, 1, n).verdict, Verdict.LINK_DROP, `caplen ${n}`);
  });

  test('a header with no room for the IP header is not processed (not a link drop)', () => {
    const f = ether(v4);
    assert.equal(decode(f, 1, 14).verdict, Verdict.NOT_PROCESSED);
    assert.equal(decode(f, 1, 33).verdict, Verdict.NOT_PROCESSED);
  });

  test('a VLAN tag cut by the capture is dropped at the link layer', () => {
    const f = ether(v4, { tags: [{ tpid: 0x8100, tci: 42 }] });
    for (const n of [14, 15, 16, 17]) assert.equal(decode(f, 1, n).verdict, Verdict.LINK_DROP, `caplen ${n}`);
    assert.equal(decode(f, 1, 18).verdict, Verdict.NOT_PROCESSED);
  });

  test('non-IP ethertypes are dropped at the link layer', () => {
    for (const type of [0x0806, 0x8035, 0x88cc, 0x8847, 0x0000, 0xffff]) {
      assert.equal(decode(ether(v4, { type }), 1).verdict, Verdict.LINK_DROP, `type ${type.toString(16)}`);
    }
    // ... also behind a VLAN tag
    assert.equal(decode(ether(v4, { type: 0x0806, tags: [{ tpid: 0x8100, tci: 1 }] }), 1).verdict, Verdict.LINK_DROP);
  });

  test('padding and FCS after the datagram are not payload (B1)', () => {
    const syn = ipv4(tcp({ seq: 1000, flags: SYN }));
    const r = decode(ether(syn, { padTo: 60 }), 1);
    assert.equal(r.verdict, Verdict.TCP);
    assert.equal(r.d.payloadLen, 0);
    const r2 = decode(ether(v4, { padTo: 60, fcs: true }), 1);
    assertV4(r2, 14);
    const small = ipv4(tcp({ seq: 5, payload: 'a' }));
    const r3 = decode(ether(small, { padTo: 60, fcs: true }), 1);
    assert.equal(r3.payload, 'a');
  });

  test('the decoder resets VLAN and MAC between packets', () => {
    const out = newDecodedPacket();
    decode(ether(v4, { tags: [{ tpid: 0x8100, tci: 42 }] }), 1, undefined, out);
    assert.equal(out.vlan, 42);
    const r = decode(v4, LINKTYPE.RAW, undefined, out);
    assertV4(r, 0);
    assert.equal(r.d.vlan, -1);
    assert.equal(r.d.macOffset, -1);
  });

  test('decodeFrame returns the verdict it stores', () => {
    const out = newDecodedPacket();
    const f = ether(v4);
    assert.equal(decodeFrame(f, 0, f.length, 1, out), Verdict.TCP);
    assert.equal(out.verdict, Verdict.TCP);
    assert.equal(decodeFrame(f, 0, 10, 1, out), Verdict.LINK_DROP);
    assert.equal(out.verdict, Verdict.LINK_DROP);
    assert.equal(decodeFrame(f, 0, 20, 1, out), Verdict.NOT_PROCESSED);
    assert.equal(out.verdict, Verdict.NOT_PROCESSED);
  });
});

describe('link: RAW and IPV4/IPV6', () => {
  for (const dlt of [LINKTYPE.RAW, LINKTYPE.RAW_BSD12, LINKTYPE.RAW_BSD14, LINKTYPE.IPV4]) {
    test(`DLT ${dlt} carries IPv4 directly`, () => {
      const r = decode(v4, dlt);
      assertV4(r, 0);
      assert.equal(r.macOffset, -1);
      assert.equal(r.d.vlan, -1);
    });
  }
  for (const dlt of [LINKTYPE.RAW, LINKTYPE.IPV6]) {
    test(`DLT ${dlt} carries IPv6 directly`, () => {
      const r = decode(v6, dlt);
      assertV6(r, 0);
      assert.equal(r.macOffset, -1);
    });
  }
  test('RAW with a bad version nibble is not processed', () => {
    const bad = Uint8Array.from(v4);
    bad[0] = 0x55;
    assert.equal(decode(bad, LINKTYPE.RAW).verdict, Verdict.NOT_PROCESSED);
  });
});

describe('link: NULL and LOOP (B8)', () => {
  for (const dlt of [LINKTYPE.NULL, LINKTYPE.LOOP]) {
    for (const order of ['le', 'be'] as const) {
      test(`DLT ${dlt} ${order}: AF_INET`, () => {
        const r = decode(nullFrame(v4, 2, order), dlt);
        assertV4(r, 4);
        assert.equal(r.macOffset, -1);
      });
      for (const af of [10, 24, 28, 30]) {
        test(`DLT ${dlt} ${order}: IPv6 family ${af}`, () => {
          const r = decode(nullFrame(v6, af, order), dlt);
          assertV6(r, 4);
          assert.equal(r.macOffset, -1);
        });
      }
      test(`DLT ${dlt} ${order}: other families are dropped`, () => {
        for (const af of [0, 1, 3, 7, 23, 26, 0x200, 0x02000002]) {
          assert.equal(decode(nullFrame(v4, af, order), dlt).verdict, Verdict.LINK_DROP, `af ${af}`);
        }
      });
    }
  }
  test('a NULL header cut short is a link drop', () => {
    const f = nullFrame(v4, 2);
    for (const n of [0, 1, 3]) assert.equal(decode(f, LINKTYPE.NULL, n).verdict, Verdict.LINK_DROP);
    assert.equal(decode(f, LINKTYPE.NULL, 4).verdict, Verdict.NOT_PROCESSED);
  });
});

describe('link: PPP and PPPoE', () => {
  test('PPP skips 4 bytes whatever the protocol', () => {
    assertV4(decode(ppp(v4), LINKTYPE.PPP), 4);
    assertV6(decode(ppp(v6, 0x0057), LINKTYPE.PPP), 4);
    assertV4(decode(ppp(v4, 0xc021), LINKTYPE.PPP), 4);
    assert.equal(decode(ppp(v4), LINKTYPE.PPP, 3).verdict, Verdict.LINK_DROP);
  });
  test('PPPoE: IPv4 and IPv6 protocols decoded, others dropped', () => {
    assertV4(decode(pppoe(v4), LINKTYPE.PPP_ETHER), 8);
    assertV6(decode(pppoe(v6, 0x0057), LINKTYPE.PPP_ETHER), 8);
    assert.equal(decode(pppoe(v4, 0xc021), LINKTYPE.PPP_ETHER).verdict, Verdict.LINK_DROP);
    assert.equal(decode(pppoe(v4), LINKTYPE.PPP_ETHER, 7).verdict, Verdict.LINK_DROP);
  });
});

describe('link: Linux cooked captures', () => {
  test('SLL: IPv4 and IPv6 after 16 bytes, no MAC', () => {
    const r = decode(sll(v4), LINKTYPE.LINUX_SLL);
    assertV4(r, 16);
    assert.equal(r.macOffset, -1);
    assertV6(decode(sll(v6, 0x86dd), LINKTYPE.LINUX_SLL), 16);
  });

  test('SLL with MPLS: labels skipped to the bottom of the stack', () => {
    assertV4(decode(sll(v4, 0x8847, [100]), LINKTYPE.LINUX_SLL), 20);
    assertV4(decode(sll(v4, 0x8847, [100, 200, 300]), LINKTYPE.LINUX_SLL), 28);
    assertV6(decode(sll(v6, 0x8847, [5, 6]), LINKTYPE.LINUX_SLL), 24);
  });

  test('SLL with an MPLS stack cut by the capture is a link drop', () => {
    const f = sll(v4, 0x8847, [100, 200]);
    assert.equal(decode(f, LINKTYPE.LINUX_SLL, 16).verdict, Verdict.LINK_DROP);
    assert.equal(decode(f, LINKTYPE.LINUX_SLL, 23).verdict, Verdict.LINK_DROP);
    assert.equal(decode(f, LINKTYPE.LINUX_SLL, 24).verdict, Verdict.NOT_PROCESSED);
    // A stack without a bottom-of-stack bit runs off the end.
    const nobos = concat(sll(new Uint8Array(0), 0x8847), [0, 0x64, 0, 64, 0, 0xc8, 0, 64]);
    assert.equal(decode(nobos, LINKTYPE.LINUX_SLL).verdict, Verdict.LINK_DROP);
  });

  test('SLL does not check the protocol: non-IP payload is "not processed" (goes to -w)', () => {
    const arp = Uint8Array.from([0, 1, 8, 0, 6, 4, 0, 1, ...MAC_CLIENT, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2]);
    assert.equal(decode(sll(arp, 0x0806), LINKTYPE.LINUX_SLL).verdict, Verdict.NOT_PROCESSED);
    assertV4(decode(sll(v4, 0x0806), LINKTYPE.LINUX_SLL), 16);
  });

  test('SLL runt is a link drop', () => {
    for (const n of [0, 10, 15]) assert.equal(decode(sll(v4), LINKTYPE.LINUX_SLL, n).verdict, Verdict.LINK_DROP);
  });

  test('SLL2: IP after 20 bytes (B31), runt dropped', () => {
    const r = decode(sll2(v4), LINKTYPE.LINUX_SLL2);
    assertV4(r, 20);
    assert.equal(r.macOffset, -1);
    assertV6(decode(sll2(v6, 0x86dd), LINKTYPE.LINUX_SLL2), 20);
    for (const n of [0, 16, 19]) assert.equal(decode(sll2(v4), LINKTYPE.LINUX_SLL2, n).verdict, Verdict.LINK_DROP);
    assert.equal(decode(sll2(v4), LINKTYPE.LINUX_SLL2, 20).verdict, Verdict.NOT_PROCESSED);
  });

  test('SLL and SLL2 with VLAN tags after the header (protocol 0x8100/0x88a8): the innermost VID, IP after the tags', () => {
    const tag = (tci: number, next: number) => [tci >> 8, tci & 0xff, next >> 8, next & 0xff];
    let r = decode(sll(concat(tag(0x2000 | 10, 0x0800), v4), 0x8100), LINKTYPE.LINUX_SLL);
    assertV4(r, 20);
    assert.equal(r.d.vlan, 10);
    r = decode(sll(concat(tag(100, 0x8100), tag(42, 0x86dd), v6), 0x88a8), LINKTYPE.LINUX_SLL);
    assertV6(r, 24);
    assert.equal(r.d.vlan, 42);
    assertV4(decode(sll(concat(tag(7, 0x8847), [0, 0x64, 1, 64], v4), 0x8100), LINKTYPE.LINUX_SLL), 24); // tag, then MPLS
    r = decode(sll2(concat(tag(0xf00d, 0x0800), v4), 0x8100), LINKTYPE.LINUX_SLL2);
    assertV4(r, 24);
    assert.equal(r.d.vlan, 13);
    assert.equal(decode(sll(v4), LINKTYPE.LINUX_SLL).d.vlan, -1);
    for (const [frame, dlt, cut] of [[sll(concat(tag(1, 0x0800), v4), 0x8100), LINKTYPE.LINUX_SLL, 19], [sll2(concat(tag(1, 0x0800), v4), 0x8100), LINKTYPE.LINUX_SLL2, 23]] as const) {
      assert.equal(decode(frame, dlt, cut).verdict, Verdict.LINK_DROP, 'a tag cut by the capture');
    }
  });
});

test('no link type reads past the captured bytes', () => {
  // The frame is surrounded by JUNK; a truncated capture must never yield JUNK payload.
  const frames: [Uint8Array, number][] = [
    [ether(v4), 1], [ether(v6), 1], [nullFrame(v4, 2), 0], [sll(v4), 113], [sll2(v6), 276], [v4, 101], [v6, 229],
  ];
  for (const [f, dlt] of frames) {
    for (let cap = 0; cap <= f.length; cap++) {
      const r = decode(f, dlt, cap);
      if (r.verdict !== Verdict.TCP) continue;
      assert.ok(r.payloadOffset + r.d.payloadLen <= cap, `dlt ${dlt} cap ${cap}`);
      assert.ok(!r.payload.includes(String.fromCharCode(JUNK)), `dlt ${dlt} cap ${cap}`);
      assert.equal(r.payload, 'hello'.slice(0, Math.max(0, cap - (f.length - 5))));
    }
  }
});
