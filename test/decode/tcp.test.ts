import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LINKTYPE } from '../../src/decode/link';
import { Verdict, TH_ACK, TH_FIN, TH_RST, TH_SYN } from '../../src/decode/packet';
import { ACK, FIN, RST, SYN, PSH, concat, ipv4, ipv6, tcp } from '../helpers/packets';
import { decode } from './util';

const RAW = LINKTYPE.RAW;

test('flag constants match the TCP header bits', () => {
  assert.equal(TH_FIN, FIN);
  assert.equal(TH_SYN, SYN);
  assert.equal(TH_RST, RST);
  assert.equal(TH_ACK, ACK);
});

test('ports, sequence number and flags are decoded as unsigned values', () => {
  const cases: [number, number, number, number][] = [
    [0, 0, 0, 0],
    [65535, 1, 0xffffffff, 0xff],
    [1, 65535, 0x80000000, SYN | ACK],
    [40000, 80, 0x7fffffff, FIN | PSH | ACK],
    [12345, 54321, 0xdeadbeef, RST],
  ];
  for (const [sport, dport, seq, flags] of cases) {
    for (const ip of [ipv4, ipv6]) {
      const r = decode(ip(tcp({ sport, dport, seq, flags, payload: 'p' })), RAW);
      assert.equal(r.verdict, Verdict.TCP);
      assert.equal(r.d.sport, sport);
      assert.equal(r.d.dport, dport);
      assert.equal(r.d.seq, seq);
      assert.equal(r.d.flags, flags);
      assert.equal(r.payload, 'p');
    }
  }
});

test('data offset < 5 is rejected', () => {
  for (const doff of [0, 1, 4]) {
    assert.equal(decode(ipv4(tcp({ doff, payload: 'abcdefgh' })), RAW).verdict, Verdict.NOT_PROCESSED, `doff ${doff}`);
    assert.equal(decode(ipv6(tcp({ doff, payload: 'abcdefgh' })), RAW).verdict, Verdict.NOT_PROCESSED, `doff ${doff}`);
  }
});

test('TCP options are skipped', () => {
  const opts = [2, 4, 5, 0xb4, 1, 3, 3, 7, 4, 2, 0, 0]; // MSS, NOP, WS, SACK-permitted
  const r = decode(ipv4(tcp({ options: opts, payload: 'after-options' })), RAW);
  assert.equal(r.payloadOffset, 20 + 32);
  assert.equal(r.payload, 'after-options');
});

test('a data offset beyond the segment leaves an empty payload', () => {
  // doff 15 (60 bytes) on a 20-byte header with 10 bytes of "payload".
  const r = decode(ipv4(tcp({ doff: 15, payload: '0123456789' })), RAW);
  assert.equal(r.verdict, Verdict.TCP);
  assert.equal(r.d.payloadLen, 0);
  assert.equal(r.payloadOffset, 50);
  // Exactly as long as the segment: empty too.
  const r2 = decode(ipv4(tcp({ doff: 6, payload: 'abcd' })), RAW);
  assert.equal(r2.verdict, Verdict.TCP);
  assert.equal(r2.d.payloadLen, 0);
  // One byte shorter: one byte of payload.
  const r3 = decode(ipv4(tcp({ doff: 6, payload: 'abcde' })), RAW);
  assert.equal(r3.payload, 'e');
});

test('a data offset beyond the IP total length ignores the trailer', () => {
  const d = ipv4(tcp({ doff: 8, payload: 'abcd' }), { total: 44 });
  const r = decode(concat(d.subarray(0, 44), 'TRAILERTRAILER'), RAW);
  assert.equal(r.verdict, Verdict.TCP);
  assert.equal(r.d.payloadLen, 0);
});

test('a TCP header shorter than 20 bytes is not processed', () => {
  const full = ipv4(tcp({ payload: '' }));
  for (const n of [20, 21, 39]) assert.equal(decode(full, RAW, n).verdict, Verdict.NOT_PROCESSED, `caplen ${n}`);
  assert.equal(decode(full, RAW, 40).verdict, Verdict.TCP);
  const v6 = ipv6(tcp({}));
  assert.equal(decode(v6, RAW, 59).verdict, Verdict.NOT_PROCESSED);
  assert.equal(decode(v6, RAW, 60).verdict, Verdict.TCP);
});
