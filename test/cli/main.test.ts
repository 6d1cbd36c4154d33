/**
 * The command line end to end (cli/main.ts): how a run meets a closed pipe, a capture given
 * without -r, and what -V and the report say about the program.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assertWellFormedXml, CLI, makeTempDir, PCAP_DIR, removeDir, REPO_ROOT, runCli } from '../helpers/corpus';
import { EXIT } from '../../src/errors';

// 570 KB of console text per read, far more than a pipe holds: the writer meets the closed
// pipe whatever the scheduling.
const BIG = path.join(PCAP_DIR, 'pcapplusplus__650HttpResponses.pcap');

/**
 * `node main.js ARGS | head -1` under bash, in `cwd`: tcpflow-ts's exit status and stderr
 * (kept in files there), and what head printed.
 */
function intoHead(args: readonly string[], cwd: string): { status: number; stderr: string; head: string } {
  const script = '"$NODE" "$CLI" "$@" 2>stderr | head -1; echo "${PIPESTATUS[0]}" >status';
  const sh = spawnSync('bash', ['-c', script, 'bash', ...args], { cwd, env: { ...process.env, NODE: process.execPath, CLI }, encoding: 'latin1' });
  assert.equal(sh.status, 0, sh.stderr);
  return {
    status: Number(fs.readFileSync(path.join(cwd, 'status'), 'latin1')),
    stderr: fs.readFileSync(path.join(cwd, 'stderr'), 'latin1'),
    head: sh.stdout,
  };
}

/**
 * BIG is read twice (enough output to fill the pipe): the warnings about that (src/capture/inputs.ts:
 * the same file given twice, its start before its own end) may come first, nothing else.
 */
function withoutOrderWarning(stderr: string): string {
  return stderr.split('\n').filter((l) => !/: its first packet \(.*\) is earlier than the last packet of |: the same file as .*, given twice: /.test(l)).join('\n');
}

test('console output into `| head -1` ends quietly with status 141', () => {
  const dir = makeTempDir();
  try {
    for (const mode of [['-c'], ['-C'], ['-c', '-D'], ['-c', '-J'], ['-c', '-B']]) {
      const r = intoHead([...mode, '-r', BIG, '-r', BIG], dir);
      assert.equal(withoutOrderWarning(r.stderr), '', `${mode}: nothing on stderr`);
      assert.equal(r.status, EXIT.STDOUT_CLOSED, `${mode}`);
      assert.ok(r.head.length > 0 && r.head.endsWith('\n'), `${mode}: head got its line`);
    }
  } finally {
    removeDir(dir);
  }
});

test('a report asked for in console mode is still completed when stdout closes, and says so', () => {
  const dir = makeTempDir();
  try {
    const r = intoHead(['-c', '-S', 'enable_report=YES', '-o', 'out', '-r', BIG, '-r', BIG], dir);
    assert.equal(r.status, EXIT.STDOUT_CLOSED);
    assert.equal(withoutOrderWarning(r.stderr), 'tcpflow-ts: reportfilename: out/report.xml\n');
    const report = fs.readFileSync(path.join(dir, 'out', 'report.xml'));
    assertWellFormedXml(report);
    assert.match(report.toString(), /<error>standard output was closed by its reader: reading stopped<\/error>/);
  } finally {
    removeDir(dir);
  }
});

test('-hh and -V into a pipe nobody reads any more: status 141, no message', () => {
  const dir = makeTempDir();
  try {
    const fifo = path.join(dir, 'fifo');
    spawnSync('mkfifo', [fifo]);
    for (const args of [['-hh'], ['-V']]) {
      // fd 4 is the FIFO's write end with no reader left (fd 3, read-write, let it open without
      // blocking and is closed): every write fails with EPIPE, whatever the timing.
      const script = `exec 3<>"$FIFO"; exec 4>"$FIFO"; exec 3<&-; "$NODE" "$CLI" ${args.join(' ')} >&4`;
      const r = spawnSync('bash', ['-c', script], { env: { ...process.env, FIFO: fifo, NODE: process.execPath, CLI }, encoding: 'utf8' });
      assert.equal(r.stderr, '', `${args}`);
      assert.equal(r.status, EXIT.STDOUT_CLOSED, `${args}`);
    }
  } finally {
    removeDir(dir);
  }
});

