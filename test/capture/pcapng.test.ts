import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { openCapture } from '../../src/capture/reader';
import { allocChunk, Chunk } from '../../src/capture/chunk';
import { TcpflowError } from '../../src/errors';
import { expectError, fx, readAll } from '../helpers/capture';
import { Ng } from '../helpers/capture-files';


const DEFAULT = [allocChunk(), allocChunk()];
const LARGE = [allocChunk(40000, 8), allocChunk(40000, 8)];
const SMALL = [allocChunk(4096, 64), allocChunk(4096, 64)];
const TINY = [allocChunk(2048, 3), allocChunk(2048, 3)];
const MINI = [allocChunk(256, 2), allocChunk(256, 2)];

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpflow-ts-pcapng-'));
let tmpCount = 0;
process.on('exit', () => fs.rmSync(TMP, { recursive: true, force: true }));
function tmpFile(bytes: Uint8Array): string {
  const f = path.join(TMP, `x${tmpCount++}.pcapng`);
  fs.writeFileSync(f, bytes);
  return f;
}


// Wireshark encapsulation numbers (frame.encap_type) -> LINKTYPE values.
const WTAP_TO_LINKTYPE: Record<string, number> = { 1: 1, 15: 0, 25: 113, 7: 101 };

const TSHARK_FILES: [string, number[]][] = [
  ['tcpflow__image2.pcap', [1]],
  ['tcpflow__test1-out-of-order.pcap', [1]],
  ['pcapplusplus__many_interfaces-1.pcapng', [0, 1]],
  ['tcpdump__bgp-role.pcapng', [113]],
];

for (const [name, linktypes] of TSHARK_FILES) {
  test(`${name}: same packets as the tshark record`, () => {
    const rows = fs.readFileSync(fx(`tshark/${name}.tsv`), 'utf8').trim().split('\n').map((l) => l.split('\t'));
    const file = fs.readFileSync(fx(name));
    const biggest = Math.max(...walk(file).map((b) => b.len));
    for (const ring of [DEFAULT, LARGE, SMALL, TINY].filter((r) => biggest <= r[0].input.length)) {
      const got = readAll(fx(name), ring);
      if (ring[0].input.length < file.length) assert.ok(got.fills > 1, 'records carried over several fills');
      assert.equal(got.format, 'pcapng');
      assert.equal(got.truncation, null);
      assert.equal(got.recs.length, rows.length);
      got.recs.forEach((r, i) => {
        const [len, cap, epoch, , encap, md5] = rows[i];
        const [s, frac] = epoch.split('.');
        assert.deepEqual(
          [r.origlen, r.caplen, r.sec, r.usec, r.linktype],
          [Number(len), Number(cap), Number(s), Number(frac.slice(0, 6)), WTAP_TO_LINKTYPE[encap]], `#${i}`);
        assert.equal(crypto.createHash('md5').update(r.bytes).digest('hex'), md5, `#${i} bytes`);
      });
      assert.deepEqual([...new Set(got.recs.map((r) => r.linktype))].sort(), linktypes);
    }
  });
}

test('nanosecond if_tsresol is truncated, not rounded', () => {
  const rows = fs.readFileSync(fx('tshark/tcpflow__image2.pcap.tsv'), 'utf8').trim().split('\n');
  assert.ok(rows.some((l) => Number(l.split('\t')[2].split('.')[1][6]) >= 5));
});

const payload = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff));
const tsresol = (ng: Ng, v: number) => ng.opt(9, Buffer.from([v]));

interface Want { linktype: number; sec: number; usec: number; caplen: number; origlen: number; bytes: Buffer }
function want(linktype: number, ticks: bigint, rate: bigint, offset: number, bytes: Buffer, origlen = bytes.length): Want {
  return {
    linktype, sec: Number(ticks / rate) + offset, usec: Number(((ticks % rate) * 1000000n) / rate),
    caplen: bytes.length, origlen, bytes,
  };
}

