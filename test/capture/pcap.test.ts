import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { openCapture } from '../../src/capture/reader';
import { allocChunk } from '../../src/capture/chunk';
import { TcpflowError } from '../../src/errors';
import { expectError, FIX, fx, readAll } from '../helpers/capture';


interface ParserPacket { header: { timestampSeconds: number; timestampMicroseconds: number; capturedLength: number; originalLength: number }; data: Buffer }
interface PcapParserModule { parse(input: string): NodeJS.EventEmitter }
// eslint-disable-next-line @typescript-eslint/no-var-requires
const pcapParser = require('pcap-parser') as PcapParserModule;

function oracle(file: string): Promise<ParserPacket[]> {
  return new Promise((resolve, reject) => {
    const out: ParserPacket[] = [];
    const p = pcapParser.parse(file);
    p.on('packet', (pkt: ParserPacket) => out.push({ header: pkt.header, data: Buffer.from(pkt.data) }));
    p.on('error', reject);
    p.on('end', () => resolve(out));
  });
}

const SMALL = () => [allocChunk(4096, 64), allocChunk(4096, 64)];
const TINY = () => [allocChunk(1600, 3), allocChunk(1600, 3)];

for (const name of ['tcpflow__test1.pcap', 'tcpdump__pptp.pcap', 'tcpflow__jpegs.cap']) {
  test(`${name}: same records as pcap-parser`, async () => {
    const want = await oracle(fx(name));
    assert.ok(want.length > 0);
    for (const [label, ring] of [['default', undefined], ['4096/64', SMALL()], ['1600/3', TINY()]] as const) {
      const got = readAll(fx(name), ring ? [...ring] : undefined);
      assert.equal(got.format, 'pcap');
      assert.equal(got.truncation, null);
      assert.equal(got.recs.length, want.length, label);
      if (label === '1600/3') assert.ok(got.fills > 1, 'records carried over several fills');
      got.recs.forEach((r, i) => {
        const h = want[i].header;
        assert.equal(r.caplen, h.capturedLength, `${label} #${i}`);
        assert.equal(r.origlen, h.originalLength, `${label} #${i}`);
        assert.equal(r.sec, h.timestampSeconds, `${label} #${i}`);
        assert.equal(r.usec, h.timestampMicroseconds, `${label} #${i}`);
        assert.equal(r.linktype, 1);
        assert.ok(r.bytes.equals(want[i].data), `${label} #${i} bytes`);
      });
    }
  });
}

test('nanosecond pcap (LE): truncated to the µs of the original', () => {
  const us = readAll(fx('tcpreplay__test.pcap'));
  const ns = readAll(fx('derived__tcpreplay__test__nsec.pcap'), SMALL());
  assert.equal(ns.recs.length, us.recs.length);
  assert.ok(us.recs.length > 50);
  ns.recs.forEach((r, i) => {
    const u = us.recs[i];
    assert.deepEqual([r.sec, r.usec, r.caplen, r.origlen, r.linktype], [u.sec, u.usec, u.caplen, u.origlen, u.linktype], `#${i}`);
    assert.ok(r.bytes.equals(u.bytes));
  });
});

test('nanosecond pcap (BE): times truncated, not rounded (tshark record)', () => {
  const rows = fs.readFileSync(fx('tshark/pcapplusplus__nanosecs_big_endian.pcap.tsv'), 'utf8').trim().split('\n').map((l) => l.split('\t'));
  const got = readAll(fx('pcapplusplus__nanosecs_big_endian.pcap'));
  assert.equal(got.recs.length, rows.length);
  let rounded = 0;
  got.recs.forEach((r, i) => {
    const [len, cap, epoch] = rows[i];
    const [s, frac] = epoch.split('.');
    assert.deepEqual([r.origlen, r.caplen, r.sec, r.usec], [Number(len), Number(cap), Number(s), Number(frac.slice(0, 6))], `#${i}`);
    if (Number(frac[6]) >= 5) rounded++;
  });
  assert.ok(rounded > 0, 'capture has ns digits that rounding would change');
});

test('file cut inside a record: whole records kept, truncation reported', () => {
  const full = readAll(fx('tcpreplay__test.pcap')).recs;
  const cut = readAll(fx('derived__tcpreplay__test__cut.pcap'), SMALL());
  assert.equal(cut.recs.length, 84);
  cut.recs.forEach((r, i) => assert.ok(r.bytes.equals(full[i].bytes)));
  const offset = 24 + full.slice(0, 84).reduce((a, r) => a + 16 + r.caplen, 0);
  assert.deepEqual(cut.truncation, { offset, wanted: 1514, got: 757, what: 'captured bytes' });
  assert.equal(offset, 38741);
  assert.equal(fs.statSync(fx('derived__tcpreplay__test__cut.pcap')).size, offset + 16 + 757);
});

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpflow-ts-pcap-'));
let tmpCount = 0;
process.on('exit', () => fs.rmSync(TMP, { recursive: true, force: true }));

