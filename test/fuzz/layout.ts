/**
 * The fuzzer's own view of a capture file: the file header and a list of records
 * (pcap) or blocks (pcapng), each with where its packet bytes are, so that mutators can
 * lie about lengths, rewrite headers, and insert, delete, duplicate or reorder records.
 * Parsing is lenient and independent of src/capture: whatever does not parse as whole
 * records is kept as an opaque tail. Block bytes are shared with the seed until a
 * mutator asks for a private copy (own()).
 */

export const PCAP_HEADER = 24;
export const PCAP_RECORD_HEADER = 16;
export const SHB = 0x0a0d0d0a;
export const IDB = 1;
export const OPB = 2;
export const SPB = 3;
export const EPB = 6;
/** pcap record: no block type. */
export const RECORD = -1;

export interface Block {
  /** The whole record (16-byte header + frame) or block (type ... trailing length). */
  bytes: Uint8Array;
  /** pcapng block type, or RECORD. */
  type: number;
  /** Offset of the packet bytes in `bytes`, or -1 when the block carries no packet. */
  data: number;
  /** Packet bytes present (the captured length as laid out). */
  caplen: number;
  /** Byte order of the block's section (pcap: of the file). */
  le: boolean;
  /** Link type of the packet's interface, -1 if unknown or not a packet. */
  linktype: number;
  /** False while `bytes` is shared with the seed. */
  owned: boolean;
}

export interface Layout {
  format: 'pcap' | 'pcapng';
  /** pcap: the 24-byte file header; pcapng: empty (the SHB is a block). */
  head: Uint8Array;
  blocks: Block[];
  /** Bytes after the last whole record or block. */
  tail: Uint8Array;
}

export function getU32(b: Uint8Array, at: number, le: boolean): number {
  return le
    ? (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0
    : ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

export function getU16(b: Uint8Array, at: number, le: boolean): number {
  return le ? b[at] | (b[at + 1] << 8) : (b[at] << 8) | b[at + 1];
}

export function setU32(b: Uint8Array, at: number, v: number, le: boolean): void {
  v >>>= 0;
  if (le) { b[at] = v; b[at + 1] = v >>> 8; b[at + 2] = v >>> 16; b[at + 3] = v >>> 24; }
  else { b[at] = v >>> 24; b[at + 1] = v >>> 16; b[at + 2] = v >>> 8; b[at + 3] = v; }
}

export function setU16(b: Uint8Array, at: number, v: number, le: boolean): void {
  if (le) { b[at] = v; b[at + 1] = v >>> 8; } else { b[at] = v >>> 8; b[at + 1] = v; }
}

const pad4 = (n: number) => (n + 3) & ~3;

/** Parse a capture into a layout, or null when it is neither pcap nor pcapng. */
export function parseLayout(bytes: Uint8Array): Layout | null {
  if (bytes.length < 12) return null;
  const magic = getU32(bytes, 0, false);
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) return parsePcap(bytes, false);
  if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) return parsePcap(bytes, true);
  if (magic === SHB) return parsePcapng(bytes);
  return null;
}

function parsePcap(bytes: Uint8Array, le: boolean): Layout | null {
  if (bytes.length < PCAP_HEADER) return null;
  const linktype = getU32(bytes, 20, le) & 0x03ffffff;
  const blocks: Block[] = [];
  let at = PCAP_HEADER;
  while (bytes.length - at >= PCAP_RECORD_HEADER) {
    const caplen = getU32(bytes, at + 8, le);
    if (caplen > bytes.length - at - PCAP_RECORD_HEADER) break;
    const end = at + PCAP_RECORD_HEADER + caplen;
    blocks.push({ bytes: bytes.subarray(at, end), type: RECORD, data: PCAP_RECORD_HEADER, caplen, le, linktype, owned: false });
    at = end;
  }
  return { format: 'pcap', head: bytes.subarray(0, PCAP_HEADER), blocks, tail: bytes.subarray(at) };
}

