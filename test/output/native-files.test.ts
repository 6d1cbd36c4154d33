/**
 * The optional addon native/tcpflow-ts-files (src/output/native-files.ts) and the flow-file
 * store's use of it: a file opened relative to the output directory's descriptor, and its
 * last write, times and close in one call, must leave what node:fs leaves: the same bytes,
 * the same atime and mtime to the nanosecond (libuv's truncation to whole microseconds),
 * the same names; its failures come back as -errno, never as a crash; a name from `/` on
 * never leaves the output directory. End to end: runs with the addon and with
 * TCPFLOW_TS_NATIVE_FILES=0 (node:fs) give the same output, with subdirectories (-Fk), a
 * descriptor cap (-f 3: files closed and opened again) and the output directory given as `.`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FlowFile, FlowFileStore } from '../../src/output/flow-files';
import { nativeFiles, type NativeFiles } from '../../src/output/native-files';
import { Template } from '../../src/output/template';
import { collectResult, makeTempDir, PCAP_DIR, removeDir, runCli } from '../helpers/corpus';
import { ip4 } from '../helpers/packets';

const addon = nativeFiles();
const skip = addon === null ? 'the optional tcpflow-ts-files addon is not built (npm ci builds it with a C compiler)' : false;
const { O_CREAT, O_EXCL, O_RDWR, O_TRUNC } = fs.constants;

function mtimeNs(p: string): bigint {
  return fs.statSync(p, { bigint: true }).mtimeNs;
}

test('finish: one piece or several at a position, then the times node:fs would set, then close', { skip }, () => {
  const a = addon as NativeFiles;
  const dir = makeTempDir('native-files-');
  try {
    const dirfd = a.openDir(dir);
    assert.ok(dirfd >= 0);
    const fd = a.openAt(dirfd, 'one', O_CREAT | O_EXCL | O_RDWR, 0o666);
    assert.ok(fd >= 0);
    assert.equal(a.finish(fd, Uint8Array.from([9, 1, 2, 3, 9]), 1, 3, 2, 1_000_000_000.2500005), 0);
    assert.deepEqual([...fs.readFileSync(path.join(dir, 'one'))], [0, 0, 1, 2, 3]);
    const pieces = [Uint8Array.from([1, 2]), Uint8Array.from([7, 3, 4]).subarray(1), new Uint8Array(0), Uint8Array.from([5])];
    const fd2 = a.openAt(dirfd, 'several', O_CREAT | O_EXCL | O_RDWR, 0o666);
    assert.equal(a.finish(fd2, pieces, 0, 5, 0, null), 0);
    assert.deepEqual([...fs.readFileSync(path.join(dir, 'several'))], [1, 2, 3, 4, 5]);
    fs.closeSync(dirfd);
  } finally {
    removeDir(dir);
  }
});

test('write: one piece or a run of pieces at a position, all of it, the descriptor left open; bad arguments are EINVAL', { skip }, () => {
  const a = addon as NativeFiles;
  const dir = makeTempDir('native-files-');
  try {
    const p = path.join(dir, 'w');
    const fd = fs.openSync(p, 'w+');
    const big = Uint8Array.from({ length: 300_000 }, (_, i) => i & 0xff);
    assert.equal(a.write(fd, big, 5, 200_000, 10), 0);
    assert.equal(a.write(fd, [Uint8Array.from([1, 2]), big.subarray(0, 3)], 0, 5, 0), 0);
    assert.equal(a.write(fd, null, 0, 0, 7), 0);
    const got = fs.readFileSync(p);
    assert.equal(got.length, 200_010);
    assert.deepEqual([...got.subarray(0, 10)], [1, 2, 0, 1, 2, 0, 0, 0, 0, 0]);
    assert.ok(got.subarray(10).equals(big.subarray(5, 200_005)));
    const einval = -(os.constants.errno as Record<string, number>).EINVAL;
    assert.equal(a.write(fd, big, 0, 300_001, 0), einval);
    assert.equal(a.write(fd, [big], 1, 300_000, 0), einval);
    assert.equal(a.write(fd, big, 0, 1, -1), einval);
    assert.equal(a.write(fd, big, 0, 1, NaN), einval);
    fs.fstatSync(fd); // still open
    fs.closeSync(fd);
    assert.equal(a.write(fd, big, 0, 1, 0), -(os.constants.errno as Record<string, number>).EBADF);
  } finally {
    removeDir(dir);
  }
});

test('finish stamps the time fs.futimesSync stamps, to the nanosecond; before 1970, the microsecond meant (1,000 times)', { skip }, () => {
  const a = addon as NativeFiles;
  const dir = makeTempDir('native-files-');
  try {
    const dirfd = a.openDir(dir);
    let seed = 12345;
    const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    // Whole seconds and microseconds, as FlowFile.mtime() gets them (it adds 0.5 us).
    const times: [number, number][] = [[0, 0], [0, 999_999], [-1, 500_000], [-2, 999_999], [-1, 0], [1_700_000_000, 999_999], [2 ** 31, 500_000], [2 ** 33, 123_456]];
    while (times.length < 1000) times.push([Math.floor((rand() - 0.1) * 4e9), Math.floor(rand() * 1e6)]);
    for (const [i, [sec, usec]] of times.entries()) {
      const t = sec + (usec + 0.5) / 1e6;
      const nfd = a.openAt(dirfd, `native${i}`, O_CREAT | O_TRUNC | O_RDWR, 0o666);
      assert.equal(a.finish(nfd, null, 0, 0, 0, t), 0);
      const st = fs.statSync(path.join(dir, `native${i}`), { bigint: true });
      assert.equal(st.mtimeNs, BigInt(sec) * 1_000_000_000n + BigInt(usec) * 1000n, `${sec} s ${usec} us`);
      assert.equal(st.atimeNs, st.mtimeNs);
      if (t < 0) continue; // node:fs would stamp the current time
      const viaFs = path.join(dir, `fs${i}`);
      const fd = fs.openSync(viaFs, 'w');
      fs.futimesSync(fd, t, t);
      fs.closeSync(fd);
      assert.equal(st.mtimeNs, mtimeNs(viaFs), `${sec} s ${usec} us`);
    }
    fs.closeSync(dirfd);
  } finally {
    removeDir(dir);
  }
});

test('failures are -errno, never an exception: EEXIST, EBADF, ENOENT, ENAMETOOLONG, EINVAL for bad arguments (closing the descriptor)', { skip }, () => {
  const a = addon as NativeFiles;
  const dir = makeTempDir('native-files-');
  try {
    const dirfd = a.openDir(dir);
    const errno = os.constants.errno as Record<string, number>;
    fs.writeFileSync(path.join(dir, 'taken'), 'x');
    assert.deepEqual({ ...a.errno }, { EEXIST: errno.EEXIST, EMFILE: errno.EMFILE, ENFILE: errno.ENFILE });
    assert.equal(a.openAt(dirfd, 'taken', O_CREAT | O_EXCL | O_RDWR, 0o666), -errno.EEXIST);
    assert.equal(a.openAt(dirfd, 'no/such/dir', O_CREAT | O_RDWR, 0o666), -errno.ENOENT);
    assert.equal(a.openAt(dirfd, 'n'.repeat(5000), O_CREAT | O_RDWR, 0o666), -errno.ENAMETOOLONG);
    assert.equal(a.openDir(path.join(dir, 'missing')), -errno.ENOENT);
    assert.equal(a.openDir(path.join(dir, 'taken')), -errno.ENOTDIR);
    const fd = a.openAt(dirfd, 'f', O_CREAT | O_RDWR, 0o666);
    assert.equal(a.finish(fd, null, 0, 0, 0, null), 0);
    assert.equal(a.finish(fd, Uint8Array.from([1]), 0, 1, 0, 5), -errno.EBADF, 'a closed descriptor');
    const b = new Uint8Array(4);
    const bad: [unknown, number, number][] = [
      [b, 2, 3], [b, 5, 0 + 1], [b, -1, 1], [new Uint16Array(4), 0, 2], ['text', 0, 2], [null, 0, 1],
      [[b, b], 0, 5], [[b, 'x'], 0, 5], [Array.from({ length: 1025 }, () => Uint8Array.from([1])), 0, 1025],
    ];
    for (const [data, off, len] of bad) {
      const g = a.openAt(dirfd, 'g', O_CREAT | O_RDWR, 0o666);
      assert.equal(a.finish(g, data as Uint8Array, off, len, 0, null), -errno.EINVAL, `${String(data).slice(0, 20)} ${off} ${len}`);
      // Arguments refused: nothing written, and the descriptor closed all the same.
      assert.throws(() => fs.fstatSync(g), { code: 'EBADF' });
    }
    assert.equal(fs.statSync(path.join(dir, 'g')).size, 0);
    fs.closeSync(dirfd);
  } finally {
    removeDir(dir);
  }
});

function flow(port: number) {
  return {
    src: ip4('10.0.0.1'), dst: ip4('10.0.0.2'), sport: port, dport: 80, vlan: -1, mac: null,
    startSec: 1_000_000_000, startUsec: 250_001, lastSec: 1_000_000_000, lastUsec: 250_001, flowId: 0, sessionId: 0,
  };
}

/**
 * Files of one and several pieces under a cap of 2 descriptors (closed and reopened), the
 * addon used from the `nativeAfter`th file created on (Infinity: node:fs only).
 */
