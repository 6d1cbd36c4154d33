/**
 * What a flow file costs in system calls, the way the workers make them (fs.*Sync, one
 * thread): N files of 2.5 kB in one directory, `open` at a time, each created with
 * O_CREAT|O_EXCL, written, stamped and closed in the patterns below. It measures the floor
 * under many and conc (one file per flow direction) and whether a write less per file
 * pays: on tmpfs a file's first write allocates its page, and a second write into the same
 * page costs next to nothing, so copying a short flow's bytes to write them once does not
 * (README, "Workers: session 11"). The last two patterns make the one-write file's calls
 * through the optional addon native/tcpflow-ts-files, as the workers do when it is built:
 * its write + futimens + close in one call after node:fs's open, and also its openat in the
 * directory's descriptor (README, "Workers: session 12"); left out when it is not built.
 *
 * usage: node dist/scripts/bench-file-calls.js [DIR] [N] [ROUNDS]   (default /dev/shm 40000 5)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nativeFiles } from '../src/output/native-files';

const { O_CREAT, O_EXCL, O_RDWR } = fs.constants;
const SIZE = 2500;
/** Where a two-write file's first write ends (a short request, or a response cut by a chunk's end). */
const HALF = 1200;
/** Files open at once (conc has ~15,000 a worker; the pattern matters, not the count). */
const OPEN = 2000;

type Pattern = 'open+close' | 'open+write+close' | 'open+write+futimes+close' | 'two writes' | 'copy, one writev' |
  'open, addon finish' | 'addon openat + finish';
const addon = nativeFiles();
const PATTERNS: Pattern[] = ['open+close', 'open+write+close', 'open+write+futimes+close', 'two writes', 'copy, one writev',
  ...(addon === null ? [] : ['open, addon finish', 'addon openat + finish'] as const)];

const data = Buffer.alloc(4 << 20);
for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
const carry = Buffer.alloc(OPEN * SIZE);

/** CPU µs per file (user + system) for one pattern. */
function run(dir: string, n: number, pattern: Pattern): number {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir);
  const start = process.cpuUsage();
  const fds: number[] = [];
  const dirfd = pattern === 'addon openat + finish' && addon !== null ? addon.openDir(dir) : -1;
  for (let base = 0; base < n; base += OPEN) {
    fds.length = 0;
    for (let i = 0; i < OPEN; i++) {
      // Names as long as the default template's for IPv4.
      const name = `010.002.${String(base + i).padStart(9, '0')}.01024-198.051.100.001.00080`;
      fds.push(dirfd >= 0 && addon !== null ? addon.openAt(dirfd, name, O_CREAT | O_EXCL | O_RDWR, 0o666) : fs.openSync(path.join(dir, name), O_CREAT | O_EXCL | O_RDWR, 0o666));
    }
    // What a chunk's end does: the first part is written (or copied to be written later).
    for (let i = 0; i < OPEN; i++) {
      const off = (i * SIZE) % (data.length - SIZE);
      if (pattern === 'two writes') fs.writeSync(fds[i], data, off, HALF, 0);
      else if (pattern === 'copy, one writev') data.copy(carry, i * SIZE, off, off + HALF);
    }
    // The flow ends.
    for (let i = 0; i < OPEN; i++) {
      const off = (i * SIZE) % (data.length - SIZE), fd = fds[i];
      if (addon !== null && (pattern === 'open, addon finish' || pattern === 'addon openat + finish')) {
        if (addon.finish(fd, data, off, SIZE, 0, 1.7e9) !== 0) throw new Error(`${dir}: the addon failed`);
        continue;
      }
      if (pattern === 'two writes') fs.writeSync(fd, data, off + HALF, SIZE - HALF, HALF);
      else if (pattern === 'copy, one writev') fs.writevSync(fd, [carry.subarray(i * SIZE, i * SIZE + HALF), data.subarray(off + HALF, off + SIZE)], 0);
      else if (pattern !== 'open+close') fs.writeSync(fd, data, off, SIZE, 0);
      if (pattern !== 'open+close' && pattern !== 'open+write+close') fs.futimesSync(fd, 1.7e9, 1.7e9);
      fs.closeSync(fd);
    }
  }
  const used = process.cpuUsage(start);
  if (dirfd >= 0) fs.closeSync(dirfd);
  fs.rmSync(dir, { recursive: true, force: true });
  return (used.user + used.system) / n;
}

function main(): void {
  const top = process.argv[2] ?? '/dev/shm';
  const n = Number(process.argv[3] ?? 40000);
  const rounds = Number(process.argv[4] ?? 5);
  const dir = path.join(top, `bench-file-calls-${process.pid}`);
  const times = new Map<Pattern, number[]>(PATTERNS.map((p) => [p, []]));
  // Alternating, so that a busy moment of a shared machine spreads over every pattern.
  for (let r = 0; r < rounds; r++) for (const p of PATTERNS) (times.get(p) as number[]).push(run(dir, n, p));
  console.log(`${n} files of ${SIZE} bytes in ${top}, ${OPEN} open at a time; CPU µs per file (user + system), median of ${rounds}`);
  for (const [p, t] of times) {
    t.sort((a, b) => a - b);
    console.log(`${p.padEnd(26)} ${t[t.length >> 1].toFixed(1).padStart(6)}   (${t.map((x) => x.toFixed(1)).join(' ')})`);
  }
}

main();
