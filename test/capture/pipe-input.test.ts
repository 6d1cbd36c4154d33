/**
 * Pipes read by a thread of their own into a ring of shared memory (src/capture/pipe-input.ts):
 * the bytes of a FIFO come out whole and in order, across the ring's end, with a writer
 * faster and slower than the reader; a look ahead (peek) takes nothing; a wait is cut short
 * by interrupt() and by the peek's time limit; close() does not wait for a thread blocked in
 * its read. A capture read through a shell's pipe (stdin) or a named FIFO (-r FIFO) gives
 * the records, files and report the file gives; a run reading a pipe whose writer neither
 * writes nor closes stops at once on SIGINT and SIGTERM, with its report complete.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { PipeInput } from '../../src/capture/pipe-input';
import { NOT_YET } from '../../src/capture/reader';
import { childEnv, CLI, makeTempDir, PCAP_DIR, removeDir, runCli } from '../helpers/corpus';
import { fx, readAll } from '../helpers/capture';
import { bulkCapture, BULK_RECORD } from '../helpers/pcap-write';
import { runOutcome } from '../helpers/outcome';

/** A named FIFO in `dir` with `sh -c script` writing into it; the FIFO opened for reading. */
function fifoFrom(dir: string, script: string): { fd: number; writer: Promise<number | null>; kill: () => void } {
  const fifo = path.join(dir, `fifo${Math.random().toString(36).slice(2)}`);
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
  const child = spawn('sh', ['-c', `{ ${script}; } > "$1"`, 'sh', fifo], { stdio: 'ignore', detached: true });
  const writer = new Promise<number | null>((resolve) => child.on('close', resolve));
  // Blocks until the writer has opened its end.
  return { fd: fs.openSync(fifo, 'r'), writer, kill: () => { try { process.kill(-(child.pid as number), 'SIGKILL'); } catch { /* gone */ } } };
}

/** Everything `input` gives, in reads of varying length (waiting with more() on NOT_YET). */
async function drain(input: PipeInput, max: number): Promise<Buffer> {
  const out = Buffer.alloc(max);
  let got = 0;
  for (let len = 1; ; len = len * 7 % 99_991 + 1) {
    const n = input.read(out, got, Math.min(len, max - got));
    if (n === NOT_YET) { await input.more(); continue; }
    if (n === 0) break;
    got += n;
  }
  return out.subarray(0, got);
}

test('PipeInput: a FIFO\'s bytes whole and in order, across the ring\'s end, the writer ahead of the reader or behind it; the end reads 0', async () => {
  const tmp = makeTempDir('tcpflow-ts-pipe-');
  try {
    const file = fx('tcpflow__jpegs.cap');
    const want = fs.readFileSync(file);
    // A ring of 4 KiB: it wraps hundreds of times, and the thread waits for room.
    const fast = fifoFrom(tmp, `cat "${file}"`);
    const a = new PipeInput('fifo', fast.fd, true, 4096);
    assert.ok((await drain(a, want.length + 4096)).equals(want));
    a.close();
    assert.equal(await fast.writer, 0);
    // A writer in small pieces with pauses: the reader waits for them.
    const slow = fifoFrom(tmp, `for i in 1 2 3 4 5; do dd if="${file}" bs=1000 skip=$((i - 1)) count=1 2>/dev/null; sleep 0.05; done`);
    const b = new PipeInput('fifo', slow.fd, true, 1024);
    assert.ok((await drain(b, 10_000)).equals(want.subarray(0, 5000)));
    b.close();
  } finally {
    removeDir(tmp);
  }
});