function storeRun(dir: string, nativeAfter: number, template: string): void {
  const store = new FlowFileStore(2, null, null, nativeAfter);
  const t = new Template(template);
  const files: FlowFile[] = [];
  const chunk = Uint8Array.from({ length: 64 }, (_, i) => i);
  for (let f = 0; f < 6; f++) files.push(store.create(dir + '/', t, flow(1000 + f), false));
  for (let round = 0; round < 3; round++) {
    for (const [f, ff] of files.entries()) {
      ff.write(ff.size, chunk, f, 3);
      if (f % 2 === 0) ff.write(ff.size, chunk, 20 + round, 4 + f); // contiguous: a run of two pieces
    }
    if (round < 2) store.flushAll();
  }
  for (const ff of files) ff.close();
  store.close();
}

function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((x, y) => (x.name < y.name ? -1 : 1))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(`${path.relative(dir, p)} ${fs.readFileSync(p).toString('hex')} ${mtimeNs(p)}`);
    }
  };
  walk(dir);
  return out;
}

test('the store with the addon writes what it writes through node:fs: names (subdirectories made on demand), bytes, times', { skip }, () => {
  for (const template of ['%a', 'sub%a/%A-%a', '/%a']) {
    // The addon from the first file, from the fourth (files node:fs opened, the addon writes and closes), never.
    const dirs = [0, 3, Infinity].map((after) => {
      const dir = makeTempDir('native-files-');
      storeRun(dir, after, template);
      return dir;
    });
    try {
      const [a, b, c] = dirs.map(listing);
      assert.equal(a.length, 6, template);
      assert.deepEqual(a, c, template);
      assert.deepEqual(b, c, template);
      // A name from / on stays in the output directory (the store's prefix), as node:fs has it.
      if (template.startsWith('/')) assert.ok(a.every((l) => !l.includes('/')), a.join('\n'));
    } finally {
      for (const d of dirs) removeDir(d);
    }
  }
});