function parsePcapng(bytes: Uint8Array): Layout {
  const blocks: Block[] = [];
  let le = false;
  let ifaces: number[] = [];
  let at = 0;
  while (bytes.length - at >= 12) {
    if (getU32(bytes, at, false) === SHB) {
      const bom = getU32(bytes, at + 8, false);
      if (bom === 0x1a2b3c4d) le = false;
      else if (bom === 0x4d3c2b1a) le = true;
      else break;
      ifaces = [];
    }
    const type = getU32(bytes, at, le);
    const len = getU32(bytes, at + 4, le);
    if (len < 12 || len % 4 !== 0 || len > bytes.length - at) break;
    const b: Block = { bytes: bytes.subarray(at, at + len), type, data: -1, caplen: 0, le, linktype: -1, owned: false };
    if (type === IDB && len >= 20) ifaces.push(getU16(bytes, at + 8, le));
    else if ((type === EPB || type === OPB) && len >= 32) {
      const id = type === EPB ? getU32(bytes, at + 8, le) : getU16(bytes, at + 8, le);
      b.data = 28;
      b.caplen = Math.min(getU32(bytes, at + 20, le), len - 32);
      b.linktype = ifaces[id] ?? -1;
    } else if (type === SPB && len >= 16) {
      b.data = 12;
      b.caplen = Math.min(getU32(bytes, at + 8, le), len - 16);
      b.linktype = ifaces[0] ?? -1;
    }
    blocks.push(b);
    at += len;
  }
  return { format: 'pcapng', head: new Uint8Array(0), blocks, tail: bytes.subarray(at) };
}

/** A copy of the layout whose block list can change; blocks stay shared until own(). */
export function cloneLayout(l: Layout): Layout {
  return { format: l.format, head: l.head, blocks: l.blocks.slice(), tail: l.tail };
}

/** blocks[i], made private (safe to write into). */
export function own(l: Layout, i: number): Block {
  const b = l.blocks[i];
  if (b.owned) return b;
  const c: Block = { ...b, bytes: b.bytes.slice(), owned: true };
  l.blocks[i] = c;
  return c;
}

export function ownHead(l: Layout): Uint8Array {
  l.head = l.head.slice();
  return l.head;
}

/** The packet bytes of a packet block (a view: write only into an owned block). */
export function frameOf(b: Block): Uint8Array {
  return b.bytes.subarray(b.data, b.data + b.caplen);
}

/**
 * Replace the packet bytes of blocks[i], keeping the record consistent: captured
 * length, original length (moved by the same amount), block lengths and padding.
 */
export function setFrame(l: Layout, i: number, frame: Uint8Array): void {
  const b = l.blocks[i];
  const delta = frame.length - b.caplen;
  let bytes: Uint8Array;
  if (b.type === RECORD) {
    bytes = new Uint8Array(PCAP_RECORD_HEADER + frame.length);
    bytes.set(b.bytes.subarray(0, PCAP_RECORD_HEADER));
    bytes.set(frame, PCAP_RECORD_HEADER);
    setU32(bytes, 8, frame.length, b.le);
    setU32(bytes, 12, Math.max(0, getU32(bytes, 12, b.le) + delta), b.le);
  } else {
    const optsFrom = b.data + pad4(b.caplen);
    const opts = b.bytes.subarray(Math.min(optsFrom, b.bytes.length - 4), b.bytes.length - 4);
    const len = b.data + pad4(frame.length) + opts.length + 4;
    bytes = new Uint8Array(len);
    bytes.set(b.bytes.subarray(0, b.data));
    bytes.set(frame, b.data);
    bytes.set(opts, b.data + pad4(frame.length));
    setU32(bytes, 4, len, b.le);
    setU32(bytes, len - 4, len, b.le);
    if (b.type === SPB) {
      setU32(bytes, 8, Math.max(0, getU32(bytes, 8, b.le) + delta), b.le);
    } else {
      setU32(bytes, 20, frame.length, b.le);
      setU32(bytes, 24, Math.max(0, getU32(bytes, 24, b.le) + delta), b.le);
    }
  }
  l.blocks[i] = { ...b, bytes, caplen: frame.length, owned: true };
}

export function serialize(l: Layout): Uint8Array {
  let n = l.head.length + l.tail.length;
  for (const b of l.blocks) n += b.bytes.length;
  const out = new Uint8Array(n);
  out.set(l.head, 0);
  let at = l.head.length;
  for (const b of l.blocks) { out.set(b.bytes, at); at += b.bytes.length; }
  out.set(l.tail, at);
  return out;
}

/** Indexes of the blocks that carry a packet. */
export function packetIndexes(l: Layout): number[] {
  const out: number[] = [];
  for (let i = 0; i < l.blocks.length; i++) if (l.blocks[i].data >= 0) out.push(i);
  return out;
}
