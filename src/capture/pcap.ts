/**
 * Classic libpcap savefiles: a 24-byte file header, then records of a 16-byte header
 * (ts_sec, ts_frac, caplen, origlen) followed by caplen packet bytes.
 */
import type { Chunk } from './chunk';
import { TcpflowError } from '../errors';
import type { CaptureInterface, RecordParser, Source, Truncation } from './reader';

/** Larger captured lengths are corrupt whatever the buffer size. */
export const MAX_CAPLEN = 256 * 1024 * 1024;
const FILE_HEADER = 24;
const RECORD_HEADER = 16;

class PcapParser implements RecordParser {
  readonly format = 'pcap' as const;

  constructor(
    private readonly path: string,
    private readonly le: boolean,
    private readonly nano: boolean,
    private readonly linktype: number,
    snaplen: number,
    fileHeader: Uint8Array,
  ) {
    this.firstInterface = { linktype, snaplen, fileHeader };
  }

  readonly firstInterface: CaptureInterface;

  parse(c: Chunk, v: DataView, pos: number, end: number, base: number, max: number): number {
    const le = this.le;
    const limit = Math.min(MAX_CAPLEN, c.input.length - 64);
    let n = c.count;
    while (n < max && end - pos >= RECORD_HEADER) {
      const caplen = v.getUint32(pos + 8, le);
      if (caplen > limit) {
        throw new TcpflowError('INPUT_CORRUPT',
          `${this.path}: invalid packet capture length ${caplen}, bigger than maximum of ${limit} (record at byte ${base + pos})`);
      }
      const next = pos + RECORD_HEADER + caplen;
      if (next > end) break;
      let sec = v.getUint32(pos, le);
      let usec = v.getUint32(pos + 4, le);
      if (this.nano) usec = Math.floor(usec / 1000);   // truncate like libpcap, never round
      // An out-of-range fraction (damaged file) is carried into the seconds so that
      // usec stays 0..999999 for consumers.
      if (usec >= 1000000) {
        sec += Math.floor(usec / 1000000);
        usec %= 1000000;
      }
      const origlen = v.getUint32(pos + 12, le);
      c.offset[n] = pos + RECORD_HEADER;
      c.caplen[n] = caplen;
      c.origlen[n] = origlen > 0x7fffffff ? 0x7fffffff : origlen;  // Int32 index; only hostile files get here
      c.sec[n] = sec;
      c.usec[n] = usec;
      c.linktype[n] = this.linktype;
      c.count = ++n;     // kept current so the records before a corrupt one survive a throw
      pos = next;
    }
    c.count = n;
    return pos;
  }

  incomplete(v: DataView, pos: number, end: number, base: number): Truncation {
    const avail = end - pos;
    if (avail < RECORD_HEADER) return { offset: base + pos, wanted: RECORD_HEADER, got: avail, what: 'header bytes' };
    return { offset: base + pos, wanted: v.getUint32(pos + 8, this.le), got: avail - RECORD_HEADER, what: 'captured bytes' };
  }
}

/** `magic` holds the first 4 bytes, already read from `src`. */
export function openPcap(src: Source, magic: Uint8Array): RecordParser {
  const head = new Uint8Array(FILE_HEADER);
  head.set(magic, 0);
  const got = src.readFull(head, 4, FILE_HEADER - 4);
  if (got < FILE_HEADER - 4) {
    // libpcap's wording and numbers: the whole header size, the bytes read after the magic.
    throw new TcpflowError('INPUT_TRUNCATED',
      `${src.path}: truncated dump file; tried to read ${FILE_HEADER} file header bytes, only got ${got}`);
  }
  const v = new DataView(head.buffer);
  const m = v.getUint32(0, false);
  const le = m === 0xd4c3b2a1 || m === 0x4d3cb2a1;
  const nano = m === 0xa1b23c4d || m === 0x4d3cb2a1;
  if (v.getUint16(4, le) < 2) throw new TcpflowError('INPUT_FORMAT', `${src.path}: archaic pcap savefile format`);
  // The upper bits of the link type field carry FCS information (libpcap's LT_LINKTYPE).
  const linktype = v.getUint32(20, le) & 0x03ffffff;
  return new PcapParser(src.path, le, nano, linktype, v.getUint32(16, le), head);
}
