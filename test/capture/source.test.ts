import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { allocChunk } from '../../src/capture/chunk';
import { memorySource, openFileSource, TruncatedInput } from '../../src/capture/source';
import { TcpflowError } from '../../src/errors';
import { LINKTYPE } from '../../src/decode/link';
import { pcapFile } from '../helpers/capture-files';
import { ether, ipv4, tcp } from '../helpers/packets';

const frame = (i: number) => ether(ipv4(tcp({ sport: 1000 + i, dport: 80, payload: 'x'.repeat(i) }), { src: '10.0.0.1', dst: '10.0.0.2' }));
const capture = (n: number) => pcapFile(Array.from({ length: n }, (_, i) => ({ frame: frame(i), sec: 1000 + i })), { linktype: LINKTYPE.EN10MB });

test('a source fills chunks until it says the input is exhausted (null), and stays so', async () => {
  const bytes = capture(20);
  const src = memorySource('mem.pcap', bytes);
  const chunk = allocChunk(1024, 8);
  const counts: number[] = [];
  for (let n = await src.fill(chunk); n !== null; n = await src.fill(chunk)) {
    assert.equal(n, chunk.count);
    counts.push(n);
  }
  assert.equal(counts.reduce((a, b) => a + b, 0), 20);
  assert.equal(await src.fill(chunk), null);
  assert.equal(src.name, 'mem.pcap');
  assert.deepEqual(src.progress, { done: bytes.length, total: bytes.length });
  assert.equal(src.firstInterface?.linktype, LINKTYPE.EN10MB);
  src.close();
});

test('a capture cut inside a record: the records before it, then a TruncatedInput naming the input', async () => {
  const whole = capture(5);
  const src = memorySource('cut.pcap', whole.subarray(0, whole.length - 7));
  const chunk = allocChunk();
  assert.equal(await src.fill(chunk), 4);
  await assert.rejects(src.fill(chunk), (e: unknown) => {
    assert.ok(e instanceof TruncatedInput && e.code === 'INPUT_TRUNCATED' && e.exitCode === 1);
    assert.match(e.message, /^cut\.pcap: truncated dump file; tried to read \d+ captured bytes, only got \d+ \(at byte \d+\); packets before it are kept$/);
    assert.equal(e.truncation?.wanted, frame(4).length);
    return true;
  });
  assert.equal(await src.fill(chunk), null);
});

test('a file that is missing or not a capture: a one-line error naming it when it is opened', () => {
  assert.throws(() => openFileSource('/nonexistent/x.pcap'),
    (e: unknown) => e instanceof TcpflowError && e.code === 'INPUT_OPEN' && e.message === '/nonexistent/x.pcap: No such file or directory');
  const tmp = fs.mkdtempSync('/tmp/tcpflow-ts-src-');
  try {
    fs.writeFileSync(`${tmp}/x.txt`, 'not a capture at all');
    assert.throws(() => openFileSource(`${tmp}/x.txt`),
      (e: unknown) => e instanceof TcpflowError && e.code === 'INPUT_FORMAT' && e.message === `${tmp}/x.txt: unknown file format`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

/**
 * The coordinator's way of reading (src/shard/coordinator.ts): a ring of chunks, each
 * fill given the chunk to read into ahead, sometimes none, sometimes another than the
 * one read into.
 */
async function readRing(path: string, size: number, ring: ReturnType<typeof allocChunk>[], skipAheadEvery: number) {
  for (const c of ring) c.input = c.data.subarray(0, size);
  const src = openFileSource(path);
  const recs: { sec: number; bytes: Buffer }[] = [];
  let error: unknown = null;
  let at = 0;
  try {
    for (let round = 1; ; round++) {
      const chunk = ring[at % ring.length];
      const skip = round % skipAheadEvery === 0;
      // Every third round after a skipped one fills another chunk than the one read into.
      const next = skip ? undefined : ring[(at + 1) % ring.length];
      const n = await src.fill(chunk, next);
      if (n === null) break;
      for (let i = 0; i < n; i++) recs.push({ sec: chunk.sec[i], bytes: Buffer.from(chunk.data.subarray(chunk.offset[i], chunk.offset[i] + chunk.caplen[i])) });
      // Scribbled over, as workers never do: the next fill must not depend on it.
      chunk.data.fill(0xee, 0, size);
      at += skip && round % 3 === 0 ? 2 : 1;
    }
  } catch (e) {
    error = e;
  } finally {
    await src.settle?.();
    src.close();
  }
  return { recs, error };
}

test('reading ahead from a file: the same records at every chunk size (a boundary at every byte of a record), a truncation after them', async () => {
  const n = 40;
  const bytes = capture(n);
  const frames = Array.from({ length: n }, (_, i) => frame(i));
  const tmp = fs.mkdtempSync('/tmp/tcpflow-ts-ahead-');
  const ring = [allocChunk(512, 64), allocChunk(512, 64), allocChunk(512, 64)];
  try {
    const whole = `${tmp}/whole.pcap`, cut = `${tmp}/cut.pcap`;
    fs.writeFileSync(whole, bytes);
    fs.writeFileSync(cut, bytes.subarray(0, bytes.length - 9));
    // Records are 16 + 54..93 bytes (a chunk holds caplen + 64 at least): sizes from one
    // record to several put a boundary at every offset.
    for (let size = 160; size <= 512; size++) {
      const got = await readRing(whole, size, ring, 2 + (size % 5));
      assert.equal(got.error, null, `size ${size}`);
      assert.deepEqual(got.recs.map((r) => r.sec), frames.map((_, i) => 1000 + i), `size ${size}`);
      got.recs.forEach((r, i) => assert.ok(r.bytes.equals(frames[i]), `size ${size}, record ${i}`));
      const short = await readRing(cut, size, ring, 3);
      assert.equal(short.recs.length, n - 1, `size ${size}`);
      assert.ok(short.error instanceof TruncatedInput && short.error.truncation?.wanted === frames[n - 1].length);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('reading ahead lands in the chunk given as next: settle() waits for it', async () => {
  const bytes = capture(30);
  const tmp = fs.mkdtempSync('/tmp/tcpflow-ts-ahead-');
  try {
    fs.writeFileSync(`${tmp}/x.pcap`, bytes);
    const src = openFileSource(`${tmp}/x.pcap`);
    const [a, b] = [allocChunk(1024, 64), allocChunk(1024, 64)];
    const n = await src.fill(a, b) as number;
    const consumed = a.offset[n - 1] + a.caplen[n - 1];
    await src.settle?.();
    // The next chunk already holds the bytes after the first chunk's, past room for the
    // record cut between them (a quarter of a small chunk), which the next fill puts there.
    const room = 1024 / 4;
    assert.ok(Buffer.from(b.input.subarray(room, room + 200)).equals(Buffer.from(bytes.subarray(24 + 1024, 24 + 1024 + 200))));
    const m = await src.fill(b) as number;
    assert.ok(m > 0 && b.offset[0] - 16 === room - (1024 - consumed), 'the cut record just before the bytes read ahead');
    assert.ok(Buffer.from(b.data.subarray(b.offset[0] - 16, b.offset[0] + b.caplen[0])).equals(Buffer.from(bytes.subarray(24 + consumed, 24 + consumed + 16 + b.caplen[0]))));
    src.close();
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
