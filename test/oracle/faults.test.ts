/**
 * Faults: a full disk, a read-only output directory, a descriptor limit, SIGINT/SIGTERM in
 * the middle of a run and a worker thread that dies. Each gets one `tcpflow-ts:` line
 * naming the cause, its documented exit status, no stack trace, and whatever was written
 * before the fault stays intact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assertWellFormedXml, CLI, makeTempDir, PCAP_DIR, removeDir, stackFrames, unprefixedLines } from '../helpers/corpus';

interface Run { code: number | null; stderr: string }

function cli(args: string[], opts: { env?: NodeJS.ProcessEnv; shell?: string; onStderr?: (text: string, kill: (s: NodeJS.Signals) => void) => void } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const cmd = opts.shell !== undefined
      ? spawn('bash', ['-c', `${opts.shell}; exec "$@"`, 'bash', process.execPath, CLI, ...args], { env: { ...process.env, ...opts.env } })
      : spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...opts.env } });
    let stderr = '';
    cmd.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      opts.onStderr?.(stderr, (s) => cmd.kill(s));
    });
    cmd.stdout.resume();
    const timer = setTimeout(() => cmd.kill('SIGKILL'), 60_000);
    cmd.on('close', (code) => { clearTimeout(timer); resolve({ code, stderr }); });
  });
}

function assertClean(r: Run): void {
  assert.deepEqual(stackFrames(r.stderr), [], r.stderr);
  assert.deepEqual(unprefixedLines(r.stderr), [], r.stderr);
}

function assertReport(dir: string): void {
  const bytes = fs.readFileSync(path.join(dir, 'report.xml'));
  assert.doesNotThrow(() => assertWellFormedXml(bytes), 'report.xml is not well-formed');
  assert.ok(bytes.toString('utf8').endsWith('</dfxml>\n'));
}

function md5s(dir: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of fs.readdirSync(dir)) {
    if (f !== 'report.xml') m.set(f, createHash('md5').update(fs.readFileSync(path.join(dir, f))).digest('hex'));
  }
  return m;
}

/** A small tmpfs of our own (needs root, as in CI); null where mounting is not allowed. */
function tmpfs(dir: string, opts: string): boolean {
  fs.mkdirSync(dir, { recursive: true });
  return spawnSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', dir]).status === 0;
}

function umount(dir: string): void {
  spawnSync('umount', [dir]);
}

/** A capture of one long flow (1448-byte segments), big enough to still be running when signalled. */
function bulkCapture(file: string, packets: number): void {
  const frame = Buffer.alloc(14 + 20 + 20 + 1448);
  frame.writeUInt16BE(0x0800, 12);
  frame.writeUInt8(0x45, 14);
  frame.writeUInt16BE(20 + 20 + 1448, 16);
  frame.writeUInt8(6, 23);
  Buffer.from([10, 0, 0, 2, 10, 0, 0, 1]).copy(frame, 26);
  frame.writeUInt16BE(80, 34);
  frame.writeUInt16BE(40000, 36);
  frame.writeUInt8(0x50, 46);
  frame.writeUInt8(0x10, 47);
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20);
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, header);
  const rec = Buffer.alloc(16 + frame.length);
  for (let i = 0; i < packets; i++) {
    rec.writeUInt32LE(1_000_000_000 + Math.floor(i / 1000), 0);
    rec.writeUInt32LE((i % 1000) * 1000, 4);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    frame.writeUInt32BE((1000 + i * 1448) >>> 0, 38);
    frame.copy(rec, 16);
    fs.writeSync(fd, rec);
  }
  fs.closeSync(fd);
}

test('disk full: exit 3, the file named, earlier bytes intact', async (t) => {
  const tmp = makeTempDir('tcpflow-ts-faults-');
  const mnt = path.join(tmp, 'mnt');
  try {
    if (!tmpfs(mnt, 'size=200k')) { t.skip('cannot mount a tmpfs here (needs root)'); return; }
    const out = path.join(mnt, 'out');
    const r = await cli(['-r', path.join(PCAP_DIR, 'tcpflow__jpegs.cap'), '-o', out]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /^tcpflow-ts: .*\/out\/\S+: No space left on device$/m);
    assertClean(r);
    // Every file written is a prefix of what a run with room writes.
    const full = path.join(tmp, 'full');
    assert.equal((await cli(['-r', path.join(PCAP_DIR, 'tcpflow__jpegs.cap'), '-o', full])).code, 0);
    for (const f of fs.readdirSync(out)) {
      if (f === 'report.xml') continue;
      const part = fs.readFileSync(path.join(out, f));
      const whole = fs.readFileSync(path.join(full, f));
      assert.ok(whole.subarray(0, part.length).equals(part), `${f} is not a prefix of the complete file`);
    }
  } finally {
    umount(mnt);
    removeDir(tmp);
  }
});

test('read-only output file system: exit 3, one line', async (t) => {
  const tmp = makeTempDir('tcpflow-ts-faults-');
  const mnt = path.join(tmp, 'ro');
  try {
    if (!tmpfs(mnt, 'ro,size=64k')) { t.skip('cannot mount a tmpfs here (needs root)'); return; }
    const r = await cli(['-r', path.join(PCAP_DIR, 'tcpflow__test1.pcap'), '-o', path.join(mnt, 'out')]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /^tcpflow-ts: cannot create .*\/ro\/out: Read-only file system$/m);
    assertClean(r);
  } finally {
    umount(mnt);
    removeDir(tmp);
  }
});

test('a low descriptor limit (ulimit -n 48): same output as without', async () => {
  const tmp = makeTempDir('tcpflow-ts-faults-');
  try {
    const cap = path.join(PCAP_DIR, 'pcapplusplus__650HttpResponses.pcap');
    const a = await cli(['-r', cap, '-o', path.join(tmp, 'a'), '--workers', '2'], { shell: 'ulimit -n 48' });
    assert.equal(a.code, 0, a.stderr);
    const b = await cli(['-r', cap, '-o', path.join(tmp, 'b'), '--workers', '2']);
    assert.equal(b.code, 0, b.stderr);
    assert.ok(md5s(path.join(tmp, 'a')).size >= 284);
    assert.deepEqual(md5s(path.join(tmp, 'a')), md5s(path.join(tmp, 'b')));
    assertReport(path.join(tmp, 'a'));
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
      assertReport(out);
      // Whatever was stored is the start of the stream (packet i carries stream bytes i*1448...).
      for (const f of fs.readdirSync(out)) assert.ok(f === 'report.xml' || f === '010.000.000.002.00080-010.000.000.001.40000', f);
    } finally {
      removeDir(tmp);
    }
  });
}

test('a worker thread that dies: exit 4, the cause named, no hang, report complete', async () => {
  const tmp = makeTempDir('tcpflow-ts-faults-');
  try {
    const out = path.join(tmp, 'out');
    const r = await cli(['-r', path.join(PCAP_DIR, 'tcpflow__jpegs.cap'), '-o', out, '--workers', '2'],
      { env: { TCPFLOW_TS_FAULT: 'worker-exit' } });
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /^tcpflow-ts: a worker thread failed: worker exited with code: 70$/m);
    assertClean(r);
    assertReport(out);
  } finally {
    removeDir(tmp);
  }
});
