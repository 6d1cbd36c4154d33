/**
 * Directories and several inputs (src/capture/inputs.ts), end to end: tcpflow__jpegs.cap cut
 * into 13 rotated pieces (fixtures/rotated: names out of time order, xz, bzip2, zstd and
 * pcapng pieces; gzip pieces added here) read as a directory gives the same flow files
 * (names, bytes, mtimes) and report records as the whole capture, for 1 and 4 workers; so
 * does a shuffled -l list with --sort-inputs, while without it one warning names the pair
 * out of order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { makeTempDir, md5hex, normalizeReport, PCAP_DIR, REPO_ROOT, removeDir, runCli, type RunResult, walkFiles } from '../helpers/corpus';

const ROTATED = path.join(REPO_ROOT, 'fixtures', 'rotated');
const WHOLE = path.join(PCAP_DIR, 'tcpflow__jpegs.cap');

interface Outcome {
  run: RunResult;
  /** rel path → md5 and mtime of every flow file. */
  files: Map<string, string>;
  jsonl: string;
  report: string;
}

async function runInto(dir: string, args: readonly string[]): Promise<Outcome> {
  const out = path.join(dir, 'out');
  const jsonl = path.join(dir, 'flows.jsonl');
  fs.mkdirSync(dir, { recursive: true });
  const run = await runCli([...args, '-o', out, '-e', 'md5', '--jsonl', jsonl], { timeoutMs: 60_000 });
  const files = new Map<string, string>();
  for (const f of walkFiles(out)) {
    if (f.rel === 'report.xml') continue;
    files.set(f.rel, `${md5hex(fs.readFileSync(f.abs))} ${fs.statSync(f.abs).mtimeMs}`);
  }
  const report = fs.existsSync(path.join(out, 'report.xml')) ? fs.readFileSync(path.join(out, 'report.xml'), 'utf8') : '';
  return {
    run,
    files,
    // Names are under the output directory: compare them relative to it.
    jsonl: fs.existsSync(jsonl) ? fs.readFileSync(jsonl, 'utf8').split(`"${out}/`).join('"') : '',
    report: report === '' ? '' : JSON.stringify(normalizeReport(report, out, true)),
  };
}

/** The rotated pieces in a fresh directory, two more of them gzipped (one without a suffix), a sub-directory, and things to skip. */
function rotatedDir(root: string): string {
  const dir = path.join(root, 'captures');
  fs.mkdirSync(path.join(dir, 'older'), { recursive: true });
  for (const name of fs.readdirSync(ROTATED)) {
    if (name === 'ORIGIN.md') continue;
    const bytes = fs.readFileSync(path.join(ROTATED, name));
    if (name === 'jpegs.pcap2') fs.writeFileSync(path.join(dir, 'jpegs.pcap2.gz'), zlib.gzipSync(bytes));
    else if (name === 'jpegs.pcap9') fs.writeFileSync(path.join(dir, 'older', name), zlib.gzipSync(bytes));
    else if (name === 'jpegs.pcap1') fs.writeFileSync(path.join(dir, 'older', name), bytes);
    else fs.writeFileSync(path.join(dir, name), bytes);
  }
  fs.writeFileSync(path.join(dir, 'NOTES.txt'), 'not a capture\n');
  // A dot directory holding a copy of a piece: read, it would change the output.
  fs.mkdirSync(path.join(dir, '.partial'));
  fs.copyFileSync(path.join(ROTATED, 'jpegs.pcap4'), path.join(dir, '.partial', 'jpegs.pcap4'));
  // A second link to a piece, and a loop: each read once.
  fs.symlinkSync(path.join(dir, 'jpegs.pcap4'), path.join(dir, 'zz-link'));
  fs.symlinkSync(dir, path.join(dir, 'older', 'loop'));
  return dir;
}

test('a directory of rotated, compressed, pcapng pieces gives what the whole capture gives, for 1 and 4 workers', async () => {
  const tmp = makeTempDir();
  try {
    const whole = await runInto(path.join(tmp, 'whole'), ['-r', WHOLE]);
    assert.equal(whole.run.code, 0, whole.run.stderr);
    assert.ok(whole.files.size > 20);
    const dir = rotatedDir(tmp);
    for (const workers of ['1', '4']) {
      const r = await runInto(path.join(tmp, `dir${workers}`), ['-r', dir, '--workers', workers]);
      assert.equal(r.run.code, 0, r.run.stderr);
      assert.deepEqual([...r.files.entries()], [...whole.files.entries()], `flow files, ${workers} workers`);
      assert.equal(r.jsonl, whole.jsonl, `JSON Lines records, ${workers} workers`);
      assert.equal(r.report, whole.report, `report.xml records, ${workers} workers`);
      const warnings = r.run.stderr.split('\n').filter((l) => l.includes('skipped')).sort();
      assert.deepEqual(warnings, [
        `tcpflow-ts: ${dir}/NOTES.txt: skipped: not a capture file (unknown file format)`,
        `tcpflow-ts: ${dir}/zz-link: skipped: the same file as ${dir}/jpegs.pcap4`,
      ]);
      assert.doesNotMatch(r.run.stderr, /earlier than/); // pieces of one capture do not overlap
    }
  } finally {
    removeDir(tmp);
  }
});

