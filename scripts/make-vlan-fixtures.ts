/**
 * Writes the VLAN test captures of fixtures/pcaps/ (issue 13; origin notes in
 * fixtures/pcaps/ORIGIN.md). Deterministic: running it again gives the same bytes.
 *
 *   node dist/scripts/make-vlan-fixtures.js [DIR]    (DIR defaults to fixtures/pcaps)
 */
import * as path from 'node:path';
import { readAll } from '../test/helpers/capture';
import { ACK, ether, FIN, ipv4, MAC_CLIENT, MAC_SERVER, PSH, SYN, tcp } from '../test/helpers/packets';
import { type Frame, writePcap } from '../test/helpers/pcap-write';

type Tags = { tpid: number; tci: number }[];

const dot1q = (vid: number, pcp = 0): Tags => [{ tpid: 0x8100, tci: (pcp << 13) | vid }];

/** The frames of one TCP connection 10.0.0.1:cport <-> 10.0.0.2:80, each built by `frame`. */
function connection(cport: number, request: string, response: string): { fromClient: boolean; seg: Uint8Array }[] {
  const isnC = 1000, isnS = 5000;
  const seg = (fromClient: boolean, seq: number, flags: number, payload = '') => ({
    fromClient,
    seg: tcp({ sport: fromClient ? cport : 80, dport: fromClient ? 80 : cport, seq, ack: 0, flags, payload }),
  });
  return [
    seg(true, isnC, SYN),
    seg(false, isnS, SYN | ACK),
    seg(true, isnC + 1, ACK),
    seg(true, isnC + 1, ACK | PSH, request),
    seg(false, isnS + 1, ACK | PSH, response),
    seg(true, isnC + 1 + request.length, FIN | ACK),
    seg(false, isnS + 1 + response.length, FIN | ACK),
    seg(true, isnC + 2 + request.length, ACK),
  ];
}

function framed(p: { fromClient: boolean; seg: Uint8Array }, tags: Tags): Uint8Array {
  const [src, dst] = p.fromClient ? ['10.0.0.1', '10.0.0.2'] : ['10.0.0.2', '10.0.0.1'];
  return ether(ipv4(p.seg, { src, dst }), {
    src: p.fromClient ? MAC_CLIENT : MAC_SERVER, dst: p.fromClient ? MAC_SERVER : MAC_CLIENT, tags,
  });
}

const timed = (frames: Uint8Array[]): Frame[] => frames.map((bytes, i) => ({ bytes, sec: 1_700_000_000 + (i >> 3), usec: (i % 8) * 100_000 }));

/**
 * The trunk capture: 10.0.0.1:40000 -> 10.0.0.2:80 twice with the same sequence
 * numbers, on VLAN 10 (100 x 'A', answered by 50 x 'a') and on VLAN 20 (100 x 'B',
 * answered by 50 x 'b'), packet by packet interleaved, VLAN 10 first.
 */
function sameTuple(): Frame[] {
  const ten = connection(40000, 'A'.repeat(100), 'a'.repeat(50));
  const twenty = connection(40000, 'B'.repeat(100), 'b'.repeat(50));
  return timed(ten.flatMap((p, i) => [framed(p, dot1q(10)), framed(twenty[i], dot1q(20, 5))]));
}

/**
 * A SPAN port: connection 40000 (VLAN 10) mirrored twice, each packet first untagged (the
 * access port) then tagged (the trunk); the same 4-tuple's connection on VLAN 20; and
 * connection 40001 whose client side is tagged (VLAN 30) and server side untagged.
 */
function span(): Frame[] {
  const mirrored = connection(40000, 'mirrored request', 'mirrored response');
  const other = connection(40000, 'other VLAN request', 'other VLAN response, longer');
  const half = connection(40001, 'half-tagged request', 'half-tagged response');
  const frames: Uint8Array[] = [];
  mirrored.forEach((p, i) => {
    frames.push(framed(p, []), framed(p, dot1q(10)));
    frames.push(framed(other[i], dot1q(20)));
    frames.push(framed(half[i], half[i].fromClient ? dot1q(30) : []));
  });
  return timed(frames);
}

/** tcpreplay's test.pcap (fixtures/pcaps) with `tags` inserted after the MAC addresses of every frame. */
function retagged(source: string, tags: Tags): Frame[] {
  const extra = Buffer.from(tags.flatMap((t) => [t.tpid >> 8, t.tpid & 0xff, t.tci >> 8, t.tci & 0xff]));
  return readAll(source).recs.map((r) => ({
    bytes: Buffer.concat([r.bytes.subarray(0, 12), extra, r.bytes.subarray(12)]), sec: r.sec, usec: r.usec,
  }));
}

function main(): void {
  const dir = process.argv[2] ?? path.join(__dirname, '../../fixtures/pcaps');
  const test = path.join(dir, 'tcpreplay__test.pcap');
  writePcap(path.join(dir, 'vlan-same-tuple.pcap'), sameTuple());
  writePcap(path.join(dir, 'vlan-span.pcap'), span());
  writePcap(path.join(dir, 'vlan-test-dot1q200.pcap'), retagged(test, dot1q(200)));
  writePcap(path.join(dir, 'vlan-test-3tags.pcap'), retagged(test, [
    { tpid: 0x9100, tci: 7 }, { tpid: 0x88a8, tci: 100 }, { tpid: 0x8100, tci: (6 << 13) | 200 },
  ]));
}

main();
