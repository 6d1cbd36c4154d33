/**
 * Faults: a full disk, an output directory that is read-only or not writable, a
 * descriptor limit, an input truncated, unlinked or deleted while the run goes on,
 * SIGINT/SIGTERM in the middle of a run (and a second one for a run that cannot finish),
 * SIGKILL, and a worker thread that dies. Each gets one `tcpflow-ts:` line naming the
 * file or the cause, its documented exit status, no stack trace; whatever was written
 * before the fault stays intact and the report is well-formed and lists it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assertWellFormedXml, childEnv, CLI, makeTempDir, PCAP_DIR, removeDir, stackFrames, unprefixedLines } from '../helpers/corpus';
import { assertBulkPrefix, BULK_FLOW, BULK_RECORD, BULK_SEGMENT, bulkCapture, manyFlowFrames, PCAP_HEADER } from '../helpers/pcap-write';
import { RST, ACK, PSH } from '../helpers/packets';

interface Run { code: number | null; signal: NodeJS.Signals | null; stderr: string }

interface CliOptions {
  env?: NodeJS.ProcessEnv;
  shell?: string;
  /** Run as this user (and group of the same number). */
  uid?: number;
  onStderr?: (text: string, kill: (s: NodeJS.Signals) => void) => void;
  /** Called with the process id once it runs (the node process itself unless `shell`). */
  onSpawn?: (pid: number) => void;
}

function cli(args: string[], opts: CliOptions = {}): Promise<Run> {
  return new Promise((resolve) => {
    const env = { ...childEnv(), ...opts.env };
    const ids = opts.uid !== undefined ? { uid: opts.uid, gid: opts.uid } : {};
    const cmd = opts.shell !== undefined
      ? spawn('bash', ['-c', `${opts.shell}; exec "$@"`, 'bash', process.execPath, CLI, ...args], { env, ...ids })
      : spawn(process.execPath, [CLI, ...args], { env, ...ids });
    let stderr = '';
    cmd.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      opts.onStderr?.(stderr, (s) => cmd.kill(s));
    });
    cmd.stdout.resume();
    if (cmd.pid !== undefined) opts.onSpawn?.(cmd.pid);
    const timer = setTimeout(() => cmd.kill('SIGKILL'), 60_000);
    cmd.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stderr }); });
  });
}

function assertClean(r: Run): void {
  assert.deepEqual(stackFrames(r.stderr), [], r.stderr);
  assert.deepEqual(unprefixedLines(r.stderr), [], r.stderr);
}

/** The report is well-formed and complete; returns the flow file names it lists. */
function assertReport(dir: string, file = path.join(dir, 'report.xml')): string[] {
  const bytes = fs.readFileSync(file);
  assert.doesNotThrow(() => assertWellFormedXml(bytes), `${file} is not well-formed`);
  const text = bytes.toString('utf8');
  assert.ok(text.endsWith('</dfxml>\n'), `${file} does not end with </dfxml>`);
  return [...text.matchAll(/<filename>([^<]*)<\/filename>/g)].map((m) => m[1]);
}

/** Every flow file in `dir` is listed in its report (and nothing else is). */
function assertAllListed(dir: string): void {
  const listed = assertReport(dir).map((f) => path.basename(f)).sort();
  const files = fs.readdirSync(dir).filter((f) => f !== 'report.xml').sort();
  assert.deepEqual(listed, files, 'the report does not list exactly the flow files written');
}

function md5s(dir: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of fs.readdirSync(dir)) {
    if (f !== 'report.xml') m.set(f, createHash('md5').update(fs.readFileSync(path.join(dir, f))).digest('hex'));
  }
  return m;
}

/** A small tmpfs of our own (needs root, as in CI); false where mounting is not allowed. */
function tmpfs(dir: string, opts: string): boolean {
  fs.mkdirSync(dir, { recursive: true });
  return spawnSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', dir]).status === 0;
}