/** A new file each time: rewriting one file is slow on some file systems. */
function tmpFile(bytes: Uint8Array): string {
  const f = path.join(TMP, `x${tmpCount++}.pcap`);
  fs.writeFileSync(f, bytes);
  return f;
}


test('truncated at every byte offset: whole records, then a precise truncation', () => {
  const src = fs.readFileSync(fx('tcpflow__test1.pcap'));
  const full = readAll(fx('tcpflow__test1.pcap')).recs;
  const starts: number[] = [];
  let at = 24;
  for (const r of full) { starts.push(at); at += 16 + r.caplen; }
  assert.equal(at, src.length);
  const f = tmpFile(src);
  const rings = [[allocChunk(), allocChunk()], SMALL(), TINY()];
  for (let len = src.length; len >= 0; len--) {
    fs.truncateSync(f, len);
    if (len < 24) {
      const e = expectError(() => readAll(f, rings[0]), 'INPUT_TRUNCATED');
      assert.equal(e.message, len < 4
        ? `${f}: truncated dump file; tried to read 4 file header bytes, only got ${len}`
        : `${f}: truncated dump file; tried to read 24 file header bytes, only got ${len - 4}`);
      continue;
    }
    const got = readAll(f, rings[len % rings.length]);
    const whole = starts.filter((s, i) => s + 16 + full[i].caplen <= len).length;
    assert.equal(got.recs.length, whole, `cut at ${len}`);
    const next = whole < starts.length ? starts[whole] : src.length;
    if (len === next) {
      assert.equal(got.truncation, null, `cut at ${len}`);
    } else if (len - next < 16) {
      assert.deepEqual(got.truncation, { offset: next, wanted: 16, got: len - next, what: 'header bytes' });
    } else {
      assert.deepEqual(got.truncation, { offset: next, wanted: full[whole].caplen, got: len - next - 16, what: 'captured bytes' });
    }
  }
});

/** Deterministic pseudo-random bytes (xorshift32). */
function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed | 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

test('hostile input: random bytes after a valid header end cleanly', () => {
  const header = fs.readFileSync(fx('tcpflow__test1.pcap')).subarray(0, 24);
  const outcomes = new Set<string>();
  const big = [allocChunk(), allocChunk()];
  const small = SMALL();
  for (let seed = 1; seed <= 300; seed++) {
    const body = randomBytes(seed * 37 % 20000, seed);
    // Some cases with small plausible lengths so that parsing goes on for a while.
    if (seed % 3 === 0) for (let i = 8; i + 4 <= body.length; i += 97) { body[i + 2] = 0; body[i + 3] = 0; }
    const f = tmpFile(Buffer.concat([header, body]));
    try {
      const got = readAll(f, seed % 2 ? small : big);
      outcomes.add(got.truncation ? 'truncated' : 'clean');
    } catch (e) {
      assert.ok(e instanceof TcpflowError, String(e));
      assert.equal(e.code, 'INPUT_CORRUPT');
      assert.match(e.message, /^.*x\d+\.pcap: invalid packet capture length \d+, bigger than maximum of \d+ \(record at byte \d+\)$/);
      outcomes.add('corrupt');
    }
  }
  assert.ok(outcomes.has('corrupt') && outcomes.has('truncated'));
});

test('lying record lengths are INPUT_CORRUPT naming file and offset', () => {
  const src = fs.readFileSync(fx('tcpflow__test1.pcap'));
  const bad = Buffer.from(src);
  bad.writeUInt32LE(0xffffffff, 24 + 8);  // first record's caplen
  const f = tmpFile(bad);
  expectError(() => readAll(f), 'INPUT_CORRUPT',
    `${f}: invalid packet capture length 4294967295, bigger than maximum of ${4 * 1024 * 1024 - 64} (record at byte 24)`);
  // Larger than the chunk buffer but sane: still refused rather than looping.
  bad.writeUInt32LE(5000, 24 + 8);
  fs.writeFileSync(f, bad);
  expectError(() => readAll(f, SMALL()), 'INPUT_CORRUPT',
    `${f}: invalid packet capture length 5000, bigger than maximum of 4032 (record at byte 24)`);
  // Deep in the file, many fills in: the offset is still the record's file offset.
  const jpegs = Buffer.from(fs.readFileSync(fx('tcpflow__jpegs.cap')));
  let at = 24;
  for (let i = 0; i < 300; i++) at += 16 + jpegs.readUInt32LE(at + 8);
  jpegs.writeUInt32LE(300000000, at + 8);
  const g = tmpFile(jpegs);
  // The 300 good records come first, then the error, which then sticks.
  const r = openCapture(g);
  const c = allocChunk(4096, 64);
  let good = 0;
  const e = expectError(() => { for (let i = 0; i < 1000; i++) good += r.fill(c); }, 'INPUT_CORRUPT');
  assert.equal(good, 300);
  assert.equal(expectError(() => r.fill(c), 'INPUT_CORRUPT'), e);
  r.close();
  expectError(() => readAll(g, SMALL()), 'INPUT_CORRUPT',
    `${g}: invalid packet capture length 300000000, bigger than maximum of 4032 (record at byte ${at})`);
  expectError(() => readAll(g), 'INPUT_CORRUPT',
    `${g}: invalid packet capture length 300000000, bigger than maximum of ${4 * 1024 * 1024 - 64} (record at byte ${at})`);
});

