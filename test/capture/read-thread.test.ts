import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { allocChunk, type Chunk } from '../../src/capture/chunk';
import { PieceTable, PIECE_TABLE_BYTES } from '../../src/capture/pieces';
import { openCapture } from '../../src/capture/reader';
import { ThreadedFileSource } from '../../src/capture/read-thread';
import { openFileSource, type PacketSource, TruncatedInput } from '../../src/capture/source';
import { TcpflowError } from '../../src/errors';
import { LINKTYPE } from '../../src/decode/link';
import { Ng, pcapFile, type PcapRecord } from '../helpers/capture-files';

/** A deterministic generator (tests must not depend on Math.random's sequence). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x / 4294967296;
  };
}

/** Records of sizes from a few bytes to past the 64 KiB room a read ahead leaves for a cut record. */
function records(n: number, seed: number, big = 0.02): PcapRecord[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const len = r() < big ? 65536 + Math.floor(r() * 80000) : 14 + Math.floor(r() * 1500);
    const frame = new Uint8Array(len);
    for (let k = 0; k < len; k += 97) frame[k] = (i + k) & 0xff;
    return { frame, sec: 1_600_000_000 + i, frac: i % 1000000, origlen: len + (i % 3) };
  });
}

interface Rec { sec: number; usec: number; caplen: number; origlen: number; linktype: number; bytes: Buffer }

/**
 * The coordinator's way of reading (src/shard/coordinator.ts): a ring of chunks, each fill
 * naming the chunk it will fill next, sometimes none, sometimes filling another than the one
 * named; chunks are scribbled over once read. `threaded`: wait for the thread after the first
 * chunk, so that it takes over.
 */
async function readAll(src: PacketSource, ring: Chunk[], threaded: ThreadedFileSource | null): Promise<{ recs: Rec[]; error: unknown; nulls: number }> {
  const recs: Rec[] = [];
  let error: unknown = null, nulls = 0, at = 0;
  try {
    for (let round = 1; ; round++) {
      const chunk = ring[at % ring.length];
      const skip = round % 7 === 0;
      const next = skip ? undefined : ring[(at + 1) % ring.length];
      const n = await src.fill(chunk, next);
      if (n === null) {
        nulls++;
        break;
      }
      assert.equal(chunk.count, n);
      for (let i = 0; i < n; i++) {
        recs.push({ sec: chunk.sec[i], usec: chunk.usec[i], caplen: chunk.caplen[i], origlen: chunk.origlen[i], linktype: chunk.linktype[i],
          bytes: Buffer.from(chunk.data.subarray(chunk.offset[i], chunk.offset[i] + chunk.caplen[i])) });
      }
      chunk.data.fill(0xee, 0, chunk.input.length);
      chunk.offset.fill(-1);
      if (round === 1 && threaded !== null) assert.equal(await threaded.started(), true);
      at += skip && round % 3 === 0 ? 2 : 1;
    }
    // Stays at the end.
    if (await src.fill(ring[0])) assert.fail('records after the end');
  } catch (e) {
    error = e;
  } finally {
    await src.settle?.();
    src.close();
  }
  return { recs, error, nulls };
}

const ringOf = (bytes: number, n = 4) => Array.from({ length: n }, () => allocChunk(bytes, 65536));

async function both(path: string, chunkBytes: number) {
  const seq = await readAll(openFileSource(path), ringOf(chunkBytes), null);
  const t = new ThreadedFileSource(openCapture(path), fs.statSync(path).size);
  const par = await readAll(t, ringOf(chunkBytes), t);
  assert.equal(t.threaded, true, 'the thread took over');
  return { seq, par };
}

function sameRecords(a: Rec[], b: Rec[], what: string): void {
  assert.equal(b.length, a.length, `${what}: number of records`);
  for (let i = 0; i < a.length; i++) {
    const x = a[i], y = b[i];
    if (x.sec !== y.sec || x.usec !== y.usec || x.caplen !== y.caplen || x.origlen !== y.origlen || x.linktype !== y.linktype || !x.bytes.equals(y.bytes)) {
      assert.fail(`${what}: record ${i} differs (in order: ${x.sec} vs ${y.sec})`);
    }
  }
}

function withTmp(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync('/tmp/tcpflow-ts-rthread-');
  return f(dir).finally(() => fs.rmSync(dir, { recursive: true, force: true }));
}