/** Big-endian section with every timestamp resolution path, then a little-endian section. */
function handBuilt(): { ng: Ng; expected: Want[] } {
  const ng = new Ng();
  const expected: Want[] = [];
  ng.shb(false);
  ng.idb(1, [ng.opt(2, Buffer.from('eth0')), tsresol(ng, 9)]);                               // 0: ns
  ng.idb(113, [tsresol(ng, 0x80 | 10), ng.opt(14, ng.u64(1000n))]);                          // 1: 2^-10, +1000 s
  ng.idb(101, [tsresol(ng, 12)]);                                                            // 2: ps (BigInt path)
  ng.idb(0, [tsresol(ng, 0x80 | 40), ng.opt(14, ng.u64(-5n))]);                              // 3: 2^-40, -5 s
  ng.idb(1, []);                                                                             // 4: default µs
  ng.idb(1, [tsresol(ng, 0x80 | 20)]);                                                       // 5: 2^-20
  let t = 1604847907468980449n;
  let d = payload(61, 1);
  ng.epb(0, t, d); expected.push(want(1, t, 1000000000n, 0, d));
  ng.block(5, Buffer.concat([ng.u32(0), ng.u32(0), ng.u32(0), ng.end()]));                  // ISB: skipped
  t = (5n << 10n) + 1023n; d = payload(60, 2);
  ng.epb(1, t, d, [ng.opt(1, Buffer.from('a comment'))]); expected.push(want(113, t, 1024n, 1000, d));
  t = (7n << 10n) + 512n; d = payload(40, 3);
  ng.opb(1, t, d); expected.push(want(113, t, 1024n, 1000, d, 140));
  d = payload(64, 4);
  ng.spb(70, d); expected.push({ linktype: 1, sec: 0, usec: 0, caplen: 64, origlen: 70, bytes: d });
  d = payload(61, 5);
  ng.spb(61, d); expected.push({ linktype: 1, sec: 0, usec: 0, caplen: 61, origlen: 61, bytes: d });
  ng.block(0x00000bad, payload(20, 6));                                                    // custom: skipped
  ng.block(4, Buffer.concat([ng.u16(0), ng.u16(0)]));                                        // NRB: skipped
  t = 12345678901234567n; d = payload(33, 7);
  ng.epb(2, t, d); expected.push(want(101, t, 10n ** 12n, 0, d));
  t = (16000000n << 40n) + 135742440243n; d = payload(20, 8);
  ng.epb(3, t, d); expected.push(want(0, t, 1n << 40n, -5, d));
  t = 1700000000123456n; d = payload(1, 9);
  ng.epb(4, t, d, [], 1500); expected.push(want(1, t, 1000000n, 0, d, 1500));
  t = (1700000000n << 20n) + 1048575n; d = payload(0, 10);
  ng.epb(5, t, d); expected.push(want(1, t, 1n << 20n, 0, d));
  t = 0xffffffffffffffffn; d = payload(8, 11);
  ng.epb(0, t, d); expected.push(want(1, t, 1000000000n, 0, d));
  ng.shb(true);                                                                              // new section: LE, interfaces reset
  ng.idb(101, []);
  t = 1223315694711975n; d = payload(50, 12);
  ng.epb(0, t, d); expected.push(want(101, t, 1000000n, 0, d));
  return { ng, expected };
}

test('hand-built pcapng: byte orders, resolutions, offsets, SPB, OPB, skipped blocks', () => {
  const { ng, expected } = handBuilt();
  const f = tmpFile(ng.bytes());
  assert.equal(expected[0].usec, 468980);
  assert.deepEqual([expected[1].sec, expected[1].usec], [1005, 999023]);
  assert.deepEqual([expected[9].sec, expected[9].usec], [18446744073, 709551]);
  for (const ring of [DEFAULT, SMALL, MINI]) {
    const got = readAll(f, ring);
    assert.equal(got.truncation, null);
    assert.equal(got.recs.length, expected.length);
    got.recs.forEach((r, i) => assert.deepEqual(r, expected[i], `#${i}`));
    if (ring === MINI) assert.ok(got.fills >= expected.length / 2);
  }
});