test('-l with names out of time order: one warning naming the pair; --sort-inputs reads them as the whole capture', async () => {
  const tmp = makeTempDir();
  try {
    const names = fs.readdirSync(ROTATED).filter((n) => n !== 'ORIGIN.md').sort(); // jpegs.pcap, 1, 10, 11, 12, 2, ...
    const files = names.map((n) => path.join(ROTATED, n));
    const whole = await runInto(path.join(tmp, 'whole'), ['-r', WHOLE]);
    const unsorted = await runInto(path.join(tmp, 'unsorted'), ['-l', ...files]);
    assert.equal(unsorted.run.code, 0, unsorted.run.stderr);
    const lines = unsorted.run.stderr.split('\n').filter((l) => l.includes('earlier than'));
    assert.equal(lines.length, 1, unsorted.run.stderr);
    assert.match(lines[0], new RegExp(`^tcpflow-ts: ${ROTATED}/jpegs\\.pcap2: its first packet \\(2004-11-19T22:29:\\d\\d\\.\\d{6}Z\\) is earlier than the last packet of ${ROTATED}/jpegs\\.pcap12 .*--sort-inputs`));
    assert.notDeepEqual([...unsorted.files.entries()], [...whole.files.entries()]);
    for (const workers of ['1', '4']) {
      const sorted = await runInto(path.join(tmp, `sorted${workers}`), ['--sort-inputs', '--workers', workers, '-l', ...files.reverse()]);
      assert.equal(sorted.run.code, 0, sorted.run.stderr);
      assert.doesNotMatch(sorted.run.stderr, /earlier than/);
      assert.deepEqual([...sorted.files.entries()], [...whole.files.entries()]);
      assert.equal(sorted.jsonl, whole.jsonl);
      assert.equal(sorted.report, whole.report);
    }
    // Standard input cannot be read ahead to be ordered.
    const stdin = await runCli(['--sort-inputs', '-r', '-', '-r', WHOLE, '-o', path.join(tmp, 'stdin')]);
    assert.equal(stdin.code, 2);
    assert.match(stdin.stderr, /--sort-inputs cannot order standard input/);
  } finally {
    removeDir(tmp);
  }
});

test('a directory without captures, or unreadable: one line naming it, exit 1, the other inputs still read', async () => {
  const tmp = makeTempDir();
  try {
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty);
    fs.writeFileSync(path.join(empty, 'x.txt'), 'text');
    const r = await runCli(['-r', empty, '-r', WHOLE, '-o', path.join(tmp, 'out')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`tcpflow-ts: ${empty}: no capture files in this directory`));
    assert.ok(fs.readdirSync(path.join(tmp, 'out')).length > 20, 'the capture after it is read');
  } finally {
    removeDir(tmp);
  }
});

test('-R DIR finishes connections from the pieces in time order', async () => {
  const tmp = makeTempDir();
  try {
    // The first three pieces with -r, the rest as a -R directory, against the same as files in order.
    const dir = path.join(tmp, 'rest');
    fs.mkdirSync(dir);
    const order = ['jpegs.pcap3.xz', 'jpegs.pcap4', 'jpegs.pcap5.bz2', 'jpegs.pcap6', 'jpegs.pcap7', 'jpegs.pcap8', 'jpegs.pcap9', 'jpegs.pcap10', 'jpegs.pcap11', 'jpegs.pcap12'];
    for (const n of order) fs.copyFileSync(path.join(ROTATED, n), path.join(dir, n));
    const head = ['jpegs.pcap', 'jpegs.pcap1', 'jpegs.pcap2'].flatMap((n) => ['-r', path.join(ROTATED, n)]);
    const a = await runInto(path.join(tmp, 'a'), [...head, '-R', dir]);
    const b = await runInto(path.join(tmp, 'b'), [...head, ...order.flatMap((n) => ['-R', path.join(ROTATED, n)])]);
    assert.equal(a.run.code, 0, a.run.stderr);
    assert.deepEqual([...a.files.entries()], [...b.files.entries()]);
    assert.equal(a.jsonl, b.jsonl);
  } finally {
    removeDir(tmp);
  }
});

test('a file given twice (-r twice, -l, a symlink to it): one warning line naming it, and it is read again as tcpflow does', async () => {
  const tmp = makeTempDir();
  try {
    const link = path.join(tmp, 'link.cap');
    fs.symlinkSync(WHOLE, link);
    const once = await runInto(path.join(tmp, 'once'), ['-r', WHOLE]);
    for (const [name, args, second] of [
      ['twice', ['-r', WHOLE, '-r', WHOLE], WHOLE],
      ['list', ['-l', WHOLE, WHOLE], WHOLE],
      ['symlink', ['-r', WHOLE, '-r', link], link],
    ] as const) {
      const r = await runInto(path.join(tmp, name), args);
      assert.equal(r.run.code, 0, r.run.stderr);
      const lines = r.run.stderr.split('\n').filter((l) => l.includes('given twice'));
      assert.deepEqual(lines, [`tcpflow-ts: ${second}: the same file as ${WHOLE}, given twice: read again (as tcpflow does), its packets are processed twice`], name);
      // Read again: every packet counted twice; the flows' bytes are the same.
      const packets = (x: string) => Number(/<total_packets>(\d+)<\/total_packets>/.exec(x)?.[1]);
      assert.equal(packets(r.report), 2 * packets(once.report), name);
      assert.deepEqual([...r.files.keys()].filter((k) => !k.endsWith('c1')), [...once.files.keys()], name);
    }
    const plain = await runInto(path.join(tmp, 'plain'), ['-r', WHOLE, '-r', path.join(PCAP_DIR, 'tcpflow__test1.pcap')]);
    assert.doesNotMatch(plain.run.stderr, /given twice/);
  } finally {
    removeDir(tmp);
  }
});
