import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Direction } from '../../src/flow/flow';
import { Outcome } from '../../src/flow/tcpdemux';
import { LINKTYPE } from '../../src/decode/link';
import { ACK, FIN, PSH, RST, SYN, ether, ipv4, tcp } from '../helpers/packets';
import { C2S, CISN, Harness, S2C, SISN, T0, z } from './harness';

const A = ACK | PSH;

describe('basic flow life', () => {
  test('handshake, data both ways, FIN both ways: two files, closed in FIN order', () => {
    const h = new Harness();
    assert.equal(h.client({ seq: CISN, flags: SYN }), Outcome.PROCESSED);
    assert.equal(h.server({ seq: SISN, flags: SYN | ACK }), Outcome.PROCESSED);
    assert.equal(h.client({ seq: CISN + 1 }), Outcome.PROCESSED); // pure ACK
    h.cdata(0, 'GET / HTTP/1.0\r\n\r\n', A);
    h.sdata(0, 'HTTP/1.0 200 OK\r\n\r\nbody', A);
    h.server({ seq: SISN + 24, flags: FIN | ACK });
    assert.equal(h.out.closedFlows.length, 1);
    assert.equal(h.out.closedFlows[0].name, S2C);
    assert.equal(h.out.closedFlows[0].closePacket, 5);
    h.client({ seq: CISN + 19, flags: FIN | ACK });
    assert.equal(h.out.closedFlows.length, 2);
    assert.equal(h.out.closedFlows[1].name, C2S);
    assert.equal(h.demux.openFlows, 0);
    assert.equal(h.text(C2S), 'GET / HTTP/1.0\r\n\r\n');
    assert.equal(h.text(S2C), 'HTTP/1.0 200 OK\r\n\r\nbody');
    assert.deepEqual(h.out.names(), [C2S, S2C]);

    const c = h.closedNamed(C2S).flow;
    assert.equal(c.packets, 4);
    assert.equal(c.synCount, 1);
    assert.equal(c.finCount, 1);
    assert.equal(c.lastByte, 18);
    assert.equal(c.isn, CISN);
    assert.equal(c.direction, Direction.CLIENT_TO_SERVER);
    assert.equal(c.outOfOrder, 0);
    assert.equal(c.violations, 0);
    assert.equal(c.startSec, T0);
    assert.equal(c.startUsec, 1);
    assert.equal(c.lastUsec, 6001);
    assert.deepEqual([...c.src], [10, 0, 0, 1]);
    assert.deepEqual([...c.dst], [10, 0, 0, 2]);
    assert.equal(c.sport, 40000);
    assert.equal(c.dport, 80);
    assert.equal(c.family, 2);
    assert.deepEqual([...(c.mac as Uint8Array)], [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]);
    assert.equal(c.vlan, -1);
    const s = h.closedNamed(S2C).flow;
    assert.equal(s.direction, Direction.SERVER_TO_CLIENT);
    assert.equal(s.packets, 3);
    assert.equal(s.lastByte, 23);
    assert.equal(h.demux.totalFlows, 2);
    assert.equal(h.demux.totalPackets, 7);
  });

  test('packet and byte counters: len is the wire length, caplen the captured one', () => {
    const h = new Harness();
    const f1 = h.frame(true, { seq: CISN, flags: SYN });
    const f2 = h.frame(true, { seq: CISN + 1, payload: 'x'.repeat(100) });
    h.send(f1, { origlen: f1.length });
    h.send(f2, { caplen: f2.length - 40, origlen: f2.length });
    h.finish();
    const fl = h.closedNamed(C2S).flow;
    assert.equal(fl.packets, 2);
    assert.equal(fl.len, f1.length + f2.length);
    assert.equal(fl.caplen, f1.length + f2.length - 40);
    // Only the captured bytes are stored (snaplen cut).
    assert.equal(h.text(C2S), 'x'.repeat(60));
    assert.equal(fl.lastByte, 60);
  });

  test('snaplen-cut segment: the rest is a zero hole, the flow closes only at the end', () => {
    const h = new Harness();
    h.client({ seq: CISN, flags: SYN });
    const f = h.frame(true, { seq: CISN + 1, payload: 'AAAAAAAAAA' });
    h.send(f, { caplen: f.length - 4, origlen: f.length });
    h.cdata(10, 'BBBB');
    h.client({ seq: CISN + 15, flags: FIN | ACK });
    assert.equal(h.out.closedFlows.length, 0);
    h.finish();
    assert.equal(h.text(C2S), 'AAAAAA' + z(4) + 'BBBB');
    assert.equal(h.closedNamed(C2S).closePacket, Infinity);
  });

  test('packets that create no flow are ignored and not counted', () => {
    const h = new Harness();
    assert.equal(h.client({ seq: CISN + 1, flags: ACK }), Outcome.IGNORED);
    assert.equal(h.client({ seq: CISN + 1, flags: FIN | ACK }), Outcome.IGNORED);
    assert.equal(h.client({ seq: CISN + 1, flags: RST }), Outcome.IGNORED);
    assert.equal(h.client({ seq: CISN + 1, flags: 0 }), Outcome.IGNORED);
    assert.equal(h.client({ seq: CISN, flags: SYN | FIN }), Outcome.IGNORED);
    assert.equal(h.client({ seq: CISN, flags: SYN | RST }), Outcome.IGNORED);
    assert.equal(h.demux.openFlows, 0);
    assert.equal(h.demux.totalPackets, 0);
    assert.equal(h.demux.totalFlows, 0);
    h.finish();
    assert.equal(h.out.closedFlows.length, 0);
  });

  test('a SYN alone makes a flow without a file; closing it reports no name', () => {
    const h = new Harness();
    h.client({ seq: CISN, flags: SYN });
    h.server({ seq: SISN, flags: SYN | ACK });
    h.finish();
    assert.equal(h.out.files.size, 0);
    assert.deepEqual(h.out.closedFlows.map((c) => [c.name, c.flow.lastByte, c.flow.packets]), [[null, 0, 1], [null, 0, 1]]);
  });

  test('a bare SYN+FIN flow closes on its FIN (fin_size 0)', () => {
    const h = new Harness();
    h.client({ seq: CISN, flags: SYN });
    h.client({ seq: CISN + 1, flags: FIN | ACK });
    assert.equal(h.out.closedFlows.length, 1);
    assert.equal(h.out.closedFlows[0].name, null);
  });

  test('data-only flow (no SYN) guesses isn = seq - 1', () => {
    const h = new Harness();
    h.cdata(500, 'middle');
    const f = h.flowNamed(C2S)!;
    assert.equal(f.isn, CISN + 500);
    assert.equal(f.synCount, 0);
    assert.equal(f.direction, Direction.UNKNOWN);
    assert.equal(h.text(C2S), 'middle');
  });

  test('a flow asks for its sink once, with its first stored byte', () => {
    const h = new Harness();
    h.client({ seq: CISN, flags: SYN });
    assert.deepEqual(h.out.opens, []);
    h.cdata(0, 'ab');
    h.cdata(2, 'cd', FIN | ACK);
    assert.deepEqual(h.out.opens, [C2S]);
    assert.equal(h.text(C2S), 'abcd');
  });

  test('IPv6 flows are named with the compressed address', () => {
    const h = new Harness();
    h.v6 = true;
    h.client({ seq: CISN, flags: SYN });
    h.cdata(0, 'v6data');
    h.finish();
    assert.deepEqual(h.out.names(), ['2001:db8::1.40000-2001:db8::2.00080']);
    assert.equal(h.out.closedFlows[0].flow.family, 10);
  });

  test('-S vlan_key=0: VLAN is taken from the first packet and is not part of the key (tcpflow)', () => {
    const h = new Harness({ mergeVlans: true });
    h.vlan = (3 << 13) | 10;
    h.client({ seq: CISN, flags: SYN });
    h.vlan = 20;
    h.cdata(0, 'abc');
    h.vlan = undefined;
    h.cdata(3, 'def');
    h.finish();
    assert.deepEqual(h.out.names(), [C2S + '--10']);
    assert.equal(h.text(C2S + '--10'), 'abcdef');
  });

  test('MACs are recorded for Ethernet only (B7)', () => {
    const h = new Harness();
    const raw = ipv4(tcp({ sport: 40000, dport: 80, seq: CISN, flags: SYN }), { src: '10.0.0.1', dst: '10.0.0.2' });
    h.send(raw, { dlt: LINKTYPE.RAW });
    h.send(ipv4(tcp({ sport: 40000, dport: 80, seq: CISN + 1, payload: 'raw' }), { src: '10.0.0.1', dst: '10.0.0.2' }), { dlt: LINKTYPE.RAW });
    h.finish();
    assert.equal(h.out.closedFlows[0].flow.mac, null);
    assert.equal(h.text(C2S), 'raw');
  });
});

