/**
 * The IP fragment reassembler (src/shard/ip-fragments.ts) through dispatch, as the
 * coordinator runs it: frames packed into chunks of random sizes, every chunk dispatched
 * with the reassembler.
 *
 * - Property: random datagrams (IPv4 with and without options, IPv6 with and without a
 *   hop-by-hop header), cut at random sizes, their fragments permuted, exact duplicates
 *   added, interleaved with each other and with unfragmented packets, over random chunk
 *   boundaries: each datagram comes out once, byte for byte the original, at the packet
 *   of its last fragment, and the counts add up.
 * - The policy: overlaps drop the datagram, duplicates are ignored (first copy kept),
 *   timeouts in packet time (30 s IPv4, 60 s IPv6), caps on datagrams and bytes, data past
 *   64 KiB, inconsistent ends, incomplete datagrams at the end.
 * - Hostile input: random fragment fields (offsets up to 8191 × 8, zero lengths, odd
 *   lengths, colliding ids, times going backwards) never throw, keep the held bytes and
 *   datagrams under the caps, and every record stays inside its chunk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allocChunk, FRAGMENT_PENDING_BYTES } from '../../src/capture/chunk';
import { decodeFrame } from '../../src/decode/link';
import { newDecodedPacket, Verdict } from '../../src/decode/packet';
import { dispatch } from '../../src/shard/dispatch';
import { evenSplit } from '../../src/shard/bucket-split';
import { ShardHasher } from '../../src/shard/hash';
import { DEFAULT_LIMITS, FragmentReassembler, type ReassemblyLimits, setIpv4Checksum } from '../../src/shard/ip-fragments';
import { RECORD_MASK } from '../../src/shard/protocol';
import { ACK, concat, ether, hopByHop, ipv4, ipv6, tcp } from '../helpers/packets';
import { etherIpOffset, fragmentFrame } from '../helpers/fragment';
import { Rng as SeededRng } from '../flow/rng';

/** Integers in [0, n) from a seeded generator. */
class Rng {
  private readonly g: SeededRng;
  constructor(seed: number) { this.g = new SeededRng(seed); }
  int(n: number): number { return this.g.int(0, n - 1); }
  shuffle<T>(a: T[]): T[] { return this.g.shuffle(a); }
}

interface Frame { frame: Uint8Array; sec: number; usec?: number }
interface Delivered { packet: number; bytes: Uint8Array }

let hasher: ShardHasher | null = null;

/** Frames through dispatch in chunks of at most `records` records and `bytes` bytes; what the workers would get. */
async function run(frames: readonly Frame[], o: { records?: number; bytes?: number; limits?: ReassemblyLimits; check?: (f: FragmentReassembler) => void } = {}) {
  hasher ??= ShardHasher.create();
  const frags = new FragmentReassembler(o.limits ?? DEFAULT_LIMITS);
  const records = o.records ?? 64, bytes = o.bytes ?? 256 * 1024;
  const chunk = allocChunk(bytes, records);
  const d = newDecodedPacket();
  const delivered: Delivered[] = [];
  const unprocessed: number[] = [];
  let n = 0, used = 0, base = 0;
  const flush = () => {
    chunk.count = n;
    const originals = Array.from({ length: n }, (_, i) => [chunk.offset[i], chunk.caplen[i]]);
    const out = dispatch(chunk, evenSplit(1), hasher as ShardHasher, d, frags);
    for (const e of out.lists[0].subarray(0, out.sizes[0])) {
      const i = e & RECORD_MASK;
      const off = chunk.offset[i], cap = chunk.caplen[i];
      assert.ok(off >= 0 && cap >= 0 && off + cap <= chunk.data.length, 'record inside its chunk');
      if (off !== originals[i][0]) assert.ok(off >= chunk.input.length, 'a datagram is in the side region');
      delivered.push({ packet: base + i, bytes: chunk.data.slice(off, off + cap) });
    }
    // -w: the original fragment, whatever its record became.
    const restore = out.restore ?? new Int32Array(0);
    for (let k = 0; k < restore.length; k += 5) assert.deepEqual([restore[k + 1], restore[k + 2]], originals[restore[k]]);
    for (const i of out.unprocessed?.subarray(0, out.unprocessedCount) ?? []) unprocessed.push(base + i);
    o.check?.(frags);
    base += n;
    n = used = 0;
  };
  for (const f of frames) {
    if (n === records || used + f.frame.length > bytes) flush();
    chunk.input.set(f.frame, used);
    chunk.offset[n] = used;
    chunk.caplen[n] = chunk.origlen[n] = f.frame.length;
    chunk.sec[n] = f.sec;
    chunk.usec[n] = f.usec ?? 0;
    chunk.linktype[n] = 1;
    used += f.frame.length;
    n++;
  }
  flush();
  frags.finish();
  return { delivered, unprocessed, counts: frags.counts, frags };
}