test('PipeInput: peek() looks without taking, up to its time limit; interrupt() ends a wait for a quiet writer; close() does not wait for the thread', async () => {
  const tmp = makeTempDir('tcpflow-ts-pipe-');
  const file = fx('tcpflow__jpegs.cap');
  const want = fs.readFileSync(file);
  // 3,000 bytes, then nothing for a minute (the writer keeps its end open).
  const quiet = fifoFrom(tmp, `head -c 3000 "${file}"; sleep 60`);
  try {
    const p = new PipeInput('fifo', quiet.fd, true);
    const t0 = Date.now();
    const head = await p.peek(1 << 20, 300);
    assert.ok(Date.now() - t0 >= 250, 'the look waited for its time limit');
    assert.ok(head.length > 0 && head.length <= 3000);
    assert.ok(Buffer.from(head).equals(want.subarray(0, head.length)));
    // Taken afterwards, from the start.
    const dst = Buffer.alloc(3000);
    let got = 0;
    while (got < 3000) {
      const n = p.read(dst, got, 3000 - got);
      if (n === NOT_YET) await p.more();
      else got += n;
    }
    assert.ok(dst.equals(want.subarray(0, 3000)));
    assert.equal(p.read(dst, 0, 1), NOT_YET);
    // Nothing more comes: the wait ends with interrupt(), and every later one at once.
    const waiting = p.more();
    setTimeout(() => p.interrupt(), 50);
    await waiting;
    await p.more();
    assert.equal(p.read(dst, 0, 1), NOT_YET);
    // The thread is blocked in its read: close() comes back at once all the same.
    const t1 = Date.now();
    p.close();
    assert.ok(Date.now() - t1 < 1000);
  } finally {
    quiet.kill();
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
        const { openPipeCapture } = require(${JSON.stringify(path.join(__dirname, '../../src/capture/reader.js'))});
        const { allocChunk } = require(${JSON.stringify(path.join(__dirname, '../../src/capture/chunk.js'))});
        const crypto = require('node:crypto');
        const r = await openPipeCapture('-'); const c = [allocChunk(64 << 10, 1024), allocChunk(64 << 10, 1024)];
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

/**
 * The CLI run in `dir` with `args`, sent `signal` once `ready()` holds (looked at every 100
 * ms, for at most 30 s): its exit status and messages. `stdin`: bytes its standard input (a
 * pipe) gets before the writer goes quiet, keeping its end open; null: no standard input.
 * Before PipeInput such a run waited in its read until the writer wrote or closed, and the
 * signal's handler with it.
 */
async function signalledRun(args: string[], dir: string, stdin: Buffer | null, ready: () => boolean, signal: NodeJS.Signals):
  Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, env: childEnv(), stdio: [stdin === null ? 'ignore' : 'pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  if (stdin !== null) child.stdin?.write(stdin);
  try {
    for (const until = Date.now() + 30_000; !ready() && Date.now() < until;) await new Promise((r) => setTimeout(r, 100));
    if (!ready()) {
      child.kill('SIGKILL');
      assert.fail(`not ready to be signalled after 30 s (${stderr})`);
    }
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await closed;
    clearTimeout(timer);
    return { code, stderr };
  } finally {
    child.stdin?.destroy();
  }
}

/** The run's flow files in `out` are all there (`files`) and nothing was written for three looks: the bytes sent are processed. */
function flowFilesSettled(out: string, files: number): () => boolean {
  let last = -1, still = 0;
  return () => {
    // Flow files only (the workers' record spills are there too during the run).
    const names = fs.existsSync(out) ? fs.readdirSync(out) : [];
    const now = names.reduce((n, f) => n + fs.statSync(path.join(out, f)).size, 0);
    still = now === last ? still + 1 : 0;
    last = now;
    return names.filter((f) => /^\d{3}\./.test(f)).length === files && still >= 3;
  };
}

test('a run reading a pipe whose writer goes quiet (neither writes nor closes) stops at once on SIGINT and SIGTERM: the files and report of the bytes it got', async () => {
  const tmp = makeTempDir('tcpflow-ts-pipe-');
  try {
    // 2.9 MB, 179 flow files: several pieces through the pipe.
    const cap = path.join(PCAP_DIR, 'pcapplusplus__example2.pcap');
    const want = await runOutcome(cap, []);
    const fileobjects = (x: string) => (x.match(/<fileobject>[\s\S]*?<\/fileobject>/g) ?? []).join('');
    // With threads from the start; and placed by a look at its first bytes (cut short after half a second).
    for (const [args, signal, status] of [[['--workers', '2'], 'SIGINT', 130], [[], 'SIGTERM', 143]] as const) {
      const dir = path.join(tmp, signal);
      fs.mkdirSync(dir);
      const r = await signalledRun([...args, '-r', '-', '-o', 'out'], dir, fs.readFileSync(cap), flowFilesSettled(path.join(dir, 'out'), want.files.length), signal);
      assert.equal(r.code, status, r.stderr);
      assert.match(r.stderr, new RegExp(`${signal}: terminating orderly`));
      const report = fs.readFileSync(path.join(dir, 'out', 'report.xml'), 'latin1');
      assert.ok(report.endsWith('</rusage>\n</dfxml>\n'), 'a complete report');
      assert.equal(fileobjects(report.slice(report.indexOf('<configuration>', report.indexOf('<tdelta>')))), fileobjects(want.records));
      const files = fs.readdirSync(path.join(dir, 'out')).filter((f) => f !== 'report.xml').map((f) => `${f} ${fs.statSync(path.join(dir, 'out', f)).size}`).sort();
      assert.deepEqual(files, want.files.map((f) => f.split(' ').slice(0, 2).join(' ')).sort());
    }
  } finally {
    removeDir(tmp);
  }
});

test('a pipe whose writer never sends a byte: SIGINT stops the run at once, saying so, with a complete (empty) report', async () => {
  const tmp = makeTempDir('tcpflow-ts-pipe-');
  try {
    // The report is started once the run is set up: its signals are handled from then on.
    const report = path.join(tmp, 'out', 'report.xml');
    const r = await signalledRun(['-r', '-', '-o', 'out'], tmp, Buffer.alloc(0), () => fs.existsSync(report), 'SIGINT');
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /^tcpflow-ts: -: the run was stopped before the capture's first bytes came$/m);
    const xml = fs.readFileSync(report, 'latin1');
    assert.ok(xml.endsWith('</rusage>\n</dfxml>\n'), 'a complete report');
    assert.match(xml, /<total_packets>0<\/total_packets>/);
  } finally {
    removeDir(tmp);
  }
});

test('-r FIFO that no writer ever opens: SIGINT stops the run at once, saying so, with a complete (empty) report', async () => {
  const tmp = makeTempDir('tcpflow-ts-pipe-');
  try {
    const fifo = path.join(tmp, 'nobody.fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const report = path.join(tmp, 'out', 'report.xml');
    const r = await signalledRun(['-r', fifo, '-o', 'out'], tmp, null, () => fs.existsSync(report), 'SIGINT');
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, new RegExp(`^tcpflow-ts: ${fifo.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the run was stopped before a writer opened the pipe$`, 'm'));
    const xml = fs.readFileSync(report, 'latin1');
    assert.ok(xml.endsWith('</rusage>\n</dfxml>\n'), 'a complete report');
  } finally {
    removeDir(tmp);
  }
});
