/**
 * Compressed inputs (src/capture/decompress.ts): the format by magic bytes; the records
 * read through each decompressor are the uncompressed file's, whatever the chunk size (a
 * decompressor that has nothing ready yet is waited for); a cut or corrupt compressed file
 * keeps the records before the damage and ends in one line naming it; the bound (ratio,
 * absolute size) stops a bomb with one line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { allocChunk } from '../../src/capture/chunk';
import { DEFAULT_MAX_DECOMPRESSED, DEFAULT_MAX_RATIO, detectCompression, sniff } from '../../src/capture/decompress';
import { openInput } from '../../src/capture/source';
import { TcpflowError } from '../../src/errors';
import { assertWellFormedXml, makeTempDir, removeDir, REPO_ROOT, runCli } from '../helpers/corpus';
import { readAll } from '../helpers/capture';
import { pcapHeader, pcapRecord } from '../helpers/pcap-write';

const ROTATED = path.join(REPO_ROOT, 'fixtures', 'rotated');
const LIMITS = { maxBytes: DEFAULT_MAX_DECOMPRESSED, maxRatio: DEFAULT_MAX_RATIO };

test('formats are told by their magic bytes', () => {
  const b = (...x: number[]) => Uint8Array.from(x);
  assert.equal(detectCompression(b(0x1f, 0x8b, 8, 0)), 'gzip');
  assert.equal(detectCompression(b(0x42, 0x5a, 0x68, 0x39)), 'bzip2');
  assert.equal(detectCompression(b(0x42, 0x5a, 0x68, 0x30)), null); // BZh0: no block size
  assert.equal(detectCompression(b(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0)), 'xz');
  assert.equal(detectCompression(b(0x28, 0xb5, 0x2f, 0xfd)), 'zstd');
  assert.equal(detectCompression(b(0xd4, 0xc3, 0xb2, 0xa1)), null); // pcap
  assert.equal(detectCompression(b(0x1f, 0x8b)), null); // too short to tell
});

/** Every record of `file` read through openInput with chunks of `bytes`, as [sec, usec, caplen, md5-ish sum]. */
async function records(file: string, bytes: number): Promise<string[]> {
  const source = await openInput(file, LIMITS);
  const chunk = allocChunk(bytes, 64);
  const out: string[] = [];
  try {
    for (let n = await source.fill(chunk); n !== null; n = await source.fill(chunk)) {
      for (let i = 0; i < n; i++) {
        const data = chunk.data.subarray(chunk.offset[i], chunk.offset[i] + chunk.caplen[i]);
        out.push(`${chunk.sec[i]}.${chunk.usec[i]} ${chunk.caplen[i]} ${Buffer.from(data).toString('base64')}`);
      }
    }
  } finally {
    source.close();
  }
  return out;
}

test('each decompressor gives the uncompressed records, with chunks large and small', async () => {
  const tmp = makeTempDir();
  try {
    const plain = path.join(ROTATED, 'jpegs.pcap9');
    const expected = readAll(plain).recs.map((r) => `${r.sec}.${r.usec} ${r.caplen} ${r.bytes.toString('base64')}`);
    assert.equal(expected.length, 40);
    const gz = path.join(tmp, 'piece'); // no suffix: the magic bytes decide
    fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(plain)));
    for (const bytes of [1 << 20, 4096]) assert.deepEqual(await records(gz, bytes), expected, `gzip, ${bytes}-byte chunks`);
    // The fixture's pieces compressed with the tools: xz, bzip2, zstd (named without .zst).
    const whole = (name: string) => readAll(path.join(ROTATED, name)).recs.length;
    assert.equal(whole('jpegs.pcap8'), 40);
    for (const name of ['jpegs.pcap3.xz', 'jpegs.pcap5.bz2', 'jpegs.pcap7']) {
      const big = await records(path.join(ROTATED, name), 1 << 20);
      assert.equal(big.length, 40, name);
      assert.deepEqual(await records(path.join(ROTATED, name), 4096), big, name);
    }
  } finally {
    removeDir(tmp);
  }
});