test('a reader thread hands out the same records, in order, as the main thread alone: records cut at chunk and piece boundaries, records larger than the room a read ahead leaves', () => withTmp(async (dir) => {
  const path = `${dir}/x.pcap`;
  const recs = records(6000, 7);
  fs.writeFileSync(path, pcapFile(recs, { linktype: LINKTYPE.EN10MB, snaplen: 262144 }));
  // 1 MiB: 4 pieces; 600 KiB: 3, the last one short; 200 KiB: one piece, many chunks.
  for (const size of [1 << 20, 600 << 10, 200 << 10]) {
    const { seq, par } = await both(path, size);
    assert.equal(seq.error, null);
    assert.equal(par.error, null, String(par.error));
    assert.equal(seq.recs.length, recs.length);
    sameRecords(seq.recs, par.recs, `chunks of ${size}`);
    assert.equal(par.nulls, 1);
  }
}));

test('a reader thread that would hand records out of order fails the comparison (the comparison is not blind)', () => {
  const a = records(3, 1).map((r, i) => ({ sec: i, usec: 0, caplen: r.frame.length, origlen: 0, linktype: 1, bytes: Buffer.from(r.frame) }));
  assert.throws(() => sameRecords(a, [a[0], a[2], a[1]], 'swapped'), /record 1 differs/);
});

test('pcapng read by a thread: byte order and interfaces (time resolutions, offsets) carried over the hand-over, a second section later', () => withTmp(async (dir) => {
  const ng = new Ng();
  const r = rng(3);
  const body = (i: number) => Buffer.alloc(40 + Math.floor(r() * 1400), i & 0xff);
  ng.shb(true);
  ng.idb(LINKTYPE.EN10MB);
  ng.idb(LINKTYPE.RAW, [ng.opt(9, Buffer.from([9])), ng.opt(14, ng.u64(1000n))]);   // ns, +1000 s
  for (let i = 0; i < 3000; i++) ng.epb(i % 2, BigInt(i) * 1_000_001n + 7n, body(i));
  ng.shb(false);   // another byte order, its own interfaces
  ng.idb(LINKTYPE.RAW, [ng.opt(9, Buffer.from([0x80 | 20]))]);
  for (let i = 0; i < 3000; i++) ng.epb(0, BigInt(i) << 20n, body(i));
  const path = `${dir}/x.pcapng`;
  fs.writeFileSync(path, ng.bytes());
  const { seq, par } = await both(path, 256 << 10);
  assert.equal(seq.error, null);
  assert.equal(par.error, null, String(par.error));
  assert.equal(seq.recs.length, 6000);
  sameRecords(seq.recs, par.recs, 'pcapng');
}));

test('a truncated file: the same records, then the same one-line TruncatedInput, then the end', () => withTmp(async (dir) => {
  const path = `${dir}/cut.pcap`;
  const whole = pcapFile(records(3000, 11, 0), { linktype: LINKTYPE.EN10MB });
  fs.writeFileSync(path, whole.subarray(0, whole.length - 100));
  const { seq, par } = await both(path, 256 << 10);
  assert.ok(seq.error instanceof TruncatedInput);
  assert.ok(par.error instanceof TruncatedInput, String(par.error));
  assert.equal(par.error.message, seq.error.message);
  assert.match(par.error.message, /^\S+cut\.pcap: truncated dump file; tried to read \d+ captured bytes, only got \d+ \(at byte \d+\); packets before it are kept$/);
  assert.deepEqual(par.error.truncation, seq.error.truncation);
  assert.equal(seq.recs.length, 2999);
  sameRecords(seq.recs, par.recs, 'truncated');
}));

test('a corrupt record (an impossible length) late in the file: the records before it, then the same error', () => withTmp(async (dir) => {
  const path = `${dir}/bad.pcap`;
  const recs = records(3000, 5, 0);
  const bytes = pcapFile(recs, { linktype: LINKTYPE.EN10MB });
  let at = 24;
  for (let i = 0; i < 2500; i++) at += 16 + recs[i].frame.length;
  new DataView(bytes.buffer).setUint32(at + 8, 0x7fffffff, true);
  fs.writeFileSync(path, bytes);
  const { seq, par } = await both(path, 256 << 10);
  assert.ok(seq.error instanceof TcpflowError && seq.error.code === 'INPUT_CORRUPT');
  assert.ok(par.error instanceof TcpflowError && par.error.code === 'INPUT_CORRUPT', String(par.error));
  assert.equal(par.error.message, seq.error.message);
  assert.equal(par.recs.length, 2500);
  sameRecords(seq.recs, par.recs, 'corrupt');
}));