function umount(dir: string): void {
  spawnSync('umount', [dir]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The descriptor under which process `pid` has `file` open, once it has (Linux /proc). */
async function whenOpened(pid: number, file: string): Promise<number> {
  for (let i = 0; i < 20_000; i++) {
    let fds: string[] = [];
    try { fds = fs.readdirSync(`/proc/${pid}/fd`); } catch { /* not started, or gone */ }
    for (const fd of fds) {
      try {
        if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === file) return Number(fd);
      } catch { /* closed meanwhile */ }
    }
    await sleep(1);
  }
  throw new Error(`${file} was never opened`);
}

/** The file offset of descriptor `fd` of process `pid`; null once that descriptor is closed. */
function filePos(pid: number, fd: number): number | null {
  let info: string;
  try {
    info = fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  return Number(/^pos:\s+(\d+)/m.exec(info)![1]);
}

/**
 * Runs the CLI on `args`; once it reads `input` (past its file header: the reader has
 * taken the file's size), stops it (SIGSTOP), calls `act` with the input's read
 * position, and lets it go on.
 */
async function interfere(args: string[], input: string, act: (readPos: number) => void): Promise<Run> {
  let acted: Promise<void> = Promise.resolve();
  const r = cli(args, {
    onSpawn: (pid) => {
      acted = whenOpened(pid, input).then(async (opened) => {
        let fd = opened;
        for (;;) {
          process.kill(pid, 'SIGSTOP');
          const pos = filePos(pid, fd);
          if (pos === null) {
            // An earlier open of the file (its format sniffed by the first bytes) was seen and
            // has been closed: find the reader's descriptor.
            process.kill(pid, 'SIGCONT');
            fd = await whenOpened(pid, input);
            continue;
          }
          if (pos > PCAP_HEADER) {
            try {
              act(pos);
            } finally {
              process.kill(pid, 'SIGCONT');
            }
            return;
          }
          process.kill(pid, 'SIGCONT');
          await sleep(1);
        }
      });
    },
  });
  await acted;
  return r;
}

const hasProc = fs.existsSync('/proc/self/fdinfo');

// The flow files' calls through node:fs (a run's first 1,024 files) and through the addon
// (TCPFLOW_TS_NATIVE_FILES=1: from the first file; src/output/native-files.ts).
for (const native of ['0', '1']) test(`disk full: exit 3, the file named, earlier bytes intact, every file listed in the report (${native === '1' ? 'the flow-file addon' : 'node:fs'})`, async (t) => {
  const tmp = makeTempDir('tcpflow-ts-faults-');
  const mnt = path.join(tmp, 'mnt');
  try {
    if (!tmpfs(mnt, 'size=400k')) { t.skip('cannot mount a tmpfs here (needs root)'); return; }
    const out = path.join(mnt, 'out');
    const r = await cli(['-r', path.join(PCAP_DIR, 'tcpflow__jpegs.cap'), '-o', out], { env: { TCPFLOW_TS_NATIVE_FILES: native } });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /^tcpflow-ts: .*\/out\/\S+: No space left on device$/m);
    assertClean(r);
    // Every file written is a prefix of what a run with room writes.
    const full = path.join(tmp, 'full');
    assert.equal((await cli(['-r', path.join(PCAP_DIR, 'tcpflow__jpegs.cap'), '-o', full])).code, 0);
    const files = fs.readdirSync(out).filter((f) => f !== 'report.xml');
    assert.ok(files.length >= 5 && files.length < fs.readdirSync(full).length - 1, `${files.length} files`);
    for (const f of files) {
      const part = fs.readFileSync(path.join(out, f));
      const whole = fs.readFileSync(path.join(full, f));
      assert.ok(whole.subarray(0, part.length).equals(part), `${f} is not a prefix of the complete file`);
    }
    assertAllListed(out);
  } finally {
    umount(mnt);
    removeDir(tmp);
  }
});

for (const workers of [1, 2]) {
  test(`disk full with records already spilled (--workers ${workers}): the report lists every flow file${workers > 1 ? ' or names what it misses' : ''}`, async (t) => {
    const tmp = makeTempDir('tcpflow-ts-faults-');
    const mnt = path.join(tmp, 'mnt');
    try {
      if (!tmpfs(mnt, 'size=8m')) { t.skip('cannot mount a tmpfs here (needs root)'); return; }
      // 1500 flows that close at once (RST: ~600 KB of records, mostly spilled during
      // the run), then one long flow that fills the disk: the report needs the room the
      // spill files take, and the reserve for the records held in memory.
      const cap = path.join(tmp, 'mix.pcap');
      bulkCapture(cap, 4000, manyFlowFrames(1500, 16, RST | ACK | PSH));
      const out = path.join(mnt, 'out');
      const r = await cli(['-r', cap, '-o', out, '--workers', String(workers)]);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /^tcpflow-ts: .*\/out\/\S+: No space left on device$/m);
      assertClean(r);
      const files = fs.readdirSync(out).filter((f) => f !== 'report.xml');
      // One worker creates all 1500 small files before the long flow. With several, the one
      // with the long flow can fill the disk before another has created its share (a race
      // that depends on load): its own share of the small flows (about half) is there.
      assert.ok(files.length > (workers === 1 ? 1500 : 600), `${files.length} files`);
      if (workers === 1) {
        // One worker spills its records before the long flow fills the disk: all fit.
        assert.doesNotMatch(r.stderr, /missing from the report/);
        assertAllListed(out);
        return;
      }
      // Several workers: one may not have spilled anything yet when another fills the
      // disk, and what it holds may not fit. Then the report says how many are missing.
      const listed = assertReport(out).map((f) => path.basename(f));
      const m = /^tcpflow-ts: .*\/out\/report\.xml: (\d+) of (\d+) flow records are missing from the report \(.*No space left on device\)$/m.exec(r.stderr);
      const missing = m === null ? 0 : Number(m[1]);
      if (m !== null) assert.equal(Number(m[2]), files.length);
      assert.equal(listed.length + missing, files.length);
      assert.ok(listed.every((f) => files.includes(f)));
    } finally {
      umount(mnt);
      removeDir(tmp);
    }
  });
}

