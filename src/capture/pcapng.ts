/**
 * pcapng: a sequence of blocks (type, total length, body, total length again).
 * Packets come from Enhanced (6), Simple (3) and obsolete Packet (2) blocks; Section
 * Header Blocks set the byte order and start a new interface list; Interface
 * Description Blocks give each interface its link type and time resolution.
 */
import type { Chunk } from './chunk';
import { TcpflowError } from '../errors';
import type { CaptureInterface, RecordParser, Source, Truncation } from './reader';
import { MAX_CAPLEN } from './pcap';

const SHB = 0x0a0d0d0a;
const IDB = 1;
const OPB = 2;
const SPB = 3;
const EPB = 6;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const TWO32 = 4294967296;
/** Tick rates up to this use exact Number arithmetic (remainder * 1e6 stays below 2^53). */
const FAST_RATE_MAX = 2 ** 33;

interface Iface {
  linktype: number;
  rate: number;                 // ticks per second
  rateBig: bigint | null;       // set when rate > FAST_RATE_MAX
  offset: number;               // if_tsoffset, seconds
}

/** floor(a / b) for non-negative integers with a + b < 2^53. */
function floorDiv(a: number, b: number): number {
  let q = Math.floor(a / b);
  const r = a - q * b;
  if (r < 0) q--;
  else if (r >= b) q++;
  return q;
}

// Results of ticksToTime and divStep (no allocation per packet).
let tsSec = 0;
let tsUsec = 0;
let divQ = 0;
let divR = 0;

/** One step of long division by 16-bit digits: the partial dividend stays below 2^49. */
function divStep(digit: number, d: number): void {
  const cur = divR * 65536 + digit;
  const qd = floorDiv(cur, d);
  divR = cur - qd * d;
  divQ = divQ * 65536 + qd;
}

/** Split a 64-bit tick count (hi:lo) into whole seconds and truncated microseconds. */
function ticksToTime(hi: number, lo: number, ifc: Iface): void {
  if (ifc.rateBig === null) {
    const d = ifc.rate;
    divQ = 0;
    divR = 0;
    divStep(hi >>> 16, d);
    divStep(hi & 0xffff, d);
    divStep(lo >>> 16, d);
    divStep(lo & 0xffff, d);
    tsSec = divQ;
    tsUsec = d === 1000000 ? divR : floorDiv(divR * 1000000, d);
  } else {
    const t = (BigInt(hi) << 32n) | BigInt(lo);
    const d = ifc.rateBig;
    tsSec = Number(t / d);
    tsUsec = Number(((t % d) * 1000000n) / d);
  }
}

class PcapngParser implements RecordParser {
  readonly format = 'pcapng' as const;
  private le = false;
  private ifaces: Iface[] = [];
  firstInterface: CaptureInterface | null = null;

  constructor(private readonly path: string) {}

  private corrupt(offset: number, what: string): TcpflowError {
    return new TcpflowError('INPUT_CORRUPT', `${this.path}: corrupt pcapng file: ${what} (block at byte ${offset})`);
  }