/** Block boundaries of a well-formed pcapng file. */
function walk(buf: Buffer): { at: number; len: number; packet: boolean }[] {
  const out = [];
  let le = false;
  for (let at = 0; at < buf.length;) {
    if (buf.readUInt32BE(at) === 0x0a0d0d0a) le = buf.readUInt32BE(at + 8) === 0x4d3c2b1a;
    const type = le ? buf.readUInt32LE(at) : buf.readUInt32BE(at);
    const len = le ? buf.readUInt32LE(at + 4) : buf.readUInt32BE(at + 4);
    out.push({ at, len, packet: type === 2 || type === 3 || type === 6 });
    at += len;
  }
  return out;
}

test('truncated at every byte offset: whole packets, then a precise truncation', () => {
  const files: [Buffer, { at: number; len: number; packet: boolean }[]][] = [];
  const hb = handBuilt().ng;
  files.push([hb.bytes(), hb.blocks]);
  for (const name of ['tcpflow__test1-out-of-order.pcap', 'tcpdump__bgp-role.pcapng']) {
    const b = fs.readFileSync(fx(name));
    files.push([b, walk(b)]);
  }
  for (const [buf, blocks] of files) {
    assert.equal(blocks[blocks.length - 1].at + blocks[blocks.length - 1].len, buf.length);
    const all = readAll(tmpFile(buf), DEFAULT).recs;
    const f = tmpFile(buf);
    const biggest = Math.max(...blocks.map((b) => b.len));
    const usable = [DEFAULT, TINY, MINI].filter((r) => biggest <= r[0].input.length);
    for (let len = buf.length; len >= 0; len--) {
      fs.truncateSync(f, len);
      if (len < 4) {
        expectError(() => openCapture(f), 'INPUT_TRUNCATED', `${f}: truncated dump file; tried to read 4 file header bytes, only got ${len}`);
        continue;
      }
      if (len < 12) {
        expectError(() => openCapture(f), 'INPUT_FORMAT', `${f}: unknown file format`);
        continue;
      }
      const ring = usable[len % usable.length];
      const got = readAll(f, ring);
      const whole = blocks.filter((b) => b.at + b.len <= len);
      const packets = whole.filter((b) => b.packet).length;
      assert.equal(got.recs.length, packets, `cut at ${len}`);
      got.recs.forEach((r, i) => assert.deepEqual(r, all[i]));
      const cutBlock = blocks.find((b) => b.at < len && b.at + b.len > len);
      if (!cutBlock) assert.equal(got.truncation, null, `cut at ${len}`);
      else if (len - cutBlock.at < 12) assert.deepEqual(got.truncation, { offset: cutBlock.at, wanted: 12, got: len - cutBlock.at, what: 'block header bytes' });
      else assert.deepEqual(got.truncation, { offset: cutBlock.at, wanted: cutBlock.len, got: len - cutBlock.at, what: 'block bytes' });
    }
  }
});