test('errors: missing, directory, empty, short header, not a capture, random bytes', () => {
  expectError(() => openCapture(fx('no-such.pcap')), 'INPUT_OPEN', `${fx('no-such.pcap')}: No such file or directory`);
  expectError(() => openCapture(FIX), 'INPUT_OPEN', `${FIX}: Is a directory`);
  const empty = tmpFile(new Uint8Array(0));
  expectError(() => openCapture(empty), 'INPUT_TRUNCATED', `${empty}: truncated dump file; tried to read 4 file header bytes, only got 0`);
  const short = tmpFile(fs.readFileSync(fx('tcpflow__test1.pcap')).subarray(0, 10));
  expectError(() => openCapture(short), 'INPUT_TRUNCATED', `${short}: truncated dump file; tried to read 24 file header bytes, only got 6`);
  const sec = fx('tcpreplay__test.secondary');
  expectError(() => openCapture(sec), 'INPUT_FORMAT', `${sec}: unknown file format`);
  const rnd = tmpFile(randomBytes(5000, 42));
  expectError(() => openCapture(rnd), 'INPUT_FORMAT', `${rnd}: unknown file format`);
  if (process.getuid && process.getuid() !== 0) {
    const locked = tmpFile(new Uint8Array(24));
    fs.chmodSync(locked, 0);
    expectError(() => openCapture(locked), 'INPUT_OPEN', `${locked}: Permission denied`);
  }
});

test('header-only capture: no records, no truncation', () => {
  const got = readAll(fx('tcpdump__empty.pcap'));
  assert.deepEqual([got.format, got.recs.length, got.truncation], ['pcap', 0, null]);
});

test('big-endian µs and ns magics and link type FCS bits', () => {
  // Rewrite test1 as big-endian nanosecond with FCS bits set in the link type field.
  const le = fs.readFileSync(fx('tcpflow__test1.pcap'));
  const want = readAll(fx('tcpflow__test1.pcap')).recs;
  const be = Buffer.from(le);
  be.writeUInt32BE(0xa1b23c4d, 0);
  be.writeUInt16BE(le.readUInt16LE(4), 4);
  be.writeUInt16BE(le.readUInt16LE(6), 6);
  for (const o of [8, 12, 16]) be.writeUInt32BE(le.readUInt32LE(o), o);
  be.writeUInt32BE(0x14000001, 20);   // FCS present, 4 bytes; LINKTYPE_ETHERNET
  for (let at = 24; at < le.length;) {
    const caplen = le.readUInt32LE(at + 8);
    be.writeUInt32BE(le.readUInt32LE(at), at);
    be.writeUInt32BE(le.readUInt32LE(at + 4) * 1000 + 999, at + 4);
    be.writeUInt32BE(caplen, at + 8);
    be.writeUInt32BE(le.readUInt32LE(at + 12), at + 12);
    at += 16 + caplen;
  }
  const got = readAll(tmpFile(be), TINY());
  assert.equal(got.recs.length, want.length);
  got.recs.forEach((r, i) => assert.deepEqual(r, want[i]));
});