test('read-only output file system: exit 3, one line naming the directory or the report', async (t) => {
  const tmp = makeTempDir('tcpflow-ts-faults-');
  const mnt = path.join(tmp, 'ro');
  try {
    if (!tmpfs(mnt, 'ro,size=64k')) { t.skip('cannot mount a tmpfs here (needs root)'); return; }
    const r = await cli(['-r', path.join(PCAP_DIR, 'tcpflow__test1.pcap'), '-o', path.join(mnt, 'out')]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /^tcpflow-ts: cannot create .*\/ro\/out: Read-only file system$/m);
    assertClean(r);
    // An output directory that exists on it: the first file written is the report.
    const r2 = await cli(['-r', path.join(PCAP_DIR, 'tcpflow__test1.pcap'), '-o', mnt]);
    assert.equal(r2.code, 3, r2.stderr);
    assert.match(r2.stderr, /^tcpflow-ts: .*\/ro\/report\.xml: Read-only file system$/m);
    assertClean(r2);
  } finally {
    umount(mnt);
    removeDir(tmp);
  }
});

test('unwritable output directory (mode 0555, as an unprivileged user): exit 3, the file named, nothing written', async (t) => {
  const tmp = makeTempDir('tcpflow-ts-faults-');
  try {
    // Root ignores mode bits: run as nobody then (readable test tree needed).
    const uid = process.getuid?.() === 0 ? 65534 : undefined;
    fs.chmodSync(tmp, 0o755);
    const cap = path.join(tmp, 'test1.pcap');
    fs.copyFileSync(path.join(PCAP_DIR, 'tcpflow__test1.pcap'), cap);
    fs.chmodSync(cap, 0o644);
    const out = path.join(tmp, 'out');
    fs.mkdirSync(out);
    fs.chmodSync(out, 0o555);
    const probe = spawnSync(process.execPath, [CLI, '--version'], uid !== undefined ? { uid, gid: uid } : {});
    if (probe.status !== 0) { t.skip(`the CLI does not run as uid ${uid}: ${probe.stderr}`); return; }
    const r = await cli(['-r', cap, '-o', out], { uid });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /^tcpflow-ts: .*\/out\/report\.xml: Permission denied$/m);
    assertClean(r);
    assert.deepEqual(fs.readdirSync(out), []);
    // The report elsewhere: the first flow file is the one named; every flow is reported.
    const rep = path.join(tmp, 'rep');
    fs.mkdirSync(rep);
    fs.chmodSync(rep, 0o777);
    const r2 = await cli(['-r', cap, '-o', out, '-X', path.join(rep, 'report.xml')], { uid });
    assert.equal(r2.code, 3, r2.stderr);
    assert.match(r2.stderr, /^tcpflow-ts: .*\/out\/[0-9.-]+: Permission denied$/m);
    assertClean(r2);
    assert.deepEqual(fs.readdirSync(out), []);
    assert.deepEqual(assertReport(rep), []);
    assert.match(fs.readFileSync(path.join(rep, 'report.xml'), 'utf8'), /<error>.*\/out\/[0-9.-]+: Permission denied<\/error>/);
  } finally {
    removeDir(tmp);
  }
});

