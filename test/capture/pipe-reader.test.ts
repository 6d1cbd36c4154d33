/**
 * Pipes read ahead on a thread of their own (src/capture/pipe-reader.ts): the bytes of a
 * FIFO land in shared memory whole and in order; a read in flight when the reader closes
 * settles; a capture read through a shell's pipe (stdin) or a named FIFO (-r FIFO) gives
 * the records, files and report the file gives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { PipeReader } from '../../src/capture/pipe-reader';
import { makeTempDir, removeDir, runCli } from '../helpers/corpus';
import { fx, readAll } from '../helpers/capture';
import { bulkCapture, BULK_RECORD } from '../helpers/pcap-write';
import { runOutcome } from '../helpers/outcome';

/** A named FIFO in `dir` with `sh -c script` writing into it; the FIFO opened for reading. */
function fifoFrom(dir: string, script: string): { fd: number; writer: Promise<number | null> } {
  const fifo = path.join(dir, `fifo${Math.random().toString(36).slice(2)}`);
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
  const child = spawn('sh', ['-c', `${script} > "$1"`, 'sh', fifo], { stdio: 'ignore' });
  const writer = new Promise<number | null>((resolve) => child.on('close', resolve));
  // Blocks until the writer has opened its end.
  return { fd: fs.openSync(fifo, 'r'), writer };
}

test('PipeReader: a FIFO\'s bytes, whole and in order, into shared memory at any offset; the end of input reads 0', async () => {
  const tmp = makeTempDir('tcpflow-ts-pipe-');
  try {
    const file = fx('tcpflow__jpegs.cap');
    const want = fs.readFileSync(file);
    const { fd, writer } = fifoFrom(tmp, `cat "${file}"`);
    const reader = new PipeReader(fd);
    const shared = new Uint8Array(new SharedArrayBuffer(want.length + 4096));
    // A view that starts inside its buffer: offsets are the view's.
    const view = shared.subarray(100);
    let got = 0;
    for (let len = 1; ; len = Math.min(len * 7, 100_000)) {
      const n = await reader.read(view, got, Math.min(len, view.length - got));
      if (n === 0) break;
      got += n;
    }
    await reader.close();
    fs.closeSync(fd);
    assert.equal(await writer, 0);
    assert.equal(got, want.length);
    assert.ok(Buffer.from(view.subarray(0, got)).equals(want));
  } finally {
    removeDir(tmp);
  }
});

test('PipeReader: close() settles a read in flight as the end of input, and itself once the thread has stopped', async () => {
  const tmp = makeTempDir('tcpflow-ts-pipe-');
  try {
    // The writer writes nothing for a while: the thread waits in its read.
    const { fd, writer } = fifoFrom(tmp, `sleep 0.5; cat "${fx('tcpflow__jpegs.cap')}"`);
    const reader = new PipeReader(fd);
    const read = reader.read(new Uint8Array(new SharedArrayBuffer(1 << 20)), 0, 1 << 20);
    const closed = reader.close();
    assert.equal(await read, 0);
    await closed;
    fs.closeSync(fd);
    // The writer's pipe lost its reader: it ends (a broken pipe), whatever its status.
    await writer;
  } finally {
    removeDir(tmp);
  }
});

