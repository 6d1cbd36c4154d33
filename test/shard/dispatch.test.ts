import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { allocChunk } from '../../src/capture/chunk';
import { openCapture } from '../../src/capture/reader';
import { decodeFrame, isSupportedLinkType, LINKTYPE } from '../../src/decode/link';
import { newDecodedPacket, Verdict } from '../../src/decode/packet';
import { FLOW_BUCKETS } from '../../src/flow/buckets';
import { dispatch, plainTcpv4 } from '../../src/shard/dispatch';
import { evenSplit, splitBuckets } from '../../src/shard/bucket-split';
import { ShardHasher } from '../../src/shard/hash';
import { BUCKET_SHIFT, RECORD_MASK } from '../../src/shard/protocol';
import { addrText } from '../../src/util/address';
import { PCAP_DIR } from '../helpers/corpus';
import { ether, ipv4, ipv6, tcp } from '../helpers/packets';
import { Rng } from '../flow/rng';

const captures = fs.readdirSync(PCAP_DIR).filter((f) => fs.statSync(path.join(PCAP_DIR, f)).isFile()).sort();

/** Even splits of 1-4 workers, and uneven ones (the main thread's session beside threads owns less: host-choice.ts). */
const SPLITS = [...[1, 2, 3, 4].map((n) => evenSplit(n)), splitBuckets([1, 0.5]), splitBuckets([1, 1, 0.3]), splitBuckets([0, 1, 3])];

test('dispatch: every TCP record goes to exactly one worker, its bucket\'s owner, in order, by a bucket that is the same for any worker count and split; both directions of a connection to one worker', async () => {
  const hasher = ShardHasher.create();
  const d = newDecodedPacket();
  const chunk = allocChunk();
  let checked = 0;
  for (const capture of captures) {
    let reader;
    try {
      reader = openCapture(path.join(PCAP_DIR, capture));
    } catch {
      continue; // not a capture the reader takes (the robustness tests cover those)
    }
    try {
      for (;;) {
        let n: number;
        try {
          n = reader.fill(chunk);
        } catch {
          break;
        }
        if (n === 0) break;
        // What each record is, decoded on its own.
        const tcp = new Map<number, string>(), unprocessed: number[] = [], unknown = new Set<number>();
        for (let i = 0; i < n; i++) {
          const lt = chunk.linktype[i];
          if (!isSupportedLinkType(lt)) { unknown.add(lt); continue; }
          const v = decodeFrame(chunk.data, chunk.offset[i], chunk.caplen[i], lt, d);
          // -w gets IP fragments after the first as well (without a reassembler, no fragment is processed).
          if (v === Verdict.NOT_PROCESSED || (v === Verdict.FRAGMENT && d.fragOffset !== 0)) unprocessed.push(i);
          if (v !== Verdict.TCP) continue;
          const a = `${addrText(chunk.data, d.addrOffset, d.addrLen)}:${d.sport}`;
          const b = `${addrText(chunk.data, d.addrOffset + d.addrLen, d.addrLen)}:${d.dport}`;
          tcp.set(i, a < b ? `${a} ${b}` : `${b} ${a}`);
        }
        let buckets: Map<number, number> | null = null;
        for (const split of SPLITS) {
          const shards = split.sessions, what = `${capture}, buckets split ${split.owner.join('')}`;
          const out = dispatch(chunk, split, hasher, d);
          assert.deepEqual([...out.unknownLinkTypes].sort(), [...unknown].sort());
          assert.deepEqual([...(out.unprocessed?.subarray(0, out.unprocessedCount) ?? [])], unprocessed);
          const seen = new Map<number, number>(), worker = new Map<number, number>();
          for (let w = 0; w < shards; w++) {
            const list = out.lists[w].subarray(0, out.sizes[w]);
            let last = -1;
            for (const e of list) {
              const i = e & RECORD_MASK, bucket = e >>> BUCKET_SHIFT;
              assert.ok(i > last, `${what}: records of worker ${w} in order`);
              last = i;
              assert.ok(bucket < FLOW_BUCKETS);
              assert.equal(split.owner[bucket], w, `${what}: bucket ${bucket} belongs to worker ${split.owner[bucket]}`);
              assert.ok(!seen.has(i), `${what}: record ${i} dispatched twice`);
              seen.set(i, bucket);
              worker.set(i, w);
            }
          }
          assert.deepEqual([...seen.keys()].sort((x, y) => x - y), [...tcp.keys()], `${what}: exactly the TCP records`);
          if (buckets === null) buckets = seen;
          else assert.deepEqual(seen, buckets, `${what}: buckets`);
          const workerOf = new Map<string, number>();
          for (const [i, conn] of tcp) {
            const w = worker.get(i) as number;
            assert.equal(workerOf.get(conn) ?? w, w, `${what}: both directions of ${conn} in one worker`);
            workerOf.set(conn, w);
          }
        }
        // Both directions of a connection share a bucket.
        const byConnection = new Map<string, number>();
        for (const [i, conn] of tcp) {
          const b = (buckets as Map<number, number>).get(i) as number;
          assert.equal(byConnection.get(conn) ?? b, b, `${capture}: ${conn}`);
          byConnection.set(conn, b);
        }
        checked += tcp.size;
      }
    } finally {
      reader.close();
    }
  }
  assert.ok(checked > 5000, `only ${checked} TCP records checked`);
});