// With the flow-file addon, its descriptor of the output directory counts against the limit too.
for (const native of ['0', '1']) test(`a low descriptor limit (ulimit -n 48): same output as without (${native === '1' ? 'the flow-file addon' : 'node:fs'})`, async () => {
  const tmp = makeTempDir('tcpflow-ts-faults-');
  try {
    const cap = path.join(PCAP_DIR, 'pcapplusplus__650HttpResponses.pcap');
    const a = await cli(['-r', cap, '-o', path.join(tmp, 'a'), '--workers', '2'], { shell: 'ulimit -n 48', env: { TCPFLOW_TS_NATIVE_FILES: native } });
    assert.equal(a.code, 0, a.stderr);
    const b = await cli(['-r', cap, '-o', path.join(tmp, 'b'), '--workers', '2']);
    assert.equal(b.code, 0, b.stderr);
    assert.ok(md5s(path.join(tmp, 'a')).size >= 284);
    assert.deepEqual(md5s(path.join(tmp, 'a')), md5s(path.join(tmp, 'b')));
    assertAllListed(path.join(tmp, 'a'));
  } finally {
    removeDir(tmp);
  }
});

/** Bytes of bulkCapture's stream in the records wholly inside the first `size` bytes of the file. */
const bulkBytesWithin = (size: number) => Math.floor((size - PCAP_HEADER) / BULK_RECORD) * BULK_SEGMENT;

for (const [where, extra] of [['at a record boundary', 0], ['inside a record', 700]] as const) {
  test(`an input truncated while being read (${where}): exit 1, the file named, packets before it kept, report complete`, { skip: !hasProc && 'needs /proc' }, async () => {
    const tmp = makeTempDir('tcpflow-ts-faults-');
    try {
      const cap = path.join(tmp, 'shrinking.pcap');
      bulkCapture(cap, 30_000);
      const size = fs.statSync(cap).size;
      const out = path.join(tmp, 'out');
      let cut = 0;
      const r = await interfere(['-r', cap, '-o', out], cap, (pos) => {
        // Well ahead of what was read: those packets must all be processed.
        cut = PCAP_HEADER + Math.ceil((pos + (8 << 20) - PCAP_HEADER) / BULK_RECORD) * BULK_RECORD + extra;
        assert.ok(cut < size, `the input was read to byte ${pos} before it could be cut`);
        fs.truncateSync(cap, cut);
      });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`^tcpflow-ts: ${cap}: truncated while being read: ${size} bytes when opened, only ${cut} read; packets before it are kept$`, 'm'));
      assertClean(r);
      const flow = fs.readFileSync(path.join(out, BULK_FLOW));
      assert.equal(flow.length, bulkBytesWithin(cut));
      assertBulkPrefix(flow, BULK_FLOW);
      assertAllListed(out);
    } finally {
      removeDir(tmp);
    }
  });
}

test('an input unlinked while being read: read to its end (Linux keeps it), exit 0', { skip: !hasProc && 'needs /proc' }, async () => {
  const tmp = makeTempDir('tcpflow-ts-faults-');
  try {
    const cap = path.join(tmp, 'vanishing.pcap');
    bulkCapture(cap, 30_000);
    const out = path.join(tmp, 'out');
    const r = await interfere(['-r', cap, '-o', out], cap, () => fs.unlinkSync(cap));
    assert.ok(!fs.existsSync(cap));
    assert.equal(r.code, 0, r.stderr);
    assertClean(r);
    const flow = fs.readFileSync(path.join(out, BULK_FLOW));
    assert.equal(flow.length, 30_000 * BULK_SEGMENT);
    assertBulkPrefix(flow, BULK_FLOW);
    assertAllListed(out);
  } finally {
    removeDir(tmp);
  }
});