  parse(c: Chunk, v: DataView, pos: number, end: number, base: number, max: number): number {
    const size = c.input.length;
    let n = c.count;
    // Every block is at least 12 bytes, and 12 bytes give the SHB byte order too.
    while (n < max && end - pos >= 12) {
      const at = base + pos;
      const type = v.getUint32(pos, this.le);   // the SHB type reads the same in both orders
      if (type === SHB) {
        const bom = v.getUint32(pos + 8, false);
        if (bom === BYTE_ORDER_MAGIC) this.le = false;
        else if (bom === 0x4d3c2b1a) this.le = true;
        else throw this.corrupt(at, 'bad byte-order magic in section header');
      }
      const le = this.le;
      const len = v.getUint32(pos + 4, le);
      if (len < 12 || len % 4 !== 0) throw this.corrupt(at, `block length ${len} is not a multiple of 4 of at least 12`);
      if (len > size) throw this.corrupt(at, `block length ${len} is larger than the maximum of ${size}`);
      if (len > end - pos) break;
      if (v.getUint32(pos + len - 4, le) !== len) throw this.corrupt(at, `trailing block length differs from ${len}`);

      switch (type) {
        case SHB: {
          if (len < 28) throw this.corrupt(at, `section header block length ${len} < 28`);
          const major = v.getUint16(pos + 12, le);
          if (major !== 1) {
            throw new TcpflowError('INPUT_FORMAT',
              `${this.path}: unsupported pcapng savefile version ${major}.${v.getUint16(pos + 14, le)}`);
          }
          this.ifaces = [];
          break;
        }
        case IDB:
          if (len < 20) throw this.corrupt(at, `interface description block length ${len} < 20`);
          this.ifaces.push(this.readIdb(v, pos, len, at));
          this.firstInterface ??= { linktype: v.getUint16(pos + 8, this.le), snaplen: v.getUint32(pos + 12, this.le) };
          break;
        case EPB:
        case OPB: {
          if (len < 32) throw this.corrupt(at, `packet block length ${len} < 32`);
          const id = type === EPB ? v.getUint32(pos + 8, le) : v.getUint16(pos + 8, le);
          const ifc = this.ifaces[id];
          if (ifc === undefined) throw this.corrupt(at, `packet for undefined interface ${id}`);
          const caplen = v.getUint32(pos + 20, le);
          if (caplen > len - 32 || caplen > MAX_CAPLEN) throw this.corrupt(at, `captured length ${caplen} exceeds the block`);
          const origlen = v.getUint32(pos + 24, le);
          ticksToTime(v.getUint32(pos + 12, le), v.getUint32(pos + 16, le), ifc);
          c.offset[n] = pos + 28;
          c.caplen[n] = caplen;
          c.origlen[n] = origlen > 0x7fffffff ? 0x7fffffff : origlen;
          c.sec[n] = tsSec + ifc.offset;
          c.usec[n] = tsUsec;
          c.linktype[n] = ifc.linktype;
          c.count = ++n;   // current even if a later block throws
          break;
        }
        case SPB: {
          if (len < 16) throw this.corrupt(at, `simple packet block length ${len} < 16`);
          const ifc = this.ifaces[0];
          if (ifc === undefined) throw this.corrupt(at, 'simple packet block before any interface');
          const origlen = v.getUint32(pos + 8, le);
          c.offset[n] = pos + 12;
          c.caplen[n] = Math.min(origlen, len - 16);
          c.origlen[n] = origlen > 0x7fffffff ? 0x7fffffff : origlen;
          c.sec[n] = 0;          // SPBs carry no timestamp
          c.usec[n] = 0;
          c.linktype[n] = ifc.linktype;
          c.count = ++n;   // current even if a later block throws
          break;
        }
        default:
          break;                 // statistics, name resolution, custom...: not needed
      }
      pos += len;
    }
    c.count = n;
    return pos;
  }

  private readIdb(v: DataView, pos: number, len: number, at: number): Iface {
    const le = this.le;
    const ifc: Iface = { linktype: v.getUint16(pos + 8, le), rate: 1000000, rateBig: null, offset: 0 };
    const optEnd = pos + len - 4;
    let p = pos + 16;
    while (p + 4 <= optEnd) {
      const code = v.getUint16(p, le);
      const olen = v.getUint16(p + 2, le);
      if (code === 0) break;                       // opt_endofopt
      if (p + 4 + olen > optEnd) throw this.corrupt(at, `interface option ${code} runs past the end of the block`);
      if (code === 9 && olen >= 1) {               // if_tsresol
        const r = v.getUint8(p + 4);
        const exp = r & 0x7f;
        if (r & 0x80) {
          ifc.rate = 2 ** exp;
          ifc.rateBig = ifc.rate > FAST_RATE_MAX ? 1n << BigInt(exp) : null;
        } else {
          ifc.rate = 10 ** exp;
          ifc.rateBig = ifc.rate > FAST_RATE_MAX ? 10n ** BigInt(exp) : null;
        }
      } else if (code === 14 && olen >= 8) {       // if_tsoffset: signed 64-bit seconds
        const hi = v.getInt32(le ? p + 8 : p + 4, le);
        const lo = v.getUint32(le ? p + 4 : p + 8, le);
        ifc.offset = hi * TWO32 + lo;
      }
      p += 4 + ((olen + 3) & ~3);
    }
    return ifc;
  }

  incomplete(v: DataView, pos: number, end: number, base: number): Truncation {
    const avail = end - pos;
    if (avail < 12) return { offset: base + pos, wanted: 12, got: avail, what: 'block header bytes' };
    return { offset: base + pos, wanted: v.getUint32(pos + 4, this.le), got: avail, what: 'block bytes' };
  }
}

/** `magic` holds the first 4 bytes (a section header block type), already read from `src`. */
export function openPcapng(src: Source, magic: Uint8Array): RecordParser | null {
  const head = new Uint8Array(12);
  head.set(magic, 0);
  const got = src.readFull(head, 4, 8);
  // Like libpcap: a short file or a wrong byte-order magic is simply not pcapng.
  if (got < 8) return null;
  const bom = new DataView(head.buffer).getUint32(8, false);
  if (bom !== BYTE_ORDER_MAGIC && bom !== 0x4d3c2b1a) return null;
  src.unread(head);
  return new PcapngParser(src.path);
}