test('lying blocks are INPUT_CORRUPT naming file and block offset', () => {
  const cases: [string, (ng: Ng) => number, string, Chunk[]?][] = [
    ['length not a multiple of 4', (ng) => ng.block(5, Buffer.alloc(16), { len: 29 }), 'block length 29 is not a multiple of 4 of at least 12'],
    ['length below 12', (ng) => ng.block(5, Buffer.alloc(16), { len: 8 }), 'block length 8 is not a multiple of 4 of at least 12'],
    ['trailing length differs', (ng) => ng.block(5, Buffer.alloc(16), { trailer: 32 }), 'trailing block length differs from 28'],
    ['caplen beyond the block', (ng) => ng.epb(0, 1n, payload(20, 1), [], 20, 21), 'captured length 21 exceeds the block'],
    ['undefined interface', (ng) => ng.epb(1, 1n, payload(20, 1)), 'packet for undefined interface 1'],
    ['interface of an earlier section', (ng) => { ng.shb(true); return ng.epb(0, 1n, payload(4, 1)); }, 'packet for undefined interface 0'],
    ['option past the block', (ng) => ng.idb(1, [Buffer.concat([ng.u16(9), ng.u16(40), Buffer.alloc(4)])]), 'interface option 9 runs past the end of the block'],
    ['short packet block', (ng) => ng.block(6, Buffer.alloc(12)), 'packet block length 24 < 32'],
    ['bad byte-order magic', (ng) => ng.shb(false, 1, 0x12345678), 'bad byte-order magic in section header'],
    ['block larger than the buffer', (ng) => ng.block(0xbad, Buffer.alloc(5000)), 'block length 5012 is larger than the maximum of 4096', SMALL],
  ];
  for (const [label, add, msg, ring] of cases) {
    const ng = new Ng();
    ng.shb(false);
    ng.idb(1);
    ng.epb(0, 1n, payload(30, 1));
    const at = add(ng);
    ng.epb(0, 2n, payload(30, 2));
    const f = tmpFile(ng.bytes());
    const r = openCapture(f);
    const c = (ring ?? DEFAULT)[0];
    let good = 0;
    expectError(() => { for (let i = 0; i < 1000; i++) good += r.fill(c); }, 'INPUT_CORRUPT',
      `${f}: corrupt pcapng file: ${msg} (block at byte ${at})`);
    r.close();
    assert.equal(good, 1, `${label}: the packet before the bad block is delivered`);
  }
  const spb = new Ng();
  spb.shb(true);
  const at = spb.spb(4, payload(4, 0));
  const f = tmpFile(spb.bytes());
  expectError(() => readAll(f, DEFAULT), 'INPUT_CORRUPT', `${f}: corrupt pcapng file: simple packet block before any interface (block at byte ${at})`);
});

test('section header problems', () => {
  const v2 = new Ng();
  v2.shb(false, 2);
  const f = tmpFile(v2.bytes());
  expectError(() => readAll(f, DEFAULT), 'INPUT_FORMAT', `${f}: unsupported pcapng savefile version 2.0`);
  // libpcap does not recognise a first section with a bad byte-order magic as pcapng at all.
  const bad = new Ng();
  bad.shb(false, 1, 0x01020304);
  const g = tmpFile(bad.bytes());
  expectError(() => openCapture(g), 'INPUT_FORMAT', `${g}: unknown file format`);
});

/** Deterministic pseudo-random numbers (xorshift32). */
function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return x >>> 0; };
}

test('hostile input: random bytes and mutations end with TcpflowError or a truncation', () => {
  const base = fs.readFileSync(fx('tcpflow__test1-out-of-order.pcap'));
  const seen = new Set<string>();
  for (let seed = 1; seed <= 400; seed++) {
    const rnd = rng(seed);
    let buf: Buffer;
    if (seed % 2) {
      buf = Buffer.from(base);
      const flips = 1 + (rnd() % 8);
      for (let i = 0; i < flips; i++) buf[rnd() % buf.length] = rnd() & 0xff;
    } else {
      const ng = new Ng();
      ng.shb(seed % 4 === 0);
      ng.idb(1);
      const tail = Buffer.from(Array.from({ length: rnd() % 3000 }, () => rnd() & 0xff));
      // Plausible small lengths now and then so parsing gets past the first block.
      for (let i = 4; i + 4 <= tail.length; i += 64) tail.writeUInt32BE((rnd() % 16) * 4 + 12, i);
      buf = Buffer.concat([ng.bytes(), tail]);
    }
    const f = tmpFile(buf);
    try {
      const got = readAll(f, seed % 3 ? TINY : DEFAULT);
      seen.add(got.truncation ? 'truncated' : 'clean');
    } catch (e) {
      assert.ok(e instanceof TcpflowError, String(e));
      assert.ok(['INPUT_CORRUPT', 'INPUT_FORMAT'].includes(e.code), e.message);
      assert.ok(e.message.startsWith(`${f}: `));
      seen.add(e.code);
    }
  }
  assert.ok(seen.has('INPUT_CORRUPT') && seen.has('truncated') && seen.has('clean'), [...seen].join());
});