test('-r list: a later input deleted before it is reached: exit 1, one line naming it, the others processed', { skip: !hasProc && 'needs /proc' }, async () => {
  const tmp = makeTempDir('tcpflow-ts-faults-');
  try {
    const first = path.join(tmp, 'first.pcap');
    bulkCapture(first, 20_000);
    const gone = path.join(tmp, 'gone.pcap');
    fs.copyFileSync(path.join(PCAP_DIR, 'tcpflow__test1.pcap'), gone);
    const last = path.join(PCAP_DIR, 'tcpflow__jpegs.cap');
    const out = path.join(tmp, 'out');
    const r = await interfere(['-r', first, '-r', gone, '-r', last, '-o', out], first, () => fs.unlinkSync(gone));
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(r.stderr.split('\n').filter((l) => l.includes('gone.pcap')), [`tcpflow-ts: ${gone}: No such file or directory`]);
    assertClean(r);
    // The first and the last input are processed as they are alone.
    const alone = path.join(tmp, 'alone');
    assert.equal((await cli(['-r', first, '-r', last, '-o', alone])).code, 0);
    assert.deepEqual(md5s(out), md5s(alone));
    assert.ok(md5s(out).size > 30);
    assertAllListed(out);
  } finally {
    removeDir(tmp);
  }
});

for (const [signal, status] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  test(`${signal} mid-run: exit ${status}, flows so far written, report complete`, async () => {
    const tmp = makeTempDir('tcpflow-ts-faults-');
    try {
      const cap = path.join(tmp, 'bulk.pcap');
      bulkCapture(cap, 60_000);
      const out = path.join(tmp, 'out');
      let sent = false;
      const r = await cli(['-r', cap, '-o', out], {
        onStderr: (text, kill) => { if (!sent && text.includes('reportfilename')) { sent = true; kill(signal); } },
      });
      assert.ok(sent, 'the run never started');
      assert.equal(r.code, status, r.stderr);
      assert.match(r.stderr, new RegExp(`^tcpflow-ts: ${signal}: terminating orderly`, 'm'));
      assertClean(r);
      // Whatever was stored is the start of the stream.
      for (const f of fs.readdirSync(out)) assert.ok(f === 'report.xml' || f === BULK_FLOW, f);
      if (fs.existsSync(path.join(out, BULK_FLOW))) assertBulkPrefix(fs.readFileSync(path.join(out, BULK_FLOW)), BULK_FLOW);
      assertAllListed(out);
    } finally {
      removeDir(tmp);
    }
  });
}

for (const [signal, status] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  test(`${signal} as the run starts (before its set-up): exit ${status}, flows so far written, report complete`, async () => {
    const tmp = makeTempDir('tcpflow-ts-faults-');
    try {
      const cap = path.join(tmp, 'bulk.pcap');
      bulkCapture(cap, 20_000);
      const out = path.join(tmp, 'out');
      // The run signals itself first thing: before the inputs are sized and the output
      // directory made, where Node's default action used to kill it without a report. The
      // signal reaches the run's handler on the event loop's next turn: before or while the
      // first chunks are read.
      const r = await cli(['-r', cap, '-o', out], { env: { TCPFLOW_TS_TEST_SIGNAL_AT_START: signal } });
      assert.equal(r.signal, null, `killed by ${r.signal}: ${r.stderr}`);
      assert.equal(r.code, status, r.stderr);
      assert.match(r.stderr, new RegExp(`^tcpflow-ts: ${signal}: terminating orderly`, 'm'));
      assertClean(r);
      assert.match(fs.readFileSync(path.join(out, 'report.xml'), 'utf8'), new RegExp(`interrupted by ${signal}`));
      for (const f of fs.readdirSync(out)) assert.ok(f === 'report.xml' || f === BULK_FLOW, f);
      if (fs.existsSync(path.join(out, BULK_FLOW))) assertBulkPrefix(fs.readFileSync(path.join(out, BULK_FLOW)), BULK_FLOW);
      assertAllListed(out);
    } finally {
      removeDir(tmp);
    }
  });
}

test('a run that cannot finish (a worker that never answers): a second SIGTERM stops it at once, exit 143', async () => {
  const tmp = makeTempDir('tcpflow-ts-faults-');
  try {
    const cap = path.join(tmp, 'bulk.pcap');
    bulkCapture(cap, 20_000);
    const out = path.join(tmp, 'out');
    let pid = 0;
    // The worker hangs on its first packets: the first SIGTERM waits until the run reads.
    let reported = (): void => {};
    const reportOpened = new Promise<void>((resolve) => { reported = resolve; });
    const run = cli(['-r', cap, '-o', out, '--workers', '2'], {
      env: { TCPFLOW_TS_FAULT: 'worker-hang' },
      onSpawn: (p) => { pid = p; },
      onStderr: (text) => { if (text.includes('reportfilename')) reported(); },
    });
    let ended = false;
    void run.then(() => { ended = true; });
    await reportOpened;
    await whenOpened(pid, cap);
    process.kill(pid, 'SIGTERM');
    await sleep(1500);
    assert.ok(!ended, 'the run ended without its stuck worker');
    const at = Date.now();
    process.kill(pid, 'SIGTERM');
    const r = await run;
    assert.ok(Date.now() - at < 5000, `${Date.now() - at} ms after the second signal`);
    assert.equal(r.code, 143, r.stderr);
    assert.match(r.stderr, /^tcpflow-ts: SIGTERM: terminating orderly, .*\(a second signal stops at once\)$/m);
    assert.match(r.stderr, new RegExp(`^tcpflow-ts: SIGTERM again: stopping at once; open flows are not written and ${out}/report.xml is incomplete$`, 'm'));
    assertClean(r);
  } finally {
    removeDir(tmp);
  }
});