test('a cut or corrupt compressed capture: the records before the damage, then one line naming it (exit 1)', async () => {
  const tmp = makeTempDir();
  try {
    const plain = fs.readFileSync(path.join(ROTATED, 'jpegs.pcap9'));
    const cases: [string, Buffer][] = [
      ['cut.gz', zlib.gzipSync(plain).subarray(0, 20_000)],
      ['cut.xz', fs.readFileSync(path.join(ROTATED, 'jpegs.pcap3.xz')).subarray(0, 5000)],
      ['cut.bz2', fs.readFileSync(path.join(ROTATED, 'jpegs.pcap5.bz2')).subarray(0, 5000)],
      ['cut.zst', fs.readFileSync(path.join(ROTATED, 'jpegs.pcap7')).subarray(0, 20_000)],
    ];
    for (const [name, bytes] of cases) {
      const file = path.join(tmp, name);
      fs.writeFileSync(file, bytes);
      const out = path.join(tmp, `out-${name}`);
      const r = await runCli(['-r', file, '-o', out]);
      assert.equal(r.code, 1, `${name}: ${r.stderr}`);
      const lines = r.stderr.split('\n').filter((l) => l !== '' && !l.includes('reportfilename'));
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], new RegExp(`^tcpflow-ts: ${file}: (gzip|xz|bzip2|zstd) data corrupt or truncated after \\d+ decompressed bytes \\(.+\\); packets before it are kept$`));
      assertWellFormedXml(fs.readFileSync(path.join(out, 'report.xml')));
    }
    // The gzip cut keeps flows: more than a third of the piece decompresses before the cut.
    assert.ok(fs.readdirSync(path.join(tmp, 'out-cut.gz')).length > 1);
    // Compressed, but no capture inside.
    const text = path.join(tmp, 'notes.gz');
    fs.writeFileSync(text, zlib.gzipSync(Buffer.from('just some text, long enough to be sniffed\n')));
    const r = await runCli(['-r', text, '-o', path.join(tmp, 'o2')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`tcpflow-ts: ${text}: unknown file format inside its gzip compression`));
  } finally {
    removeDir(tmp);
  }
});

test('the decompression bound: a bomb stops at the ratio cap, a big file at the size cap, one line each', async () => {
  const tmp = makeTempDir();
  try {
    // A capture header, one real record, then 64 MiB of zeros (zero-length records forever): ~65 KB gzipped.
    const frame = Buffer.from(fs.readFileSync(path.join(ROTATED, 'jpegs.pcap9')).subarray(24 + 16, 24 + 16 + 60));
    const bomb = path.join(tmp, 'bomb.pcap.gz');
    const gz = zlib.createGzip({ level: 9 });
    const sink = fs.createWriteStream(bomb);
    gz.pipe(sink);
    gz.write(Buffer.concat([pcapHeader(), pcapRecord(frame, 1_000_000_000, 0)]));
    const zeros = Buffer.alloc(1 << 20);
    for (let i = 0; i < 64; i++) gz.write(zeros);
    gz.end();
    await new Promise<void>((resolve) => sink.on('finish', () => resolve()));
    const ratio = (64 << 20) / fs.statSync(bomb).size;
    assert.ok(ratio > 500, `test bomb ratio ${ratio}`);
    const r = await runCli(['-r', bomb, '-o', path.join(tmp, 'o1'), '-S', 'decompress_max_ratio=100'], { timeoutMs: 60_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`tcpflow-ts: ${bomb}: decompresses to more than 100 times its compressed size \\(\\d+ bytes from \\d+; -S decompress_max_ratio=100\\); a decompression bomb\\? packets before it are kept`));
    assertWellFormedXml(fs.readFileSync(path.join(tmp, 'o1', 'report.xml')));

    const piece = path.join(ROTATED, 'jpegs.pcap3.xz');
    const s = await runCli(['-r', piece, '-o', path.join(tmp, 'o2'), '-S', 'decompress_max_bytes=5000']);
    assert.equal(s.code, 1, s.stderr);
    assert.match(s.stderr, new RegExp(`tcpflow-ts: ${piece}: decompresses to more than 5000 bytes \\(-S decompress_max_bytes=5000\\); packets before it are kept`));
    // The bound is checked as a whole number like every other one.
    const bad = await runCli(['-r', piece, '-o', path.join(tmp, 'o3'), '-S', 'decompress_max_ratio=0']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /-S decompress_max_ratio: '0' is not a whole number from 1 to/);
  } finally {
    removeDir(tmp);
  }
});

test('openInput: a missing file is an INPUT_OPEN error naming it', async () => {
  await assert.rejects(openInput('/nonexistent/x.pcap.gz', LIMITS), (e: unknown) => e instanceof TcpflowError && e.code === 'INPUT_OPEN' && /nonexistent\/x\.pcap\.gz/.test(e.message));
});

test('sniff does not open a FIFO (no writer yet): null at once, the run\'s own open is the only one its writer sees', () => {
  const tmp = makeTempDir('tcpflow-ts-sniff-');
  try {
    const fifo = path.join(tmp, 'capture.fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    // In a child: opening a FIFO with no writer blocks, and the guard's kill makes that a failure, not a hang.
    const module = require.resolve('../../src/capture/decompress');
    const r = spawnSync(process.execPath, ['-e', `process.stdout.write(JSON.stringify(require(${JSON.stringify(module)}).sniff(process.argv[1])))`, fifo],
      { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.signal, null, 'sniff waited for a writer (it opened the FIFO)');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'null');
    // A regular file and a missing one as before.
    const file = path.join(tmp, 'x.pcap');
    fs.writeFileSync(file, pcapHeader(1));
    assert.deepEqual([...(sniff(file) ?? [])].slice(0, 4), [0xd4, 0xc3, 0xb2, 0xa1]);
    assert.throws(() => sniff(path.join(tmp, 'missing.pcap')), (e) => e instanceof TcpflowError && /missing\.pcap: No such file or directory/.test(e.message));
  } finally {
    removeDir(tmp);
  }
});
