/**
 * The least any Node program reading a capture file with read(2) can take, as floors for
 * `-FX` (scripts/bench-fx.py runs them beside `cat`, tcpflow -FX and tcpflow-ts -FX):
 *
 * - `walk`: one thread reads the file in 4 MiB pieces (as the coordinator does) and walks
 *   its pcap records (each position from the previous record's length); no decoding, no
 *   flows. What a single reading thread costs before any per-packet work.
 * - `split`: two worker threads each read one half of the file with positional reads and
 *   touch a byte per 1,034 (bulk.pcap's mean record); no record walk (a half's first record
 *   is not known). The copy out of the page cache on both cores at once, plus Node's start
 *   and a thread's boot: below it no design that reads the bytes can go.
 *
 * usage: node dist/scripts/bench-fx-floor.js walk|split FILE   (prints the records or bytes seen)
 */
import * as fs from 'node:fs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

const PIECE = 4 * 1024 * 1024;
const PCAP_HEADER = 24;
const RECORD_HEADER = 16;

function walk(path: string): number {
  const fd = fs.openSync(path, 'r');
  const buf = Buffer.allocUnsafe(PIECE);
  let carry = 0, records = 0, first = true, n: number;
  while ((n = fs.readSync(fd, buf, carry, buf.length - carry, null)) > 0) {
    const end = carry + n;
    let p = first ? PCAP_HEADER : 0;
    first = false;
    while (p + RECORD_HEADER <= end) {
      const cap = buf.readUInt32LE(p + 8);
      if (p + RECORD_HEADER + cap > end) break;
      p += RECORD_HEADER + cap;
      records++;
    }
    if (p === 0 && end === buf.length) throw new Error(`${path}: a record larger than ${PIECE} bytes`);
    buf.copy(buf, 0, p, end);
    carry = end - p;
  }
  fs.closeSync(fd);
  return records;
}

interface Half { path: string; from: number; to: number }

function readHalf(h: Half): number {
  const fd = fs.openSync(h.path, 'r');
  const buf = Buffer.allocUnsafe(PIECE);
  let at = h.from, sum = 0;
  while (at < h.to) {
    const n = fs.readSync(fd, buf, 0, Math.min(buf.length, h.to - at), at);
    if (n <= 0) break;
    for (let p = 0; p < n; p += 1034) sum += buf[p];
    at += n;
  }
  fs.closeSync(fd);
  return sum;
}

function split(path: string): void {
  const size = fs.statSync(path).size, middle = Math.floor(size / 2);
  let left = 2, sum = 0;
  for (const [from, to] of [[0, middle], [middle, size]]) {
    new Worker(__filename, { workerData: { path, from, to } satisfies Half }).on('message', (s: number) => {
      sum += s;
      if (--left === 0) process.stdout.write(`${sum}\n`);
    });
  }
}

if (!isMainThread) parentPort?.postMessage(readHalf(workerData as Half));
else {
  const [mode, path] = process.argv.slice(2);
  if (mode === 'walk' && path !== undefined) process.stdout.write(`${walk(path)}\n`);
  else if (mode === 'split' && path !== undefined) split(path);
  else {
    process.stderr.write('usage: bench-fx-floor.js walk|split FILE\n');
    process.exitCode = 2;
  }
}