test('SIGKILL mid-run: closed flow files intact, open ones a prefix; the next run on the same directory works (c1 names)', { skip: !hasProc && 'needs /proc' }, async () => {
  const tmp = makeTempDir('tcpflow-ts-faults-');
  try {
    // 200 flows closed (RST) early on, then one long flow, killed while it is written.
    const small = manyFlowFrames(200, 16, RST | ACK | PSH);
    const cap = path.join(tmp, 'cap.pcap');
    bulkCapture(cap, 60_000, small);
    const out = path.join(tmp, 'out');
    const bulk = path.join(out, BULK_FLOW);
    let pid = 0;
    const run = cli(['-r', cap, '-o', out], { onSpawn: (p) => { pid = p; } });
    await whenOpened(pid, cap);
    // Killed once the long flow has 4 MiB on disk and every small flow's file is written (its
    // 16 bytes): the small flows are spread over both workers, and the one without the long
    // flow can start later than the other (thread start-up), so the size alone does not say
    // they are done.
    const smallDone = () => fs.readdirSync(out).filter((f) => f !== BULK_FLOW && !f.startsWith('report.xml') &&
      fs.statSync(path.join(out, f)).size === 16).length === 200;
    for (let i = 0; i < 20_000 && !(fs.existsSync(bulk) && fs.statSync(bulk).size > 4 << 20 && smallDone()); i++) await sleep(1);
    process.kill(pid, 'SIGKILL');
    const r = await run;
    assert.equal(r.signal, 'SIGKILL');
    const killed = md5s(out);
    // What a complete run writes, for comparison.
    const whole = path.join(tmp, 'whole');
    assert.equal((await cli(['-r', cap, '-o', whole])).code, 0);
    const complete = md5s(whole);
    assert.equal(complete.size, 201);
    for (const [f, sum] of killed) {
      if (f.startsWith('report.xml')) continue; // the report and its spill files are not complete after SIGKILL
      if (f === BULK_FLOW) assertBulkPrefix(fs.readFileSync(bulk), BULK_FLOW);
      else assert.equal(sum, complete.get(f), `${f} differs from the complete run's`);
    }
    assert.ok([...killed.keys()].filter((f) => !f.startsWith('report.xml')).length === 201, 'not every flow file was written before the kill');
    // A new run into the same directory: every flow gets a c1 name, nothing old is touched.
    const again = await cli(['-r', cap, '-o', out]);
    assert.equal(again.code, 0, again.stderr);
    assertClean(again);
    const after = md5s(out);
    for (const [f, sum] of killed) if (!f.startsWith('report.xml')) assert.equal(after.get(f), sum, `${f} was changed`);
    for (const [f, sum] of complete) assert.equal(after.get(`${f}c1`), sum, `${f}c1`);
    const listed = assertReport(out).map((f) => path.basename(f)).sort();
    assert.deepEqual(listed, [...complete.keys()].map((f) => `${f}c1`).sort());
  } finally {
    removeDir(tmp);
  }
});

test('a worker thread that dies: exit 4, the cause named, no hang, report complete', async () => {
  const tmp = makeTempDir('tcpflow-ts-faults-');
  try {
    const out = path.join(tmp, 'out');
    const r = await cli(['-r', path.join(PCAP_DIR, 'tcpflow__jpegs.cap'), '-o', out, '--workers', '2'],
      { env: { TCPFLOW_TS_FAULT: 'worker-exit' } });
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /^tcpflow-ts: worker thread 0 of \d+ failed: it exited with code 70$/m);
    assertClean(r);
    assertReport(out);
  } finally {
    removeDir(tmp);
  }
});