test('a plausible record header in the data just at a chunk boundary: records are walked in order from the file header, never guessed', () => withTmp(async (dir) => {
  // Each frame carries a fake record header (plausible time, lengths) every 64 bytes; chunks
  // of 256 KiB put some of them exactly at a boundary.
  const recs = records(4000, 13, 0).map((r, i) => {
    const v = new DataView(r.frame.buffer);
    for (let k = 0; k + 16 <= r.frame.length; k += 64) {
      v.setUint32(k, 1_600_000_000 + i, true);
      v.setUint32(k + 8, 60, true);
      v.setUint32(k + 12, 60, true);
    }
    return r;
  });
  const path = `${dir}/fake.pcap`;
  fs.writeFileSync(path, pcapFile(recs, { linktype: LINKTYPE.EN10MB }));
  const { seq, par } = await both(path, 256 << 10);
  assert.equal(par.error, null);
  assert.equal(seq.recs.length, 4000);
  sameRecords(seq.recs, par.recs, 'fake headers');
}));

test('a file cut short while the thread reads it: the records it still had, then the same error as the main thread\'s reader', () => withTmp(async (dir) => {
  const path = `${dir}/shrinks.pcap`;
  const recs = records(6000, 17, 0);
  const bytes = pcapFile(recs, { linktype: LINKTYPE.EN10MB });
  let half = 24;
  for (let i = 0; i < 3000; i++) half += 16 + recs[i].frame.length;
  fs.writeFileSync(path, bytes);
  const t = new ThreadedFileSource(openCapture(path), bytes.length);
  const ring = ringOf(256 << 10);
  let n = await t.fill(ring[0], ring[1]) as number, got = n;
  assert.equal(await t.started(), true);
  n = await t.fill(ring[1], ring[2]) as number;
  got += n;
  fs.truncateSync(path, half);
  let error: unknown = null;
  try {
    for (let k = 2; ; k++) {
      const m = await t.fill(ring[k % 4], ring[(k + 1) % 4]);
      if (m === null) break;
      got += m;
    }
  } catch (e) {
    error = e;
  }
  await t.settle();
  t.close();
  assert.equal(t.threaded, true);
  assert.ok(got <= 3000);
  assert.ok(error instanceof TruncatedInput, String(error));
  assert.match(error.message, new RegExp(`shrinks\\.pcap: truncated while being read: ${bytes.length} bytes when opened, only ${half} read; packets before it are kept$`));
}));

test('pieces of one range read by two readers, one from each end: every byte once, in place; a helper that cannot read gives its piece back', () => withTmp(async (dir) => {
  const path = `${dir}/bytes`;
  const file = Buffer.alloc(3 << 20);
  for (let i = 0; i < file.length; i += 4) file.writeUInt32LE(i, i);
  fs.writeFileSync(path, file);
  const fd = fs.openSync(path, 'r');
  try {
    const table = new PieceTable(new SharedArrayBuffer(PIECE_TABLE_BYTES), 0);
    const dst = new Uint8Array(4 << 20);
    // 2.5 MiB from offset 100 into dst at 1000: 10 pieces of 256 KiB.
    let gen = table.publish(3, 1000, 5 << 19, 100);
    assert.equal(table.slot, 3);
    let helped = 0;
    table.readPieces(fd, dst, gen, true, path, () => helped++ === 3);
    table.readPieces(fd, dst, gen, false, path);
    assert.equal(table.gather(gen), 5 << 19);
    assert.ok(Buffer.from(dst.subarray(1000, 1000 + (5 << 19))).equals(file.subarray(100, 100 + (5 << 19))));
    assert.equal(table.slot, -1);
    // A claim of an older generation fails; a range past the end of the file ends short.
    const stale = gen;
    gen = table.publish(4, 0, 1 << 20, file.length - 300000);
    table.readPieces(fd, dst, stale, true, path);
    // The helper's failed read (EBADF) gives its piece back: the front reader, still going, takes it...
    table.readPieces(-1, dst, gen, true, path);
    table.readPieces(fd, dst, gen, false, path);
    assert.equal(table.gather(gen), 300000);
    // ...or, when it had stopped before that piece, reads the whole range again.
    gen = table.publish(4, 0, 1 << 20, file.length - 300000);
    let front = 0;
    table.readPieces(fd, dst, gen, false, path, () => front++ === 3);
    table.readPieces(-1, dst, gen, true, path);
    assert.equal(table.gather(gen), -1, 'a piece given back: the range is read again');
    gen = table.publish(4, 0, 1 << 20, file.length - 300000);
    table.readPieces(fd, dst, gen, false, path);
    assert.equal(table.gather(gen), 300000);
    assert.ok(Buffer.from(dst.subarray(0, 300000)).equals(file.subarray(file.length - 300000)));
  } finally {
    fs.closeSync(fd);
  }
}));