test('plainTcpv4 (dispatch\'s shortcut) takes a frame only when decodeFrame finds TCP there, with the same addresses and ports', () => {
  const rng = new Rng(0xd15ba7c4);
  const d = newDecodedPacket();
  const bases = [
    () => ether(ipv4(tcp({ sport: rng.int(0, 0xffff), dport: rng.int(0, 0xffff), payload: rng.bytes(rng.int(0, 40)) }))),
    () => ether(ipv4(tcp({ options: [2, 4, 5, 0xb4] }), { df: true })),
    () => ether(ipv4(tcp(), { options: [1, 1, 1, 1] })),
    () => ether(ipv4(tcp(), { mf: true })),
    () => ether(ipv4(tcp({ payload: rng.bytes(16) }), { fragOffset: rng.int(1, 4) })),
    () => ether(ipv4(tcp()), { tags: [{ tpid: 0x8100, tci: 7 }] }),
    () => ether(ipv6(tcp(), { src: '2001:db8::1', dst: '2001:db8::2' })),
    () => ether(ipv4(tcp(), { proto: 17 })),
    () => ether(ipv4(tcp(), { total: rng.int(0, 60) })),
    () => ether(ipv4(tcp({ doff: rng.int(0, 15) }))),
    () => ether(ipv4(tcp()), { padTo: 60, fcs: rng.chance(0.5) }),
  ];
  let taken = 0;
  for (let n = 0; n < 40000; n++) {
    const f = bases[rng.int(0, bases.length - 1)]();
    // Damage: bytes of the headers changed, or the capture cut short.
    for (let k = rng.int(0, 3); k > 0; k--) f[rng.int(0, Math.min(f.length, 60) - 1)] = rng.chance(0.5) ? rng.int(0, 255) : [0, 6, 8, 0x45, 0x50, 0xff][rng.int(0, 5)];
    const caplen = rng.chance(0.2) ? rng.int(0, f.length) : f.length;
    const off = rng.int(0, 3), buf = new Uint8Array(off + f.length);
    buf.set(f, off);
    const t = plainTcpv4(buf, off, caplen);
    if (t < 0) continue;
    taken++;
    for (const lt of [LINKTYPE.EN10MB, LINKTYPE.IEEE802]) {
      assert.equal(decodeFrame(buf, off, caplen, lt, d), Verdict.TCP, `frame ${[...f.subarray(0, 60)].join(',')} caplen ${caplen}`);
      assert.deepEqual([d.addrOffset, d.addrLen, d.sport, d.dport], [t - 8, 4, (buf[t] << 8) | buf[t + 1], (buf[t + 2] << 8) | buf[t + 3]]);
    }
  }
  // Undamaged plain frames are most of them: the shortcut is really taken.
  assert.ok(taken > 5000, `taken ${taken}`);
});