test('a capture larger than a chunk through a shell\'s pipe (stdin) and a named FIFO (-r FIFO): the records, files and report of the file', async () => {
  const tmp = makeTempDir('tcpflow-ts-pipe-');
  try {
    const big = path.join(tmp, 'big.pcap');
    // ~10 MB: the first fill reads its chunk here, the next ones come from the thread.
    bulkCapture(big, Math.ceil((10 << 20) / BULK_RECORD));
    // The reader itself, with small chunks: many reads ahead.
    const script = `
      (async () => {
        const { openCapture } = require(${JSON.stringify(path.join(__dirname, '../../src/capture/reader.js'))});
        const { allocChunk } = require(${JSON.stringify(path.join(__dirname, '../../src/capture/chunk.js'))});
        const crypto = require('node:crypto');
        const r = openCapture('-'); const c = [allocChunk(64 << 10, 1024), allocChunk(64 << 10, 1024)];
        const h = crypto.createHash('md5');
        let n = 0, k, at = 0;
        for (;;) {
          await r.ready();
          const chunk = c[at & 1], next = c[(at + 1) & 1];
          k = r.fill(chunk, next);
          for (let m = r.more(); k === 0 && m !== null; m = r.more()) { await m; k = r.fill(chunk, next); }
          if (k === 0) break;
          for (let i = 0; i < k; i++) h.update(chunk.data.subarray(chunk.offset[i], chunk.offset[i] + chunk.caplen[i]));
          n += k; at++;
        }
        r.close();
        console.log(JSON.stringify({ n, md5: h.digest('hex'), read: r.bytesRead, t: r.truncation }));
      })();`;
    const piped = spawnSync('sh', ['-c', 'cat "$1" | "$2" -e "$3"', 'sh', big, process.execPath, script], { encoding: 'utf8' });
    assert.equal(piped.status, 0, piped.stderr);
    const recs = readAll(big).recs;
    const md5 = (await import('node:crypto')).createHash('md5');
    for (const r of recs) md5.update(r.bytes);
    assert.deepEqual(JSON.parse(piped.stdout), { n: recs.length, md5: md5.digest('hex'), read: fs.statSync(big).size, t: null });

    // The whole run: stdin through a pipe, and a FIFO named with -r, as the file.
    const want = await runOutcome(big, []);
    const fileobjects = (x: string) => (x.match(/<fileobject>[\s\S]*?<\/fileobject>/g) ?? []).join('');
    const check = (dir: string, what: string) => {
      const report = fs.readFileSync(path.join(dir, 'out', 'report.xml'), 'latin1');
      assert.equal(fileobjects(report.slice(report.indexOf('<configuration>', report.indexOf('<tdelta>')))), fileobjects(want.records), what);
      const files = fs.readdirSync(path.join(dir, 'out')).filter((f) => f !== 'report.xml').map((f) => {
        const p = path.join(dir, 'out', f);
        return `${f} ${fs.statSync(p).size}`;
      }).sort();
      assert.deepEqual(files, want.files.map((f) => f.split(' ').slice(0, 2).join(' ')).sort(), what);
    };
    const stdinDir = path.join(tmp, 'stdin');
    fs.mkdirSync(stdinDir);
    const r = await runCli(['-r', '-', '-o', 'out'], { cwd: stdinDir, stdin: { file: big, pipe: true } });
    assert.equal(r.code, 0, r.stderr);
    check(stdinDir, 'stdin');
    const fifoDir = path.join(tmp, 'fifo');
    fs.mkdirSync(fifoDir);
    const fifo = path.join(tmp, 'capture.fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const writer = spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', big, fifo], { stdio: 'ignore' });
    const written = new Promise((resolve) => writer.on('close', resolve));
    const f = await runCli(['-r', fifo, '-o', 'out'], { cwd: fifoDir });
    assert.equal(await written, 0);
    assert.equal(f.code, 0, f.stderr);
    check(fifoDir, '-r FIFO');
  } finally {
    removeDir(tmp);
  }
});

test('a corrupt record after the first chunk through a pipe: the records before it, its error, exit 1, and the run ends', async () => {
  const tmp = makeTempDir('tcpflow-ts-pipe-');
  try {
    const big = path.join(tmp, 'big.pcap');
    const packets = Math.ceil((10 << 20) / BULK_RECORD);
    bulkCapture(big, packets);
    // Record k's captured length made absurd, well past the first chunk.
    const k = packets - 100;
    const bytes = fs.readFileSync(big);
    bytes.writeUInt32LE(0x7fffffff, 24 + k * BULK_RECORD + 8);
    fs.writeFileSync(big, bytes);
    const dir = path.join(tmp, 'o');
    fs.mkdirSync(dir);
    const r = await runCli(['-r', '-', '-o', 'out'], { cwd: dir, stdin: { file: big, pipe: true } });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`-: invalid packet capture length 2147483647, bigger than maximum of \\d+ \\(record at byte ${24 + k * BULK_RECORD}\\)`));
    const report = fs.readFileSync(path.join(dir, 'out', 'report.xml'), 'latin1');
    assert.match(report, new RegExp(`<total_packets>${k}</total_packets>`));
  } finally {
    removeDir(tmp);
  }
});