test('an output directory deleted under the store is made again, as node:fs does (the addon\'s openat fails there)', { skip }, () => {
  const top = makeTempDir('native-files-');
  try {
    const dir = path.join(top, 'out');
    fs.mkdirSync(dir);
    const store = new FlowFileStore(10, null, null, 0);
    const t = new Template('%a');
    const put = (port: number) => {
      const ff = store.create(dir + '/', t, flow(port), false);
      ff.write(0, Uint8Array.from([port & 0xff]), 0, 1);
      ff.close();
    };
    put(1);
    fs.rmSync(dir, { recursive: true });
    put(2);
    put(3);
    store.close();
    assert.deepEqual(fs.readdirSync(dir).sort(), ['00002', '00003']);
    assert.deepEqual([...fs.readFileSync(path.join(dir, '00003'))], [3]);
  } finally {
    removeDir(top);
  }
});

test('runs with the addon and with node:fs (TCPFLOW_TS_NATIVE_FILES=0) leave the same files, times and report', { skip }, async () => {
  const captures = ['tcpflow__test7-three-flows.pcap', 'pcapplusplus__650HttpResponses.pcap', 'tcpflow__jpegs.cap'];
  const optionSets: string[][] = [[], ['-Fk'], ['-f', '3'], ['-Fc', '-a']];
  for (const capture of captures) {
    for (const opts of optionSets) {
      const results = [];
      // SOURCE_DATE_EPOCH: -a's netviz pages carry the date of their making otherwise. =1: the
      // addon from the first file (a run uses node:fs for its first 1,024 otherwise).
      for (const env of [{ SOURCE_DATE_EPOCH: '1700000000', TCPFLOW_TS_NATIVE_FILES: '1' }, { SOURCE_DATE_EPOCH: '1700000000', TCPFLOW_TS_NATIVE_FILES: '0' }]) {
        const out = makeTempDir('native-files-run-');
        try {
          // The output directory as `.`: the run's own working directory.
          const r = await runCli([...opts, '-r', path.join(PCAP_DIR, capture), '-o', '.'], { cwd: out, env });
          assert.equal(r.code, 0, r.stderr);
          const c = collectResult(out, r);
          results.push({
            files: c.files.map((f) => ({ path: f.path, md5: f.md5, size: f.size, mtime: f.mtime_us })),
            flows: c.report?.flows,
          });
        } finally {
          removeDir(out);
        }
      }
      assert.ok(results[0].files.length > 1, `${capture} ${opts.join(' ')}`);
      assert.deepEqual(results[0], results[1], `${capture} ${opts.join(' ')}`);
    }
  }
});