function randomBytes(rng: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(256);
  return b;
}

/** A random TCP datagram in an Ethernet frame; IPv4 checksum set, DF clear (a fragmented datagram has none). */
function randomDatagram(rng: Rng, k: number, maxPayload: number): Uint8Array {
  const seg = tcp({ sport: 1000 + k, dport: 80, seq: rng.int(2 ** 32), flags: ACK, payload: randomBytes(rng, rng.int(maxPayload + 1)) });
  if (rng.int(2) === 0) {
    const f = ether(ipv4(seg, { src: '10.1.0.1', dst: '10.2.0.2', id: k, options: rng.int(3) === 0 ? [7, 7, 4, 0, 0, 0, 0, 0] : [] }));
    setIpv4Checksum(f, 14);
    return f;
  }
  return ether(ipv6(seg, { src: '2001:db8::1', dst: '2001:db8::2', ext: rng.int(3) === 0 ? [hopByHop()] : [] }));
}

test('property: random datagrams, fragmented, permuted, duplicated and interleaved over random chunks come out whole, once, at their last fragment', async () => {
  for (let iteration = 0; iteration < 300; iteration++) {
    const rng = new Rng(0xf7a9 + iteration);
    const count = 1 + rng.int(6);
    const originals = Array.from({ length: count }, (_, k) => randomDatagram(rng, k, rng.int(4) === 0 ? 20000 : 3000));
    // Each datagram's fragments in a random order, some duplicated (never after the last one of their datagram).
    const sequences = originals.map((f, k) => {
      // At most MAX_FRAGMENTS_PER_DATAGRAM pieces (more are refused: the caps test).
      const pieces = rng.shuffle(fragmentFrame(f, 14, Math.max(8 + rng.int(1500), 8 * Math.ceil(f.length / 8 / 500)), 0x100 + k));
      const out: Uint8Array[] = [];
      pieces.forEach((p, j) => {
        out.push(p);
        if (j < pieces.length - 1 && rng.int(4) === 0) out.push(p);
      });
      return out;
    });
    // Interleaved at random, with unfragmented packets between them.
    const frames: Frame[] = [];
    const lastOf = new Map<number, number>();
    const at = sequences.map(() => 0);
    let plain = 0;
    for (let left = sequences.reduce((s, q) => s + q.length, 0); left > 0;) {
      if (rng.int(5) === 0) {
        frames.push({ frame: ether(ipv4(tcp({ sport: 9, dport: 9, seq: plain++, flags: ACK, payload: 'x' }))), sec: 1 });
        continue;
      }
      const k = rng.int(count);
      if (at[k] === sequences[k].length) continue;
      frames.push({ frame: sequences[k][at[k]++], sec: 1 });
      left--;
      if (at[k] === sequences[k].length) lastOf.set(k, frames.length - 1);
    }
    const r = await run(frames, { records: 1 + rng.int(20), bytes: 70_000 + rng.int(200_000) });
    const got = r.delivered.filter((x) => !(x.bytes.length === 14 + 41 && x.bytes[14 + 9] === 6 && x.bytes[14 + 21] === 9));
    assert.equal(got.length, count, `iteration ${iteration}: datagrams delivered`);
    for (let k = 0; k < count; k++) {
      const g = got.find((x) => x.packet === lastOf.get(k));
      assert.ok(g, `iteration ${iteration}: datagram ${k} at the packet of its last fragment`);
      // One piece is no fragment but the datagram itself (over IPv6 an atomic fragment, its header kept).
      const want = sequences[k].length > 1 ? originals[k] : sequences[k][0];
      assert.deepEqual(Buffer.from(g.bytes), Buffer.from(want), `iteration ${iteration}: datagram ${k} byte for byte`);
      if (want[14] >> 4 === 4) assert.equal(headerSum(g.bytes, 14), 0xffff, 'a valid IPv4 header checksum');
    }
    // A datagram that fits in one piece is no fragment.
    const cut = sequences.filter((q) => q.length > 1);
    const fragments = cut.reduce((s, q) => s + q.length, 0);
    const distinct = cut.reduce((s, q) => s + new Set(q).size, 0);
    assert.deepEqual(r.counts, {
      fragments, reassembled: cut.length, duplicates: fragments - distinct, overlapping: 0, timedOut: 0, evicted: 0, invalid: 0, incomplete: 0,
    }, `iteration ${iteration}`);
    assert.equal(r.frags.heldBytes, 0);
  }
});

