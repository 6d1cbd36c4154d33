/**
 * Builders of whole capture files for tests and the fuzzer: classic pcap (either byte
 * order, micro- or nanosecond timestamps) and pcapng block by block (lengths can lie).
 */

/** Builds pcapng files block by block, in either byte order. */
export class Ng {
  private parts: Buffer[] = [];
  private size = 0;
  /** File offsets of the blocks, and which are packets. */
  readonly blocks: { at: number; len: number; packet: boolean }[] = [];
  le = false;

  u16(n: number): Buffer { const b = Buffer.alloc(2); if (this.le) b.writeUInt16LE(n); else b.writeUInt16BE(n); return b; }
  u32(n: number): Buffer { const b = Buffer.alloc(4); if (this.le) b.writeUInt32LE(n >>> 0); else b.writeUInt32BE(n >>> 0); return b; }
  u64(n: bigint): Buffer { const b = Buffer.alloc(8); if (this.le) b.writeBigUInt64LE(BigInt.asUintN(64, n)); else b.writeBigUInt64BE(BigInt.asUintN(64, n)); return b; }
  pad(b: Buffer): Buffer { return Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]); }
  opt(code: number, value: Buffer): Buffer { return this.pad(Buffer.concat([this.u16(code), this.u16(value.length), value])); }
  end(): Buffer { return this.opt(0, Buffer.alloc(0)); }

  /** Append a block; `len`/`trailer` override the lengths to build lies. */
  block(type: number, body: Buffer, lie: { len?: number; trailer?: number } = {}, packet = false): number {
    const len = 12 + body.length;
    const b = Buffer.concat([this.u32(type), this.u32(lie.len ?? len), body, this.u32(lie.trailer ?? lie.len ?? len)]);
    const at = this.size;
    this.parts.push(b);
    this.size += b.length;
    this.blocks.push({ at, len: b.length, packet });
    return at;
  }
  shb(le: boolean, major = 1, bom = 0x1a2b3c4d): number {
    this.le = le;
    return this.block(0x0a0d0d0a, Buffer.concat([this.u32(bom), this.u16(major), this.u16(0), this.u64(-1n), this.end()]));
  }
  idb(linktype: number, opts: Buffer[] = []): number {
    return this.block(1, Buffer.concat([this.u16(linktype), this.u16(0), this.u32(0), ...opts, this.end()]));
  }
  epb(ifid: number, ticks: bigint, data: Buffer, opts: Buffer[] = [], origlen = data.length, caplen = data.length): number {
    const ts = BigInt.asUintN(64, ticks);
    return this.block(6, Buffer.concat([this.u32(ifid), this.u32(Number(ts >> 32n)), this.u32(Number(ts & 0xffffffffn)),
      this.u32(caplen), this.u32(origlen), this.pad(data), ...(opts.length ? [...opts, this.end()] : [])]), {}, true);
  }
  opb(ifid: number, ticks: bigint, data: Buffer): number {
    return this.block(2, Buffer.concat([this.u16(ifid), this.u16(0), this.u32(Number(ticks >> 32n)), this.u32(Number(ticks & 0xffffffffn)),
      this.u32(data.length), this.u32(data.length + 100), this.pad(data)]), {}, true);
  }
  spb(origlen: number, data: Buffer): number {
    return this.block(3, Buffer.concat([this.u32(origlen), this.pad(data)]), {}, true);
  }
  bytes(): Buffer { return Buffer.concat(this.parts); }
}

export interface PcapRecord {
  frame: Uint8Array;
  sec?: number;
  /** Microseconds, or nanoseconds in a nanosecond file. */
  frac?: number;
  /** Captured length field (default frame.length; only frame.length bytes are written). */
  caplen?: number;
  /** Original length field (default: the captured length). */
  origlen?: number;
}

export interface PcapFileSpec {
  linktype: number;
  le?: boolean;
  nano?: boolean;
  snaplen?: number;
}

/** A classic pcap file: 24-byte header, then one 16-byte header + frame per record. */
export function pcapFile(records: readonly PcapRecord[], s: PcapFileSpec): Uint8Array {
  const le = s.le ?? true;
  const size = 24 + records.reduce((n, r) => n + 16 + r.frame.length, 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, s.nano ? 0xa1b23c4d : 0xa1b2c3d4, le);
  v.setUint16(4, 2, le);
  v.setUint16(6, 4, le);
  v.setUint32(16, s.snaplen ?? 65535, le);
  v.setUint32(20, s.linktype, le);
  let at = 24;
  for (const r of records) {
    const caplen = r.caplen ?? r.frame.length;
    v.setUint32(at, r.sec ?? 0, le);
    v.setUint32(at + 4, r.frac ?? 0, le);
    v.setUint32(at + 8, caplen, le);
    v.setUint32(at + 12, r.origlen ?? caplen, le);
    out.set(r.frame, at + 16);
    at += 16 + r.frame.length;
  }
  return out;
}