test('-V, -h and the report name the program and version of package.json', async () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string; bin: Record<string, string> };
  assert.ok(pkg.name in pkg.bin, 'the command is the package name');
  const line = `${pkg.name} ${pkg.version} (tcpflow 1.6.1 compatible)\n`;
  for (const args of [['-V'], ['--version'], ['-r', 'x', '--vers']]) {
    const r = await runCli(args);
    assert.equal(r.code, EXIT.OK);
    assert.equal(r.stdout.toString(), line);
  }
  assert.ok((await runCli(['-h'])).stdout.toString().startsWith(line));
  const dir = makeTempDir();
  try {
    const r = await runCli(['-r', path.join(PCAP_DIR, 'tcpflow__test1.pcap'), '-o', dir]);
    assert.equal(r.code, EXIT.OK, r.stderr);
    const report = fs.readFileSync(path.join(dir, 'report.xml'), 'utf8');
    assert.match(report, new RegExp(`<creator version="1.0">\\s*<program>${pkg.name}</program>\\s*<version>${pkg.version.replace(/\./g, '\\.')}</version>`));
  } finally {
    removeDir(dir);
  }
});

test('`tcpflow-ts existing.pcap` suggests -r, nothing is written', async () => {
  const dir = makeTempDir();
  try {
    fs.copyFileSync(path.join(PCAP_DIR, 'tcpflow__test1.pcap'), path.join(dir, 'existing.pcap'));
    const r = await runCli(['existing.pcap'], { cwd: dir });
    assert.equal(r.code, EXIT.USAGE);
    assert.equal(r.stderr, 'tcpflow-ts: no input: operands are a filter expression unless -l is given; did you mean -r existing.pcap?\n' +
      "Try 'tcpflow-ts --help' for more information.\n");
    assert.deepEqual(fs.readdirSync(dir), ['existing.pcap']);
  } finally {
    removeDir(dir);
  }
});

test('an exception nothing caught (a bug) says so in one line with status 4, thrown in a callback or as an unhandled rejection', async () => {
  const dir = makeTempDir();
  try {
    // A bug planted in the run's first callback: the read of standard input's first bytes
    // (reader.ts peekStdin, through a pipe) goes through fs.read, whose callback then throws or rejects.
    const capture = path.join(PCAP_DIR, 'tcpflow__test1.pcap');
    for (const [how, planted] of [['throw', 'throw new Error(\'planted\')'], ['reject', 'Promise.reject(new Error(\'planted\'))']]) {
      const preload = path.join(dir, `${how}.js`);
      fs.writeFileSync(preload, 'const fs = require("node:fs"); const read = fs.read;\n' +
        `fs.read = function (...a) { a[a.length - 1] = () => { fs.read = read; ${planted}; }; return read.apply(this, a); };\n`);
      const r = await runCli(['-r', '-', '-o', path.join(dir, how)], { env: { NODE_OPTIONS: `--require ${preload}` }, stdin: { file: capture, pipe: true } });
      assert.equal(r.code, EXIT.WORKER, `${how}: ${r.stderr}`);
      const lines = r.stderr.split('\n');
      assert.equal(lines[0], 'tcpflow-ts: internal error (please report): Error: planted', how);
      // Then the stack (where it was thrown), and nothing of Node's own report of it.
      assert.match(lines[1], /^ {4}at /, how);
      assert.doesNotMatch(r.stderr, /Node\.js v|triggerUncaughtException|\^$/m, how);
    }
  } finally {
    removeDir(dir);
  }
});