test("stdin ('-') reads through a pipe", () => {
  const reader = path.join(__dirname, '../../src/capture/reader.js');
  const chunk = path.join(__dirname, '../../src/capture/chunk.js');
  const script = `
    (async () => {
      const { openPipeCapture } = require(${JSON.stringify(reader)});
      const { allocChunk } = require(${JSON.stringify(chunk)});
      // Read as it comes (PipeInput): a fill with nothing whole yet waits with more().
      const r = await openPipeCapture('-'); const c = allocChunk(4096, 64);
      let n = 0, k, bytes = 0;
      for (;;) {
        k = r.fill(c);
        for (let m = r.more(); k === 0 && m !== null; m = r.more()) { await m; k = r.fill(c); }
        if (k === 0) break;
        n += k; for (let i = 0; i < k; i++) bytes += c.caplen[i];
      }
      console.log(JSON.stringify({ path: r.path, n, bytes, t: r.truncation }));
    })();`;
  const input = fs.readFileSync(fx('tcpflow__jpegs.cap'));
  const res = spawnSync(process.execPath, ['-e', script], { input, encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  const want = readAll(fx('tcpflow__jpegs.cap')).recs;
  assert.deepEqual(JSON.parse(res.stdout), { path: '-', n: want.length, bytes: want.reduce((a, r) => a + r.caplen, 0), t: null });
});

test("stdin ('-') looked at first (peekStdin): the reading of '-' gets those bytes first, through a pipe and from a file", () => {
  const reader = path.join(__dirname, '../../src/capture/reader.js');
  const chunk = path.join(__dirname, '../../src/capture/chunk.js');
  const want = readAll(fx('tcpflow__jpegs.cap')).recs;
  const bytes = want.reduce((a, r) => a + r.caplen, 0);
  for (const peek of [4, 1000, 1 << 20]) {
    // Async fills with a chunk to read ahead into: a file's reads go on in the background after the head.
    const script = `
      (async () => {
        const { openCapture, peekStdin } = require(${JSON.stringify(reader)});
        const { allocChunk } = require(${JSON.stringify(chunk)});
        const head = await peekStdin(${peek});
        if ((await peekStdin(1)) !== head) throw new Error('a second look reads again');
        const r = openCapture('-'); const c = [allocChunk(4096, 64), allocChunk(4096, 64)];
        let n = 0, k, bytes = 0, at = 0;
        for (;;) {
          await r.ready();
          k = r.fill(c[at & 1], c[(at + 1) & 1]);
          for (let m = r.more(); k === 0 && m !== null; m = r.more()) { await m; k = r.fill(c[at & 1], c[(at + 1) & 1]); }
          if (k === 0) break;
          n += k; for (let i = 0; i < k; i++) bytes += c[at & 1].caplen[i];
          at++;
        }
        console.log(JSON.stringify({ head: head.length, n, bytes, t: r.truncation, read: r.bytesRead }));
      })();`;
    const size = fs.statSync(fx('tcpflow__jpegs.cap')).size;
    const expected = { head: Math.min(peek, size), n: want.length, bytes, t: null, read: size };
    const piped = spawnSync(process.execPath, ['-e', script], { input: fs.readFileSync(fx('tcpflow__jpegs.cap')), encoding: 'utf8' });
    assert.equal(piped.status, 0, piped.stderr);
    assert.deepEqual(JSON.parse(piped.stdout), expected, `pipe, ${peek}`);
    const fd = fs.openSync(fx('tcpflow__jpegs.cap'), 'r');
    try {
      const file = spawnSync(process.execPath, ['-e', script], { stdio: [fd, 'pipe', 'pipe'], encoding: 'utf8' });
      assert.equal(file.status, 0, file.stderr);
      assert.deepEqual(JSON.parse(file.stdout), expected, `file, ${peek}`);
    } finally {
      fs.closeSync(fd);
    }
  }
});

test('a file truncated while being read: shrankFrom says so, at a record boundary too', () => {
  const src = fs.readFileSync(fx('tcpflow__jpegs.cap'));
  const full = readAll(fx('tcpflow__jpegs.cap')).recs;
  const starts: number[] = [];
  for (let at = 24, i = 0; i < full.length; at += 16 + full[i].caplen, i++) starts.push(at);
  assert.equal(readAll(fx('tcpflow__jpegs.cap')).truncation, null);
  // Small chunks: the file is cut after the first fill, at record k's start or inside it.
  for (const [k, inside] of [[200, 0], [200, 30], [300, 7], [starts.length - 1, 0]]) {
    const f = tmpFile(src);
    const r = openCapture(f);
    try {
      const c = allocChunk(16 * 1024, 64);
      let records = r.fill(c);
      assert.ok(records > 0 && r.bytesRead < starts[k]);
      fs.truncateSync(f, starts[k] + inside);
      for (let m = r.fill(c); m > 0; m = r.fill(c)) records += m;
      assert.equal(records, k, 'the records before the cut');
      assert.equal(r.shrankFrom, src.length, `cut at record ${k} + ${inside}`);
      assert.equal(r.bytesRead, starts[k] + inside);
      assert.equal(r.truncation === null, inside === 0);
    } finally {
      r.close();
    }
  }
  // Read to its end: nothing to say.
  const r = openCapture(tmpFile(src));
  const c = allocChunk();
  while (r.fill(c) > 0) { /* all of it */ }
  assert.equal(r.shrankFrom, null);
  r.close();
});
