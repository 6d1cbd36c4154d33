/**
 * -L and -P through the CLI: two concurrent console runs sharing a lock print every segment
 * whole, an unusable lock location stops the run at start-up, -P and -L change no output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI, makeTempDir, md5hex, PCAP_DIR, removeDir, runCli, walkFiles } from '../helpers/corpus';
import { lockPath } from '../../src/util/lock-file';

// Two runs with disjoint flows, several -r files each (one console write batch per file).
const RUN_A = ['pcapplusplus__650HttpResponses.pcap', 'tcpflow__test1.pcap'];
const RUN_B = ['tcpflow__jpegs.cap', 'pcapplusplus__sll.pcap'];
// -J prints one segment per line (the payload as numbers), so a mixed segment shows as a line
// that neither run printed.
const CONSOLE = ['-c', '-J', '--workers', '1'];

const inputs = (files: string[]): string[] => files.flatMap((f) => ['-r', path.join(PCAP_DIR, f)]);
const quote = (args: string[]): string => args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');

/**
 * Runs both command lines at once under bash, their stdout joined: into a file both append
 * to (`>>`), or into a pipe read slowly, so that both writers block on a full pipe and a write
 * larger than the pipe is split (writes to a regular file with O_APPEND are whole anyway; a
 * pipe or terminal is where tcpflow's lock matters). Returns what was printed.
 */
function together(a: string[], b: string[], into: { file: string } | 'slow pipe'): Promise<Buffer> {
  const node = (args: string[]) => quote([process.execPath, CLI, ...args]);
  const redirect = into === 'slow pipe' ? '' : ` >> ${quote([into.file])}`;
  const script = `${node(a)}${redirect} & A=$!; ${node(b)}${redirect} & B=$!; wait $A && wait $B`;
  return new Promise((resolve, reject) => {
    const sh = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const out: Buffer[] = [];
    sh.stdout.on('data', (d: Buffer) => {
      out.push(d);
      if (into === 'slow pipe') {
        sh.stdout.pause();
        setTimeout(() => sh.stdout.resume(), 15);
      }
    });
    const timer = setTimeout(() => sh.kill('SIGKILL'), 60_000);
    sh.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`bash exited with ${code}`));
      else resolve(into === 'slow pipe' ? Buffer.concat(out) : fs.readFileSync(into.file));
    });
  });
}

const lines = (b: Buffer): string[] => b.toString('latin1').split('\n').filter((l) => l !== '');

/** Every line of `both` is a whole line of `a` or of `b`, each run's lines in its own order. */
function assertWholeSegments(both: Buffer, a: string[], b: string[], what: string): void {
  const inA = new Set(a);
  const inB = new Set(b);
  const got = lines(both);
  const mixed = got.filter((l) => !inA.has(l) && !inB.has(l));
  assert.equal(mixed.length, 0, `${what}: ${mixed.length} of ${got.length} lines are mixed segments, e.g. ${mixed[0]?.slice(0, 120)}`);
  assert.deepEqual(got.filter((l) => inA.has(l)), a, `${what}: run A's segments`);
  assert.deepEqual(got.filter((l) => inB.has(l)), b, `${what}: run B's segments`);
}

test('-L: two concurrent console runs never mix their segments (pipe and >> file)', async () => {
  const dir = makeTempDir('tcpflow-ts-semlock-');
  const name = `test-${randomBytes(6).toString('hex')}`;
  try {
    const [soloA, soloB] = await Promise.all([runCli([...inputs(RUN_A), ...CONSOLE]), runCli([...inputs(RUN_B), ...CONSOLE])]);
    assert.equal(soloA.code, 0, soloA.stderr);
    assert.equal(soloB.code, 0, soloB.stderr);
    const a = lines(soloA.stdout);
    const b = lines(soloB.stdout);
    assert.ok(a.length > 600 && b.length > 500, `${a.length} and ${b.length} segments`);
    assert.equal(a.filter((l) => b.includes(l)).length, 0, 'the two runs must print different segments');

    const argsA = [...inputs(RUN_A), ...CONSOLE, '-L', name];
    const argsB = [...inputs(RUN_B), ...CONSOLE, '-L', name];
    assertWholeSegments(await together(argsA, argsB, 'slow pipe'), a, b, 'pipe');
    assertWholeSegments(await together(argsA, argsB, { file: path.join(dir, 'both.txt') }), a, b, '>> file');
    assert.equal(fs.existsSync(lockPath(name)), false, 'the lock file is removed');
  } finally {
    removeDir(dir);
  }
});

test('-L with an unusable location: one line naming it, exit 3, before anything is created', async () => {
  const dir = makeTempDir('tcpflow-ts-semlock-');
  try {
    const lock = path.join(dir, 'missing', 'x.lock');
    for (const mode of [['-c'], []]) {
      const out = path.join(dir, 'out');
      const r = await runCli(['-r', path.join(PCAP_DIR, 'tcpflow__test1.pcap'), ...mode, '-o', out, '-L', lock]);
      assert.equal(r.code, 3);
      assert.equal(r.stderr, `tcpflow-ts: lock file ${lock}: No such file or directory\n`);
      assert.equal(r.stdout.length, 0);
      assert.equal(fs.existsSync(out), false, 'the output directory comes after the lock');
    }
  } finally {
    removeDir(dir);
  }
});

test('-P, and -L outside console mode, change no output', async () => {
  const dir = makeTempDir('tcpflow-ts-semlock-');
  const lock = path.join(dir, 'l.lock');
  try {
    const digest = (out: string) => walkFiles(out).filter((f) => f.rel !== 'report.xml')
      .map((f) => `${f.rel} ${md5hex(fs.readFileSync(f.abs))}`);
    const capture = ['-r', path.join(PCAP_DIR, 'tcpflow__jpegs.cap'), '--workers', '1'];
    // Console names start with the outdir: both console runs get the same one.
    const runs = await Promise.all([[], ['-P'], ['-L', lock], ['-c'], ['-c', '-P']].map((extra, i) =>
      runCli([...capture, '-o', path.join(dir, `o${Math.min(i, 3)}`), ...extra])));
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    const files = digest(path.join(dir, 'o0'));
    assert.ok(files.length > 0);
    assert.deepEqual(digest(path.join(dir, 'o1')), files);
    assert.deepEqual(digest(path.join(dir, 'o2')), files);
    assert.ok(runs[3].stdout.length > 0);
    assert.deepEqual(runs[4].stdout, runs[3].stdout);
    assert.equal(fs.existsSync(lock), false);
  } finally {
    removeDir(dir);
  }
});