/** The ones' complement sum of an IPv4 header: 0xffff when its checksum is right. */
function headerSum(b: Uint8Array, ip: number): number {
  let sum = 0;
  for (let j = 0; j < (b[ip] & 0x0f) * 4; j += 2) sum += (b[ip + j] << 8) | b[ip + j + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

const D4 = () => {
  const f = ether(ipv4(tcp({ sport: 5, dport: 80, seq: 1, flags: ACK, payload: 'y'.repeat(100) }), { id: 7 }));
  setIpv4Checksum(f, 14);
  return f;
};
const at = (frame: Uint8Array, sec = 1, usec = 0): Frame => ({ frame, sec, usec });

test('overlapping fragments drop the datagram (first-wins is not taken: RFC 5722, and Linux for IPv4 too)', async () => {
  const [a, b, c] = fragmentFrame(D4(), 14, 48);
  // A fragment covering the end of a and the start of b: same bytes, still an overlap.
  const shifted = fragmentFrame(D4(), 14, 24)[1];
  const r = await run([a, shifted, b, c].map((f) => at(f)));
  assert.equal(r.delivered.length, 0);
  assert.equal(r.counts.overlapping, 1);
  // The fragments after the overlap start a new datagram, which never completes.
  assert.equal(r.counts.incomplete, 1);
  // IPv6 the same.
  const six = ether(ipv6(tcp({ payload: 'z'.repeat(80) })));
  const p6 = fragmentFrame(six, 14, 32);
  const o6 = fragmentFrame(six, 14, 16)[1];
  const r6 = await run([p6[0], o6, p6[1], p6[2]].map((f) => at(f)));
  assert.equal(r6.counts.overlapping, 1);
  assert.equal(r6.delivered.length, 0);
});

test('exact duplicates are ignored, the first copy kept', async () => {
  const [a, b, c] = fragmentFrame(D4(), 14, 48);
  const other = Uint8Array.from(b);
  other[other.length - 1] ^= 0xff; // same offset and length, other bytes: still a duplicate
  const r = await run([a, b, other, c].map((f) => at(f)));
  assert.equal(r.counts.duplicates, 1);
  assert.equal(r.delivered.length, 1);
  assert.deepEqual(Buffer.from(r.delivered[0].bytes), Buffer.from(D4()));
});

test('a datagram not complete within the timeout in packet time is dropped (IPv4 30 s, IPv6 60 s)', async () => {
  const [a, b, c] = fragmentFrame(D4(), 14, 48);
  const late = await run([at(a, 100), at(b, 120), at(c, 130, 1)]);
  assert.equal(late.counts.timedOut, 1);
  assert.equal(late.counts.incomplete, 1, 'the late fragment starts a new datagram');
  assert.equal(late.delivered.length, 0);
  const inTime = await run([at(a, 100), at(b, 120), at(c, 130, 0)]);
  assert.equal(inTime.delivered.length, 1, 'exactly 30 s is in time');
  // Another datagram's fragment past the timeout frees it too.
  const six = ether(ipv6(tcp({ payload: 'z'.repeat(80) })));
  const p6 = fragmentFrame(six, 14, 32);
  assert.equal(p6.length, 4);
  const r6 = await run([at(p6[0], 0), at(a, 59), at(p6[1], 59), at(p6[2], 60), at(p6[3], 60)]);
  assert.equal(r6.delivered.length, 1, 'IPv6 waits 60 s');
  const gone = await run([at(p6[0], 0), at(a, 61), at(p6[1], 62), at(p6[2], 62), at(p6[3], 62)]);
  assert.equal(gone.counts.timedOut, 1);
  // Times going backwards never expire anything.
  const back = await run([at(a, 1000), at(b, 10), at(c, 5)]);
  assert.equal(back.delivered.length, 1);
});

test('caps: pending datagrams and held bytes; the oldest datagram goes first', async () => {
  const limits = { maxPendingBytes: 4096, maxPendingDatagrams: 4, maxFragments: 8 };
  // Eight datagrams whose first fragments come first: only the last four stay.
  const datagrams = Array.from({ length: 8 }, (_, k) => {
    const f = ether(ipv4(tcp({ payload: 'q'.repeat(60) }), { id: 100 + k }));
    return fragmentFrame(f, 14, 40);
  });
  const seconds = datagrams.map((p) => p[1]);
  const r = await run([...datagrams.map((p) => p[0]), ...seconds.slice(4), ...seconds.slice(0, 4)].map((f) => at(f)), { limits });
  assert.equal(r.counts.evicted, 4);
  assert.equal(r.counts.incomplete, 4, 'the evicted datagrams\' second fragments start datagrams that never complete');
  assert.deepEqual(r.delivered.map((x) => x.bytes[19]), [104, 105, 106, 107]);
  // A datagram bigger than the byte cap on its own is dropped as it grows.
  const big = fragmentFrame(ether(ipv4(tcp({ payload: 'b'.repeat(6000) }))), 14, 512);
  const rb = await run(big.map((f) => at(f)), { limits: { ...limits, maxFragments: 64 } });
  assert.equal(rb.delivered.length, 0);
  assert.ok(rb.counts.evicted >= 1);
  assert.ok(rb.frags.peakBytes <= 4096 + 512 + 64, `peak ${rb.frags.peakBytes}`);
  // Too many fragments for one datagram.
  const many = fragmentFrame(ether(ipv4(tcp({ payload: 'm'.repeat(200) }))), 14, 8);
  const rm = await run(many.map((f) => at(f)), { limits: { ...limits, maxFragments: 8 } });
  // 28 fragments: the 9th is refused with its datagram; the next ones start another, and so on.
  assert.equal(many.length, 28);
  assert.equal(rm.counts.invalid, 3);
  assert.equal(rm.delivered.length, 0);
  assert.throws(() => new FragmentReassembler({ ...DEFAULT_LIMITS, maxPendingBytes: FRAGMENT_PENDING_BYTES + 1 }), RangeError);
});

test('invalid datagrams: past 64 KiB, two different ends, data past the end', async () => {
  const frag = (offset8: number, mf: boolean, data: number) => ether(ipv4(new Uint8Array(data), { fragOffset: offset8, mf, id: 9 }));
  const huge = await run([at(frag(0, true, 64)), at(frag(8190, false, 100))]);
  assert.equal(huge.counts.invalid, 1, 'data ending past 65,515 bytes');
  assert.equal(huge.delivered.length, 0);
  const ends = await run([at(frag(0, true, 64)), at(frag(10, false, 16)), at(frag(12, false, 16))]);
  assert.equal(ends.counts.invalid, 1);
  const past = await run([at(frag(20, false, 16)), at(frag(30, true, 16))]);
  assert.equal(past.counts.invalid, 1);
  // An IPv6 datagram of more than 65,535 payload bytes.
  const six = (offset: number, more: boolean, n: number) => {
    const f = ether(ipv6(new Uint8Array(n), { ext: [{ type: 44, bytes: Uint8Array.from([0, 0, (offset >> 8) & 0xff, (offset & 0xf8) | (more ? 1 : 0), 0, 0, 0, 5]) }] }));
    return at(f);
  };
  const r6 = await run([six(0, true, 65528), six(65528, false, 16)]);
  assert.equal(r6.counts.invalid, 1);
  assert.equal(r6.delivered.length, 0);
});

test('empty fragments: one at offset 0 brings the headers, one without MF the end; neither is an overlap', async () => {
  const [a, b, c] = fragmentFrame(D4(), 14, 48);
  const empty = (offset8: number, mf: boolean) => {
    const f = concat(a.subarray(0, 34));
    f[16] = 0; f[17] = 20; // total length: the header alone
    f[20] = (mf ? 0x20 : 0) | (offset8 >> 8); f[21] = offset8 & 0xff;
    return f;
  };
  const r = await run([empty(0, true), a, b, empty(6, true), c, empty(15, false)].map((f) => at(f)));
  assert.equal(r.delivered.length, 1);
  assert.deepEqual(Buffer.from(r.delivered[0].bytes), Buffer.from(D4()));
  assert.equal(r.counts.overlapping, 0);
});

test('incomplete datagrams at the end are counted; later fragments go to -w as in tcpflow, the first does not', async () => {
  const [a, b, c] = fragmentFrame(D4(), 14, 48);
  const r = await run([at(a), at(c)]);
  assert.equal(r.counts.incomplete, 1);
  assert.deepEqual(r.unprocessed, [1]);
  const whole = await run([at(c), at(b), at(a)]);
  assert.deepEqual(whole.unprocessed, [0, 1], 'reassembled or not, the later fragments');
  assert.equal(whole.delivered[0].packet, 2);
});

test('hostile fragments: random fields never throw, stay under the caps, and records stay in their chunk', async () => {
  const small = { maxPendingBytes: 32 * 1024, maxPendingDatagrams: 16, maxFragments: 32 };
  for (let iteration = 0; iteration < 60; iteration++) {
    const rng = new Rng(0xbad0 + iteration);
    const limits = iteration % 2 ? small : DEFAULT_LIMITS;
    const frames: Frame[] = [];
    for (let k = 0; k < 400; k++) {
      const n = rng.int(4) === 0 ? 0 : rng.int(rng.int(8) === 0 ? 3000 : 200);
      const offset = rng.int(3) === 0 ? rng.int(8192) : rng.int(64);
      const more = rng.int(3) !== 0;
      const data = randomBytes(rng, n);
      const frame = rng.int(2) === 0
        ? ether(ipv4(data, { fragOffset: offset, mf: more, id: rng.int(4), options: rng.int(4) === 0 ? [1, 1, 1, 1] : [] }))
        : ether(ipv6(data, { ext: [...(rng.int(4) === 0 ? [hopByHop()] : []), { type: 44, bytes: Uint8Array.from([0, 0, (offset >> 5) & 0xff, ((offset << 3) & 0xf8) | (more ? 1 : 0), 0, 0, 0, rng.int(4)]) }] }));
      // Sometimes a lying length field or a cut frame.
      if (rng.int(10) === 0) frame[17] ^= rng.int(256);
      const cut = rng.int(10) === 0 ? frame.subarray(0, rng.int(frame.length + 1)) : frame;
      frames.push({ frame: cut, sec: rng.int(5) === 0 ? rng.int(1000) : 100 + k / 10 });
    }
    const r = await run(frames, {
      records: 1 + rng.int(40), bytes: 16 * 1024 + rng.int(64 * 1024), limits,
      check: (f) => {
        assert.ok(f.heldBytes <= limits.maxPendingBytes, `held ${f.heldBytes}`);
        assert.ok(f.pendingDatagrams <= limits.maxPendingDatagrams);
      },
    });
    assert.ok(r.frags.peakBytes <= limits.maxPendingBytes + 3100, `peak ${r.frags.peakBytes}`);
    // What comes out is a whole IP datagram that decodes as TCP or not at all, never longer than IP allows.
    for (const x of r.delivered) {
      const ip = etherIpOffset(x.bytes);
      assert.ok(x.bytes.length - ip <= 65535 + 40);
      assert.equal(decodeFrame(x.bytes, 0, x.bytes.length, 1, newDecodedPacket()), Verdict.TCP);
    }
    const c = r.counts;
    assert.equal(r.frags.pendingDatagrams, 0);
    assert.equal(r.frags.heldBytes, 0, 'everything given back at the end');
    assert.ok(c.reassembled + c.overlapping + c.timedOut + c.evicted + c.invalid + c.incomplete <= c.fragments);
  }
});
