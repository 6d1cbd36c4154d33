import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFrame, LINKTYPE } from '../../src/decode/link';
import { newDecodedPacket, Verdict } from '../../src/decode/packet';
import { FLOW_BUCKETS } from '../../src/flow/buckets';
import xxhash from 'xxhash-wasm';
import { ShardHasher } from '../../src/shard/hash';
import { sliceOf, type ShardSlice } from '../../src/shard/slice';
import { Rng } from '../flow/rng';
import { ether, ipv4, ipv6, tcp } from '../helpers/packets';

function frame(v6: boolean, src: string, dst: string, sport: number, dport: number): Uint8Array {
  const seg = tcp({ sport, dport });
  return ether(v6 ? ipv6(seg, { src, dst }) : ipv4(seg, { src, dst }));
}

test('bucketOf: both directions of a connection share a bucket in 0..63, for IPv4 and IPv6, whatever came before', async () => {
  const h = ShardHasher.create();
  const fresh = ShardHasher.create();
  const d = newDecodedPacket();
  const bucket = (hasher: ShardHasher, f: Uint8Array) => {
    assert.equal(decodeFrame(f, 0, f.length, LINKTYPE.EN10MB, d), Verdict.TCP);
    return hasher.bucketOf(f, d);
  };
  const counts = new Array<number>(FLOW_BUCKETS).fill(0);
  for (let i = 0; i < 6400; i++) {
    const v6 = i % 2 === 1;
    const a = v6 ? `2001:db8::${(i % 5000).toString(16)}` : `10.1.${i >> 8}.${i & 255}`;
    const b = v6 ? '2001:db8::ffff' : '192.0.2.1';
    const port = 1024 + (i % 3000);
    const there = bucket(h, frame(v6, a, b, port, 443));
    const back = bucket(h, frame(v6, b, a, 443, port));
    const again = bucket(h, frame(v6, a, b, port, 443)); // the previous-tuple shortcut
    assert.ok(Number.isInteger(there) && there >= 0 && there < FLOW_BUCKETS);
    assert.equal(back, there);
    assert.equal(again, there);
    // The same answer without the history of earlier packets.
    if (i % 97 === 0) assert.equal(bucket(fresh, frame(v6, b, a, 443, port)), there);
    counts[there]++;
  }
  // Spread over every bucket (expected 100 each; far outside this means a broken hash).
  assert.ok(Math.min(...counts) > 50 && Math.max(...counts) < 160, `bucket counts ${counts.join(' ')}`);
});

test('bucketOf: a 4-tuple\'s packets share a bucket whatever their VLAN tags (an untagged packet joins its VLAN\'s flow: src/flow/vlan.ts)', async () => {
  const h = ShardHasher.create();
  const d = newDecodedPacket();
  const stacks = [[], [{ tpid: 0x8100, tci: 10 }], [{ tpid: 0x8100, tci: 20 }], [{ tpid: 0x88a8, tci: 100 }, { tpid: 0x8100, tci: 10 }]];
  for (let i = 0; i < 200; i++) {
    const src = `10.2.${i >> 8}.${i & 255}`, port = 2000 + i;
    const buckets = new Set<number>();
    for (const tags of stacks) {
      for (const [a, b, p, q] of [[src, '10.9.9.9', port, 80], ['10.9.9.9', src, 80, port]] as const) {
        const f = ether(ipv4(tcp({ sport: p, dport: q }), { src: a, dst: b }), { tags });
        assert.equal(decodeFrame(f, 0, f.length, LINKTYPE.EN10MB, d), Verdict.TCP);
        buckets.add(h.bucketOf(f, d));
      }
    }
    assert.equal(buckets.size, 1, `connection ${i}: buckets ${[...buckets].join(' ')}`);
  }
});

/** xxhash's bucket of an IPv4 connection, straight from its definition (no cache). */
function referenceBucket(h32: (b: Uint8Array, seed: number) => number, tuple: Uint8Array, slice: ShardSlice | null): number {
  const a = tuple.subarray(0, 4), b = tuple.subarray(4, 8), sport = (tuple[8] << 8) | tuple[9], dport = (tuple[10] << 8) | tuple[11];
  let cmp = 0;
  for (let i = 0; i < 4 && cmp === 0; i++) cmp = a[i] - b[i];
  if (cmp === 0) cmp = sport - dport;
  const [lo, hi, loPort, hiPort] = cmp <= 0 ? [a, b, sport, dport] : [b, a, dport, sport];
  const canonical = Uint8Array.from([...lo, ...hi, loPort >> 8, loPort & 0xff, hiPort >> 8, hiPort & 0xff]);
  const hash = h32(canonical, 0x7cf10) >>> 0;
  return slice !== null && sliceOf(hash, slice.count) !== slice.index ? -1 : hash % FLOW_BUCKETS;
}

test('bucketOfV4: the cached bucket is always xxhash\'s, in both directions, for random, colliding and edge-case tuples, with and without --shard', async () => {
  const { h32Raw } = await xxhash();
  const rng = new Rng(0x5eed14);
  for (const slice of [null, { index: 0, count: 1 }, { index: 2, count: 5 }]) {
    const h = ShardHasher.create(slice);
    // Far more connections than cache entries, so entries are replaced and looked up again;
    // a small address and port pool makes tuples that differ in one field only, equal
    // addresses, equal ports, and the extreme values.
    const pool = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x0a000001, 0x0a000002, 0xc0000201];
    const ports = [0, 1, 80, 443, 0x7fff, 0x8000, 0xffff];
    const tuples: Uint8Array[] = [];
    for (let i = 0; i < 30000; i++) {
      const t = new Uint8Array(12), v = new DataView(t.buffer);
      v.setUint32(0, rng.chance(0.3) ? pool[rng.int(0, pool.length - 1)] : rng.int(0, 0xffffffff) >>> 0);
      v.setUint32(4, rng.chance(0.1) ? v.getUint32(0) : rng.chance(0.3) ? pool[rng.int(0, pool.length - 1)] : rng.int(0, 0xffffffff) >>> 0);
      v.setUint16(8, rng.chance(0.3) ? ports[rng.int(0, ports.length - 1)] : rng.int(0, 0xffff));
      v.setUint16(10, rng.chance(0.1) ? v.getUint16(8) : rng.chance(0.3) ? ports[rng.int(0, ports.length - 1)] : rng.int(0, 0xffff));
      tuples.push(t);
    }
    // Each tuple some time after it was first seen (revisits hit or miss the cache), either way round.
    const order = [...tuples.keys(), ...Array.from({ length: 60000 }, () => rng.int(0, tuples.length - 1))];
    const buf = new Uint8Array(12);
    for (const k of order) {
      const t = tuples[k], want = referenceBucket(h32Raw, t, slice);
      const sport = (t[8] << 8) | t[9], dport = (t[10] << 8) | t[11];
      assert.equal(h.bucketOfV4(t, 0, sport, dport), want, `tuple ${[...t].join('.')} slice ${JSON.stringify(slice)}`);
      buf.set(t.subarray(4, 8), 0);
      buf.set(t.subarray(0, 4), 4);
      assert.equal(h.bucketOfV4(buf, 0, dport, sport), want, `reversed tuple ${[...t].join('.')}`);
    }
  }
});
