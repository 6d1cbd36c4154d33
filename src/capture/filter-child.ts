/**
 * A filter expression applied to one capture file by libpcap, in a child process:
 * `node filter-child.js FILE EXPRESSION` writes, as a pcap stream on stdout, the records
 * of FILE ('-': stdin) the expression selects (what `tcpdump -r FILE -w - EXPRESSION`
 * writes). node_pcap reads an offline capture in one synchronous call, so run in the
 * coordinator it would hold the whole selection in memory; here a full pipe simply makes
 * the write wait. Exit status: 0 done, 2 libpcap refused the file or the expression
 * (its message on stderr), 3 libpcap stopped reading before the end (a damaged file).
 */
import * as fs from 'node:fs';
import { libpcap, linktypeOf, pcapMessage } from './libpcap';
import { exitProcess } from '../util/exit';

const OUT_BYTES = 1 << 20;
const SNAPLEN = 262144;
const sleepCell = new Int32Array(new SharedArrayBuffer(4));

function writeAll(buf: Uint8Array, len: number): void {
  let off = 0;
  while (off < len) {
    try {
      off += fs.writeSync(1, buf, off, len - off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') { Atomics.wait(sleepCell, 0, 0, 1); continue; }
      // The reader went away (the run stopped): nothing more to do.
      if (code === 'EPIPE') exitProcess(0);
      throw e;
    }
  }
}

function main(file: string, filter: string): number {
  const pcap = libpcap('a filter expression');
  const session = pcap.newSession();
  const buf = Buffer.alloc(SNAPLEN);
  const header = Buffer.alloc(16);
  const out = Buffer.alloc(OUT_BYTES + SNAPLEN + 16);
  let used = 0;
  const onPacket = (): void => {
    const caplen = Math.min(header.readUInt32LE(8), SNAPLEN);
    // Record header: seconds, microseconds, caplen, len (little-endian like the file header).
    header.copy(out, used, 0, 16);
    out.writeUInt32LE(caplen, used + 8);
    buf.copy(out, used + 16, 0, caplen);
    used += 16 + caplen;
    if (used >= OUT_BYTES) { writeAll(out, used); used = 0; }
  };
  let linktype: number;
  try {
    linktype = linktypeOf(session.open_offline(file, filter, 0, 0, '', onPacket, false, 0, () => undefined, false));
  } catch (e) {
    process.stderr.write(`${pcapMessage(e)}\n`);
    return 2;
  }
  const fileHeader = Buffer.alloc(24);
  fileHeader.writeUInt32LE(0xa1b2c3d4, 0);
  fileHeader.writeUInt16LE(2, 4);
  fileHeader.writeUInt16LE(4, 6);
  fileHeader.writeUInt32LE(SNAPLEN, 16);
  fileHeader.writeUInt32LE(linktype, 20);
  writeAll(fileHeader, 24);
  // One call reads to the end of the file (or to the first error).
  const last = session.dispatch(buf, header);
  if (used > 0) writeAll(out, used);
  return last < 0 ? 3 : 0;
}

// Every record is written (synchronously) by now: ended as a run is (Node's shutdown can hang).
exitProcess(main(process.argv[2], process.argv[3]));
