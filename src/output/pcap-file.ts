import * as fs from 'node:fs';
import { outputError } from '../errors';
import type { CaptureInterface } from '../capture/reader';

/**
 * Classic pcap output (-w, -K): little-endian, version 2.4, microsecond timestamps,
 * whatever the input's format, byte order or timestamp resolution (spec B13), with the
 * input's own link type (B12).
 */
export const PCAP_FILE_HEADER = 24;
export const PCAP_RECORD_HEADER = 16;
/** libpcap's MAXIMUM_SNAPLEN: records up to this size read back without being cut. */
export const PCAP_MAX_SNAPLEN = 262144;

export function pcapFileHeader(linktype: number, snaplen: number): Buffer {
  const b = Buffer.alloc(PCAP_FILE_HEADER);
  b.writeUInt32LE(0xa1b2c3d4, 0);
  b.writeUInt16LE(2, 4);
  b.writeUInt16LE(4, 6);
  // thiszone and sigfigs stay 0
  b.writeUInt32LE(snaplen >>> 0, 16);
  b.writeUInt32LE(linktype >>> 0, 20);
  return b;
}

/** The 16-byte record header at b[off]. */
export function putRecordHeader(b: Uint8Array, off: number, sec: number, usec: number, caplen: number, origlen: number): void {
  const v = new DataView(b.buffer, b.byteOffset + off, PCAP_RECORD_HEADER);
  v.setUint32(0, sec >>> 0, true);
  v.setUint32(4, usec >>> 0, true);
  v.setUint32(8, caplen >>> 0, true);
  v.setUint32(12, origlen >>> 0, true);
}

const BUFFER_BYTES = 1 << 20;

/**
 * One pcap file written sequentially through a 1 MiB buffer (the -w file). The header
 * is written when the link type is known (the first input's first interface).
 */
export class PcapDump {
  private readonly fd: number;
  private readonly buf = Buffer.allocUnsafe(BUFFER_BYTES);
  private used = 0;
  private headerDone = false;
  linktype = -1;
  records = 0;

  private constructor(readonly path: string, fd: number) {
    this.fd = fd;
  }

  static create(path: string): PcapDump {
    try {
      return new PcapDump(path, fs.openSync(path, 'w', 0o666));
    } catch (e) {
      throw outputError(path, e);
    }
  }

  get hasHeader(): boolean {
    return this.headerDone;
  }

  /**
   * The file header: the first input's own, when it is already a little-endian microsecond
   * pcap header (tcpflow copies it verbatim: thiszone, sigfigs and FCS bits included),
   * otherwise one made for its link type and snapshot length.
   */
  writeHeader(first: CaptureInterface | null, fallbackLinktype: number): void {
    if (this.headerDone) return;
    this.headerDone = true;
    const own = first?.fileHeader;
    const le = own !== undefined && own[0] === 0xd4 && own[1] === 0xc3 && own[2] === 0xb2 && own[3] === 0xa1;
    this.linktype = first?.linktype ?? fallbackLinktype;
    const header = le ? own : pcapFileHeader(this.linktype, first !== null && first.snaplen > 0 ? first.snaplen : PCAP_MAX_SNAPLEN);
    this.put(header, 0, PCAP_FILE_HEADER);
  }

  /** One record: the captured bytes data[off, off+caplen) as they are. */
  append(data: Uint8Array, off: number, caplen: number, origlen: number, sec: number, usec: number): void {
    if (this.used + PCAP_RECORD_HEADER > BUFFER_BYTES) this.flush();
    putRecordHeader(this.buf, this.used, sec, usec, caplen, origlen);
    this.used += PCAP_RECORD_HEADER;
    this.put(data, off, caplen);
    this.records++;
  }

  private put(data: Uint8Array, off: number, len: number): void {
    if (this.used + len > BUFFER_BYTES) {
      this.flush();
      if (len > BUFFER_BYTES) {
        this.writeAll(data, off, len);
        return;
      }
    }
    this.buf.set(data.subarray(off, off + len), this.used);
    this.used += len;
  }

  flush(): void {
    const n = this.used;
    this.used = 0;
    if (n > 0) this.writeAll(this.buf, 0, n);
  }

  private writeAll(data: Uint8Array, off: number, len: number): void {
    try {
      while (len > 0) {
        const n = fs.writeSync(this.fd, data, off, len);
        off += n;
        len -= n;
      }
    } catch (e) {
      throw outputError(this.path, e);
    }
  }

  /** Flush and close; the descriptor is closed even when the last write fails. */
  close(): void {
    try {
      this.flush();
    } finally {
      fs.closeSync(this.fd);
    }
  }
}