describe('reassembly scenarios (spec §3.6)', () => {
  test('segments in order 3, 1, 2: AAAABBBBCCCC, ooc 1, closed on FIN', () => {
    const h = new Harness();
    h.client({ seq: CISN, flags: SYN });
    h.cdata(8, 'CCCC');
    h.cdata(0, 'AAAA');
    h.cdata(4, 'BBBB');
    assert.equal(h.out.closedFlows.length, 0);
    h.client({ seq: CISN + 13, flags: FIN | ACK });
    const r = h.closedNamed(C2S);
    assert.equal(r.closePacket, 4);
    assert.equal(h.text(C2S), 'AAAABBBBCCCC');
    assert.equal(r.flow.outOfOrder, 1);
    assert.equal(r.flow.lastByte, 12);
  });

  test('a hole never filled reads as zeros; no ooc; closed at the end', () => {
    const h = new Harness();
    h.client({ seq: CISN, flags: SYN });
    h.cdata(0, 'AAAA');
    h.cdata(8, 'CCCC');
    h.client({ seq: CISN + 13, flags: FIN | ACK });
    assert.equal(h.out.closedFlows.length, 0);
    h.finish();
    const r = h.closedNamed(C2S);
    assert.equal(r.closePacket, Infinity);
    assert.equal(h.text(C2S), 'AAAA' + z(4) + 'CCCC');
    assert.equal(r.flow.outOfOrder, 0);
    assert.equal(r.flow.lastByte, 12);
    assert.equal(r.flow.finSize, 12);
    assert.equal(r.flow.seen.size, 8);
  });

  test('retransmission with different bytes: the later copy wins', () => {
    const h = new Harness();
    h.client({ seq: CISN, flags: SYN });
    h.cdata(0, 'AAAAAAAA');
    h.cdata(0, 'BBBB');
    h.cdata(6, 'CCCCCC');
    h.finish();
    assert.equal(h.text(C2S), 'BBBBAACCCCCC');
    assert.equal(h.closedNamed(C2S).flow.outOfOrder, 1);
    assert.equal(h.closedNamed(C2S).flow.lastByte, 12);
  });

  test('no SYN, X@20 then Y@10 then Z@0: true positions, zero gap, filesize 30 (B5 fixed)', () => {
    const h = new Harness();
    h.cdata(20, 'X'.repeat(10));
    h.cdata(10, 'Y'.repeat(10));
    h.cdata(0, 'Z'.repeat(5));
    const f = h.flowNamed(C2S)!;
    assert.equal(f.isn, CISN);
    assert.equal(f.outOfOrder, 2);
    assert.equal(f.violations, 0);
    assert.equal(f.lastByte, 30);
    assert.equal(h.text(C2S), 'ZZZZZ' + z(5) + 'Y'.repeat(10) + 'X'.repeat(10));
    assert.deepEqual(h.out.shifts, [{ name: C2S, shift: 10 }, { name: C2S, shift: 10 }]);
    // The seen set stays valid: filling the gap and a FIN close the flow.
    h.client({ seq: CISN + 31, flags: FIN | ACK });
    assert.equal(h.out.closedFlows.length, 0);
    h.cdata(5, 'WWWWW');
    assert.equal(h.out.closedFlows.length, 1);
    assert.equal(h.text(C2S), 'ZZZZZWWWWW' + 'Y'.repeat(10) + 'X'.repeat(10));
    assert.equal(h.out.closedFlows[0].flow.lastByte, 30);
  });

  test('front insertion after the FIN was seen moves fin_size with the data', () => {
    const h = new Harness();
    h.cdata(8, 'CCCC');
    h.cdata(16, 'EEEE');
    h.client({ seq: CISN + 21, flags: FIN | ACK });
    h.cdata(0, 'AAAA');
    h.cdata(4, 'BBBB');
    assert.equal(h.out.closedFlows.length, 0);
    h.cdata(12, 'DDDD');
    assert.equal(h.out.closedFlows.length, 1);
    assert.equal(h.text(C2S), 'AAAABBBBCCCCDDDDEEEE');
    assert.equal(h.out.closedFlows[0].flow.lastByte, 20);
    assert.equal(h.out.closedFlows[0].flow.finSize, 20);
  });

  test('front insertion with -b: the file still holds no byte at an offset >= the limit',
    () => {
      // No SYN: "first" lands at 0 of the guessed stream, then 10 bytes arrive in front of it.
      const h = new Harness({ maxBytes: 8 });
      h.cdata(10, 'first');
      h.cdata(0, '0123456789');
      h.finish();
      assert.equal(h.text(C2S), '01234567');
      assert.equal(h.closedNamed(C2S).flow.lastByte, 15);
    });

  test('front insertion with -b larger than the stream', () => {
    const h = new Harness({ maxBytes: 100 });
    h.cdata(10, 'first');
    h.cdata(0, '0123456789');
    h.finish();
    assert.equal(h.text(C2S), '0123456789first');
    assert.equal(h.closedNamed(C2S).flow.lastByte, 15);
  });

  test('data before the SYN in file order (first segment first): nothing lost', () => {
    const h = new Harness();
    h.cdata(0, 'early-data;');
    h.client({ seq: CISN, flags: SYN });
    h.cdata(11, 'later-data;');
    h.client({ seq: CISN + 23, flags: FIN | ACK });
    const r = h.closedNamed(C2S);
    assert.equal(h.text(C2S), 'early-data;later-data;');
    assert.equal(r.flow.synCount, 1);
    assert.equal(r.flow.packets, 4);
    assert.equal(r.flow.violations, 0);
    assert.equal(r.flow.isn, CISN);
  });

  test('late SYN rebases the guessed ISN (B28): nothing dropped', () => {
    const h = new Harness();
    h.cdata(11, 'later-data;');
    h.client({ seq: CISN, flags: SYN });
    const f = h.flowNamed(C2S)!;
    assert.equal(f.isn, CISN);
    assert.equal(f.synCount, 1);
    assert.equal(h.text(C2S), z(11) + 'later-data;');
    assert.equal(f.lastByte, 22);
    h.cdata(0, 'early-data;');
    h.client({ seq: CISN + 23, flags: FIN | ACK });
    const r = h.closedNamed(C2S);
    assert.equal(h.text(C2S), 'early-data;later-data;');
    assert.equal(r.flow.violations, 0);
    assert.equal(r.flow.outOfOrder, 1);
    assert.equal(r.flow.lastByte, 22);
  });

  test('late SYN with the guessed ISN changes nothing; data before the ISN is then a violation', () => {
    const h = new Harness();
    h.cdata(0, 'abc');
    h.client({ seq: CISN, flags: SYN });
    assert.deepEqual(h.out.shifts, []);
    // After data and a SYN, data before the ISN is a violation, not an insertion.
    h.client({ seq: CISN - 5, payload: 'xxxxx' });
    const f = h.flowNamed(C2S)!;
    assert.equal(f.violations, 1);
    assert.equal(h.text(C2S), 'abc');
  });

  test('late SYN carrying data (reordered TFO) keeps its data at offset 0',
    () => {
      const h = new Harness();
      h.cdata(7, 'after');
      h.client({ seq: CISN, flags: SYN, payload: 'SYNDATA' });
      h.finish();
      assert.equal(h.text(C2S), 'SYNDATAafter');
      assert.equal(h.out.closedFlows[0].flow.violations, 1);
    });

  test('keepalive (seq = next - 1, 1 byte, any value) is ignored but counted', () => {
    const h = new Harness();
    h.client({ seq: CISN, flags: SYN });
    h.cdata(0, 'abcd');
    assert.equal(h.cdata(3, 'X'), Outcome.PROCESSED);
    assert.equal(h.cdata(3, 'd'), Outcome.PROCESSED);
    h.cdata(4, 'efgh');
    h.finish();
    const r = h.closedNamed(C2S);
    assert.equal(h.text(C2S), 'abcdefgh');
    assert.equal(r.flow.packets, 5);
    assert.equal(r.flow.outOfOrder, 0);
    assert.equal(r.flow.seen.size, 8);
  });

  test('a 1-byte segment two bytes back is not a keepalive', () => {
    const h = new Harness();
    h.client({ seq: CISN, flags: SYN });
    h.cdata(0, 'abcd');
    h.cdata(2, 'X');
    h.finish();
    assert.equal(h.text(C2S), 'abXd');
    assert.equal(h.closedNamed(C2S).flow.outOfOrder, 1);
  });

  test('zero-window probe, later resent inside a full segment: correct bytes, ooc 1', () => {
    const h = new Harness();
    h.client({ seq: CISN, flags: SYN });
    h.cdata(0, 'abcd');
    h.cdata(4, 'e');
    h.cdata(4, 'efgh');
    h.finish();
    assert.equal(h.text(C2S), 'abcdefgh');
    assert.equal(h.closedNamed(C2S).flow.outOfOrder, 1);
  });

  test('sequence wrap at 2^32 (ISN = 2^32 - 13, 30 bytes, out of order)', () => {
    const isn = 2 ** 32 - 13;
    const h = new Harness();
    h.client({ seq: isn, flags: SYN });
    h.cdata(20, 'cccccccccc', A, isn);
    h.cdata(0, 'aaaaaaaaaa', A, isn);
    h.cdata(10, 'bbbbbbbbbb', A, isn);
    h.client({ seq: (isn + 31) >>> 0, flags: FIN | ACK });
    const r = h.closedNamed(C2S);
    assert.equal(h.text(C2S), 'a'.repeat(10) + 'b'.repeat(10) + 'c'.repeat(10));
    assert.equal(r.flow.lastByte, 30);
    assert.equal(r.flow.outOfOrder, 1);
    // The last stored segment was b (offsets 10-19): pos 20, nsn wrapped to isn + 21.
    assert.equal(r.flow.pos, 20);
    assert.equal(r.flow.nsn, 8);
    assert.equal(r.flow.finSize, 30);
  });

  test('sequence wrap without SYN: front insertion across the wrap', () => {
    const isn = 2 ** 32 - 5;
    const h = new Harness();
    h.cdata(10, '2222222222', A, isn); // seq 6
    h.cdata(0, '1111111111', A, isn); // seq 2^32-4
    h.finish();
    assert.equal(h.text(C2S), '1'.repeat(10) + '2'.repeat(10));
    assert.equal(h.closedNamed(C2S).flow.isn, isn | 0); // held as int32 (src/flow/flow.ts)
  });

  test('SYN with data (TFO): kept at offset 0, one violation and a warning', () => {
    const h = new Harness();
    h.client({ seq: CISN, flags: SYN, payload: 'SYNDATA' });
    h.cdata(7, 'after');
    h.finish();
    assert.equal(h.text(C2S), 'SYNDATAafter');
    assert.equal(h.closedNamed(C2S).flow.violations, 1);
    assert.deepEqual(h.violations, ['TCP PROTOCOL VIOLATION: SYN with data! (length=7)']);
  });

  test('data before the ISN after a SYN is dropped as a violation', () => {
    const h = new Harness();
    h.client({ seq: CISN, flags: SYN });
    h.cdata(0, 'abc');
    h.client({ seq: CISN - 5, payload: 'zzzzz' }); // entirely before the stream
    h.client({ seq: CISN - 2, payload: 'zzzzz' }); // straddles the start
    h.cdata(3, 'def');
    h.finish();
    const r = h.closedNamed(C2S);
    assert.equal(h.text(C2S), 'abcdef');
    assert.equal(r.flow.violations, 2);
    assert.equal(r.flow.packets, 5);
  });

  test('data on a FIN segment is stored and closes the flow', () => {
    const h = new Harness();
    h.client({ seq: CISN, flags: SYN });
    h.cdata(0, 'hello', FIN | ACK);
    assert.equal(h.out.closedFlows.length, 1);
    assert.equal(h.out.closedFlows[0].closePacket, 1);
    assert.equal(h.text(C2S), 'hello');
  });

  test('FIN closes only once every byte up to it has been seen', () => {
    const h = new Harness();
    h.client({ seq: CISN, flags: SYN });
    h.cdata(0, 'AAAA');
    h.client({ seq: CISN + 9, flags: FIN | ACK });
    assert.equal(h.out.closedFlows.length, 0);
    // A second FIN further on does not move fin_size.
    h.client({ seq: CISN + 13, flags: FIN | ACK });
    assert.equal(h.flowNamed(C2S)!.finCount, 2);
    assert.equal(h.flowNamed(C2S)!.finSize, 8);
    h.cdata(4, 'BBBB'); // no FIN on this one
    assert.equal(h.out.closedFlows.length, 1);
    assert.equal(h.out.closedFlows[0].closePacket, 4);
    assert.equal(h.text(C2S), 'AAAABBBB');
  });

  test('FIN arriving before out-of-order data', () => {
    const h = new Harness();
    h.client({ seq: CISN, flags: SYN });
    h.client({ seq: CISN + 7, flags: FIN | ACK });
    h.cdata(3, 'def');
    h.cdata(0, 'abc');
    assert.equal(h.out.closedFlows.length, 1);
    assert.equal(h.text(C2S), 'abcdef');
  });

  test('RST closes only its direction; later data on it starts c1', () => {
    const h = new Harness();
    h.client({ seq: CISN, flags: SYN });
    h.server({ seq: SISN, flags: SYN | ACK });
    h.cdata(0, 'first part');
    h.sdata(0, 'srv1');
    h.client({ seq: CISN + 11, flags: RST });
    assert.deepEqual(h.out.closedFlows.map((c) => c.name), [C2S]);
    assert.equal(h.demux.openFlows, 1);
    h.sdata(4, 'srv2');
    h.cdata(10, 'more data');
    h.finish();
    assert.equal(h.text(C2S), 'first part');
    assert.equal(h.text(C2S + 'c1'), 'more data');
    assert.equal(h.text(S2C), 'srv1srv2');
    assert.equal(h.out.names().length, 3);
  });

  test('RST carrying data stores it first', () => {
    const h = new Harness();
    h.client({ seq: CISN, flags: SYN });
    h.cdata(0, 'abc');
    h.cdata(3, 'bye', RST | ACK);
    assert.equal(h.out.closedFlows.length, 1);
    assert.equal(Buffer.from(h.out.closedFlows[0].data as Uint8Array).toString(), 'abcbye');
  });

  test('data, RST, more data, then a retransmission of the first data (B26: inserted at the c1 front)', () => {
    const h = new Harness();
    h.client({ seq: CISN, flags: SYN });
    h.cdata(0, 'first part');
    h.client({ seq: CISN + 11, flags: RST });
    h.cdata(10, ' more data after rst');
    h.cdata(0, 'first part');
    h.finish();
    assert.equal(h.text(C2S), 'first part');
    assert.equal(h.text(C2S + 'c1'), 'first part more data after rst');
  });

  test('same 4-tuple reused after both sides closed: c1 files', () => {
    const h = new Harness();
    for (let round = 0; round < 3; round++) {
      const ci = CISN + round * 100000, si = SISN + round * 100000;
      h.client({ seq: ci, flags: SYN });
      h.server({ seq: si, flags: SYN | ACK });
      h.cdata(0, `req${round}`, A, ci);
      h.sdata(0, `resp${round}`, A, si);
      h.client({ seq: ci + 5, flags: FIN | ACK });
      h.server({ seq: si + 6, flags: FIN | ACK });
      assert.equal(h.demux.openFlows, 0, `round ${round}`);
    }
    assert.deepEqual(h.out.names(), [C2S, S2C, C2S + 'c1', S2C + 'c1', C2S + 'c2', S2C + 'c2']);
    assert.equal(h.text(C2S + 'c2'), 'req2');
    assert.equal(h.text(S2C + 'c1'), 'resp1');
  });

  test('new ISN on an open flow that stored data closes it and starts c1 (B16)', () => {
    const h = new Harness();
    h.client({ seq: CISN, flags: SYN });
    h.cdata(0, 'old connection');
    assert.equal(h.client({ seq: 900000, flags: SYN }), Outcome.PROCESSED);
    assert.deepEqual(h.out.closedFlows.map((c) => [c.name, c.closePacket]), [[C2S, 2]]);
    h.cdata(0, 'new one', A, 900000);
    h.finish();
    assert.equal(h.text(C2S), 'old connection');
    assert.equal(h.text(C2S + 'c1'), 'new one');
    const n = h.closedNamed(C2S + 'c1').flow;
    assert.equal(n.isn, 900000);
    assert.equal(n.synCount, 1);
    assert.equal(n.packets, 2);
  });

  test('new ISN close also works when the new ISN is just below the old one', () => {
    const h = new Harness();
    h.client({ seq: CISN, flags: SYN });
    h.cdata(0, 'old');
    h.client({ seq: CISN - 1, flags: SYN });
    h.cdata(0, 'new', A, CISN - 1);
    h.finish();
    assert.equal(h.text(C2S), 'old');
    assert.equal(h.text(C2S + 'c1'), 'new');
  });

  test('SYN with an ISN past the stored data of a flow seen without SYN starts c1 (B16)',
    () => {
      const h = new Harness();
      h.cdata(0, 'old stream'); // capture started mid-connection: no SYN seen
      h.client({ seq: CISN + 4000, flags: SYN }); // a SYN cannot lie after its own connection's data
      h.cdata(0, 'new one', A, CISN + 4000);
      h.finish();
      // Today: one sparse file, 'old stream' + 3990 zeros + 'new one'.
      assert.deepEqual(h.out.names(), [C2S, C2S + 'c1']);
      assert.equal(h.text(C2S), 'old stream');
      assert.equal(h.text(C2S + 'c1'), 'new one');
    });

  test('retransmitted SYN (same ISN) after data is ignored (not processed, not counted)', () => {
    const h = new Harness();
    h.client({ seq: CISN, flags: SYN });
    h.cdata(0, 'data');
    assert.equal(h.client({ seq: CISN, flags: SYN }), Outcome.NOT_PROCESSED);
    const f = h.flowNamed(C2S)!;
    assert.equal(f.packets, 2);
    assert.equal(f.synCount, 1);
    assert.equal(h.out.closedFlows.length, 0);
    h.cdata(4, 'more');
    h.finish();
    assert.equal(h.text(C2S), 'datamore');
    assert.equal(h.out.names().length, 1);
  });

  test('retransmitted SYN before any data is counted', () => {
    const h = new Harness();
    h.client({ seq: CISN, flags: SYN });
    assert.equal(h.client({ seq: CISN, flags: SYN }), Outcome.PROCESSED);
    const f = [...h.demux.openFlowList()][0];
    assert.equal(f.synCount, 2);
    assert.equal(f.packets, 2);
    assert.equal(h.demux.openFlows, 1);
  });

  test('data 1000 bytes ahead with the default -m: zero-filled gap in the same file', () => {
    const h = new Harness();
    h.client({ seq: CISN, flags: SYN });
    h.cdata(0, 'first');
    h.cdata(1005, 'second');
    h.finish();
    assert.equal(h.text(C2S), 'first' + z(1000) + 'second');
    assert.equal(h.out.names().length, 1);
  });

  test('-m 500: a jump ahead and a jump back each start a new file', () => {
    const h = new Harness({ maxSeek: 500 });
    h.client({ seq: CISN, flags: SYN });
    h.cdata(0, 'first');
    h.cdata(1005, 'second');
    h.cdata(5, 'third');
    h.finish();
    assert.equal(h.text(C2S), 'first');
    assert.equal(h.text(C2S + 'c1'), 'second');
    assert.equal(h.text(C2S + 'c2'), 'third');
    assert.deepEqual(h.out.closedFlows.map((c) => [c.name, c.closePacket]),
      [[C2S, 2], [C2S + 'c1', 3], [C2S + 'c2', Infinity]]);
    assert.equal(h.closedNamed(C2S + 'c1').flow.isn, CISN + 1005);
  });

  test('-m boundary: |delta| = max stays, max + 1 splits', () => {
    const h = new Harness({ maxSeek: 500 });
    h.client({ seq: CISN, flags: SYN });
    h.cdata(0, 'a');
    h.cdata(501, 'b'); // delta 500
    assert.equal(h.out.names().length, 1);
    h.cdata(1003, 'c'); // delta 501
    h.finish();
    assert.equal(h.text(C2S), 'a' + z(500) + 'b');
    assert.equal(h.text(C2S + 'c1'), 'c');
  });

  test('-m 0: retransmission, gap and keepalive all split', () => {
    const h = new Harness({ maxSeek: 0 });
    h.client({ seq: CISN, flags: SYN });
    h.cdata(0, 'AAAAAAAA');
    h.cdata(0, 'BBBB');
    h.cdata(6, 'CCCCCC');
    h.cdata(11, 'K'); // keepalive at next - 1
    h.finish();
    assert.deepEqual(h.out.names(), [C2S, C2S + 'c1', C2S + 'c2', C2S + 'c3']);
    assert.equal(h.text(C2S), 'AAAAAAAA');
    assert.equal(h.text(C2S + 'c1'), 'BBBB');
    assert.equal(h.text(C2S + 'c2'), 'CCCCCC');
    assert.equal(h.text(C2S + 'c3'), 'K');
  });

  test('identical retransmission after the flow closed is ignored (straggler)', () => {
    const h = new Harness();
    h.client({ seq: CISN, flags: SYN });
    h.cdata(0, 'hello world');
    h.client({ seq: CISN + 12, flags: FIN | ACK });
    assert.equal(h.out.closedFlows.length, 1);
    assert.equal(h.cdata(0, 'hello world'), Outcome.IGNORED);
    assert.equal(h.cdata(6, 'world'), Outcome.IGNORED);
    assert.equal(h.cdata(2, 'l'), Outcome.IGNORED);
    // Pure ACK and FIN without data on the closed key are ignored too.
    assert.equal(h.client({ seq: CISN + 12, flags: ACK }), Outcome.IGNORED);
    assert.equal(h.client({ seq: CISN + 12, flags: FIN | ACK }), Outcome.IGNORED);
    h.finish();
    assert.deepEqual(h.out.names(), [C2S]);
    assert.equal(h.demux.totalFlows, 1);
  });

  test('different data at a closed flow\'s sequence numbers starts c1', () => {
    const h = new Harness();
    h.client({ seq: CISN, flags: SYN });
    h.cdata(0, 'hello world');
    h.client({ seq: CISN + 12, flags: FIN | ACK });
    assert.equal(h.cdata(0, 'HELLO'), Outcome.PROCESSED);
    h.finish();
    assert.equal(h.text(C2S), 'hello world');
    assert.equal(h.text(C2S + 'c1'), 'HELLO');
  });

  test('a retransmission running past the end of the closed file is not a straggler', () => {
    const h = new Harness();
    h.client({ seq: CISN, flags: SYN });
    h.cdata(0, 'hello', FIN | ACK);
    assert.equal(h.cdata(3, 'lo!'), Outcome.PROCESSED);
    h.finish();
    assert.equal(h.text(C2S + 'c1'), 'lo!');
  });

  test('the straggler memory lasts savedWindow packets', () => {
    const run = (gap: number) => {
      const h = new Harness({ savedWindow: 3 });
      h.client({ seq: CISN, flags: SYN });
      h.cdata(0, 'data', FIN | ACK); // packet 1 closes
      for (let i = 0; i < gap; i++) h.server({ seq: SISN + 1 + i, payload: 's' }); // unrelated packets
      h.cdata(0, 'data');
      h.finish();
      return h.out.names().filter((n) => n.startsWith(C2S));
    };
    assert.deepEqual(run(2), [C2S]); // packetNo 4: 4 - 1 = 3 <= 3
    assert.deepEqual(run(3), [C2S, C2S + 'c1']); // packetNo 5: forgotten
  });

  test('the straggler check only runs when the key has no open flow', () => {
    const h = new Harness();
    h.client({ seq: CISN, flags: SYN });
    h.cdata(0, 'abc', FIN | ACK);
    h.client({ seq: 77777, flags: SYN });
    h.cdata(0, 'new', A, 77777);
    // Same bytes as the closed flow at its sequence numbers, but the key has a flow now.
    h.cdata(0, 'abc');
    h.finish();
    assert.equal(h.out.savedChecks, 0);
    assert.equal(h.text(C2S + 'c1'), 'new');
    assert.equal(h.closedNamed(C2S + 'c1').flow.violations, 1);
  });

  test('-b 15: bytes past 15 are not written, filesize is last_byte, FIN still closes', () => {
    const h = new Harness({ maxBytes: 15 });
    h.client({ seq: CISN, flags: SYN });
    h.cdata(0, 'aaaaaaaaaa');
    h.cdata(10, 'bbbbbbbbbb');
    h.cdata(20, 'cccccccccc');
    h.client({ seq: CISN + 31, flags: FIN | ACK });
    const r = h.closedNamed(C2S);
    assert.equal(h.text(C2S), 'aaaaaaaaaabbbbb');
    assert.equal(r.flow.lastByte, 30);
  });

  test('-b: out-of-order data below the limit is still written', () => {
    const h = new Harness({ maxBytes: 6 });
    h.client({ seq: CISN, flags: SYN });
    h.cdata(4, 'EFGHIJ');
    h.cdata(0, 'ABCD');
    h.finish();
    assert.equal(h.text(C2S), 'ABCDEF');
    assert.equal(h.closedNamed(C2S).flow.lastByte, 10);
  });

  test('-b 0: the file is still created, empty', () => {
    const h = new Harness({ maxBytes: 0 });
    h.client({ seq: CISN, flags: SYN });
    h.cdata(0, 'abcdef');
    h.client({ seq: CISN + 7, flags: FIN | ACK });
    assert.deepEqual(h.out.opens, [C2S]);
    assert.equal(h.text(C2S), '');
    assert.equal(h.closedNamed(C2S).flow.lastByte, 6);
    assert.equal(h.closedNamed(C2S).closePacket, 2);
  });

  test('not storing (-FX / console): no files; only fin_size 0 closes early', () => {
    const h = new Harness({ storing: false });
    h.client({ seq: CISN, flags: SYN });
    h.cdata(0, 'abcdef');
    h.client({ seq: CISN + 7, flags: FIN | ACK });
    assert.equal(h.out.closedFlows.length, 0);
    assert.equal(h.out.files.size, 0);
    h.finish();
    assert.equal(h.out.closedFlows[0].name, null);
    assert.equal(h.out.closedFlows[0].flow.packets, 3);
  });

  test('-R finishing mode: existing flows go on, unknown flows are ignored', () => {
    const h = new Harness();
    h.client({ seq: CISN, flags: SYN });
    h.cdata(0, 'part1');
    assert.equal(h.cdata(5, 'part2', A), Outcome.PROCESSED);
    const fin = { finishing: true };
    assert.equal(h.client({ seq: CISN + 11, payload: 'part3' }, fin), Outcome.PROCESSED);
    assert.equal(h.server({ seq: SISN, flags: SYN | ACK }, fin), Outcome.IGNORED);
    assert.equal(h.server({ seq: SISN + 1, payload: 'resp' }, fin), Outcome.IGNORED);
    h.client({ seq: CISN + 16, flags: FIN | ACK }, fin);
    // The key is closed: in finishing mode even a new SYN on it is ignored.
    assert.equal(h.client({ seq: 9999, flags: SYN }, fin), Outcome.IGNORED);
    h.finish();
    assert.equal(h.text(C2S), 'part1part2part3');
    assert.deepEqual(h.out.names(), [C2S]);
    assert.equal(h.demux.totalFlows, 1);
  });

  test('Ethernet padding is not payload (B1): no SYN-with-data, no 6-byte c1 from a late ACK', () => {
    const h = new Harness();
    const pad = (seq: number, flags: number, payload = '') =>
      h.send(ether(ipv4(tcp({ sport: 40000, dport: 80, seq, flags, payload }), { src: '10.0.0.1', dst: '10.0.0.2' }),
        { padTo: 60, fcs: true }));
    pad(CISN, SYN);
    pad(CISN + 1, A, 'hi');
    pad(CISN + 3, FIN | ACK);
    assert.equal(h.out.closedFlows.length, 1);
    assert.equal(pad(CISN + 4, ACK), Outcome.IGNORED);
    h.finish();
    assert.deepEqual(h.out.names(), [C2S]);
    assert.equal(h.text(C2S), 'hi');
    assert.equal(h.out.closedFlows[0].flow.violations, 0);
  });

  test('IP fragments never reach the flow table (the coordinator reassembles them first, B30): they leave a hole', () => {
    const h = new Harness();
    const frag = (seq: number, payload: string, fragOffset: number, mf: boolean) =>
      h.send(ether(ipv4(tcp({ sport: 40000, dport: 80, seq, flags: A, payload }),
        { src: '10.0.0.1', dst: '10.0.0.2', fragOffset, mf })));
    h.client({ seq: CISN, flags: SYN });
    assert.equal(frag(CISN + 1, 'first-fragment', 0, true), null);
    assert.equal(frag(CISN + 15, 'ignored', 5, false), null);
    h.cdata(20, 'tail');
    h.finish();
    assert.equal(h.text(C2S), z(20) + 'tail');
  });

  test('flow ids come from the creating packet; a flow reuses the session id of its open reverse flow', () => {
    const h = new Harness({}, '%N-%S-%C%c');
    h.client({ seq: CISN, flags: SYN }); // packet 0
    h.server({ seq: SISN, flags: SYN | ACK }); // packet 1
    h.cdata(0, 'a', FIN | ACK); // packet 2: client flow closes
    h.sdata(0, 'b'); // packet 3
    h.finish();
    assert.deepEqual(h.out.names(), ['000-00000000000000000000-', '001-00000000000000000000-']);
    // A new connection on the same 4-tuple after both closed: new session id; the server
    // side, created while the new client flow is open, shares it.
    const h2 = new Harness({}, '%N-%S');
    h2.client({ seq: CISN, flags: SYN });
    h2.cdata(0, 'x', FIN | ACK); // closes at packet 1
    h2.sdata(0, 'y'); // packet 2: reverse flow is closed, own session
    h2.finish();
    assert.deepEqual(h2.out.closedFlows.map((c) => [c.name, c.flow.flowId, c.flow.sessionId]),
      [['000-00000000000000000000', 0, 0], ['002-00000000000000000002', 2, 2]]);
  });

  test('closeAll closes the remaining flows oldest first', () => {
    const h = new Harness();
    h.sdata(0, 'server first');
    h.cdata(0, 'client second');
    h.finish();
    assert.deepEqual(h.out.closedFlows.map((c) => [c.name, c.closePacket]), [[S2C, Infinity], [C2S, Infinity]]);
  });

  test('template-driven names: %# counter, disk-style c-counter over used names', () => {
    const h = new Harness({ maxSeek: 0 }, 'flow%#');
    h.client({ seq: CISN, flags: SYN });
    h.cdata(0, 'a');
    h.cdata(5, 'b');
    h.cdata(0, 'c');
    h.finish();
    assert.deepEqual(h.out.names(), ['flow0', 'flow1', 'flow2']);
  });
});
