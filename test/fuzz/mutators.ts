/**
 * The fuzzer's mutators. Structural ones work on a Layout (records, blocks, the headers
 * inside frames) and keep the file parseable where that is the point (VLAN tags, IPv6
 * extension headers, cut frames) or lie on purpose (length fields); byte ones work on
 * the serialized file. Each returns a short note of what it did (for the failure log),
 * or null when it found nothing to act on. Every choice comes from the Rng.
 */
import type { Rng } from '../flow/rng';
import {
  Block, cloneLayout, EPB, frameOf, getU16, getU32, IDB, Layout, own, ownHead, packetIndexes, RECORD,
  serialize, setFrame, setU16, setU32, SHB, SPB,
} from './layout';
import { locate } from './frame';
import { fragmentFrame } from '../helpers/fragment';

const I8 = [0, 1, 0x7f, 0x80, 0xff, 0xfe, 0x40, 0x10];
const I16 = [0, 1, 0x7fff, 0x8000, 0xffff, 0xfffe, 0x00ff, 0x0100, 20, 40, 60, 1500, 65535];
const I32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 0xffff, 0x10000, 0x01000000, 0x00ffffff, 262144, 4096];
/** Link types: the supported ones mostly, a few unsupported ones. */
const LINKTYPES = [0, 1, 6, 9, 12, 14, 51, 101, 108, 113, 228, 229, 276, 105, 127, 231, 0xffff];
const VLAN_TPIDS = [0x8100, 0x88a8, 0x9100];

function pickInteresting(rng: Rng, width: 1 | 2 | 4, current: number): number {
  // Lengths ±1 (and other small moves) of the current value as often as the fixed table.
  if (rng.chance(0.4)) {
    const mask = width === 4 ? 0xffffffff : width === 2 ? 0xffff : 0xff;
    return (current + rng.pick([-1, 1, -2, 2, -4, 4, -8, 8, 16, -16])) & mask;
  }
  return rng.pick(width === 1 ? I8 : width === 2 ? I16 : I32);
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

interface Ctx {
  l: Layout;
  rng: Rng;
  /** Indexes of packet blocks (computed on first use, reset when blocks move). */
  packets: number[] | null;
}

function packets(c: Ctx): number[] {
  return (c.packets ??= packetIndexes(c.l));
}

function anyPacket(c: Ctx): number {
  const p = packets(c);
  return p.length === 0 ? -1 : c.rng.pick(p);
}

function blocksOf(c: Ctx, pred: (b: Block) => boolean): number[] {
  const out: number[] = [];
  c.l.blocks.forEach((b, i) => { if (pred(b)) out.push(i); });
  return out;
}

type StructMutator = (c: Ctx) => string | null;

// ------------------------------------------------------------ records and blocks

const dupRecord: StructMutator = (c) => {
  const bl = c.l.blocks;
  if (bl.length === 0) return null;
  const i = c.rng.int(0, bl.length - 1);
  const j = c.rng.chance(0.5) ? i + 1 : c.rng.int(0, bl.length);
  const times = c.rng.chance(0.8) ? 1 : c.rng.int(2, 20);
  for (let k = 0; k < times; k++) bl.splice(j, 0, bl[i]);
  c.packets = null;
  return `dup ${i}->${j} x${times}`;
};

const deleteRecord: StructMutator = (c) => {
  const bl = c.l.blocks;
  if (bl.length === 0) return null;
  const i = c.rng.int(0, bl.length - 1);
  const n = c.rng.chance(0.8) ? 1 : c.rng.int(1, Math.min(32, bl.length - i));
  bl.splice(i, n);
  c.packets = null;
  return `delete ${i}+${n}`;
};

const reorderRecords: StructMutator = (c) => {
  const bl = c.l.blocks;
  if (bl.length < 2) return null;
  c.packets = null;
  const r = c.rng;
  switch (r.int(0, 2)) {
    case 0: {
      const i = r.int(0, bl.length - 1), j = r.int(0, bl.length - 1);
      [bl[i], bl[j]] = [bl[j], bl[i]];
      return `swap ${i},${j}`;
    }
    case 1: {
      const i = r.int(0, bl.length - 1);
      const [b] = bl.splice(i, 1);
      const j = r.int(0, bl.length);
      bl.splice(j, 0, b);
      return `move ${i}->${j}`;
    }
    default: {
      const i = r.int(0, bl.length - 2);
      const n = Math.min(bl.length - i, r.int(2, 12));
      const part = r.shuffle(bl.slice(i, i + n));
      bl.splice(i, n, ...part);
      return `shuffle ${i}+${n}`;
    }
  }
};

/** Cut a packet's captured bytes short (a snap length inside the headers); the wire length stays. */
const cutFrame: StructMutator = (c) => {
  const i = anyPacket(c);
  if (i < 0) return null;
  const b = c.l.blocks[i];
  const f = frameOf(b);
  const info = locate(f, b.linktype);
  const marks = [info.ip, info.ip + 20, info.tcp, info.tcp + 13, info.tcp + 20].filter((m) => m > 0 && m <= f.length);
  const at = marks.length > 0 && c.rng.chance(0.6) ? c.rng.pick(marks) + c.rng.int(-2, 2) : c.rng.int(0, f.length);
  const len = Math.max(0, Math.min(f.length, at));
  const origAt = b.type === RECORD ? 12 : b.type === SPB ? 8 : 24;
  const orig = getU32(b.bytes, origAt, b.le);
  setFrame(c.l, i, f.slice(0, len));
  setU32(c.l.blocks[i].bytes, origAt, orig, b.le);
  return `cut packet ${i} to ${len}/${f.length}`;
};

// ------------------------------------------------------------ pcap headers

const pcapRecordLie: StructMutator = (c) => {
  const recs = packets(c).filter((i) => c.l.blocks[i].type === RECORD);
  if (recs.length === 0) return null;
  const i = c.rng.pick(recs);
  const b = own(c.l, i);
  const le = b.le, r = c.rng;
  const caplen = getU32(b.bytes, 8, le), origlen = getU32(b.bytes, 12, le);
  const snaplen = getU32(c.l.head, 16, le);
  switch (r.int(0, 5)) {
    case 0: {
      const v = r.pick([origlen + 1, snaplen + 1, caplen + 1, caplen - 1, 0, 0xffffffff, 65536, 65535 + 16, 262145, caplen + r.int(1, 5000)]);
      setU32(b.bytes, 8, v, le);
      return `pcap record ${i} caplen ${caplen}->${v >>> 0}`;
    }
    case 1: {
      const v = r.pick([0, caplen - 1, caplen + 1, 0xffffffff, 0x7fffffff, 0x80000000, snaplen + 1]);
      setU32(b.bytes, 12, v, le);
      return `pcap record ${i} origlen ${origlen}->${v >>> 0}`;
    }
    case 2: {
      const v = r.pick([1000000, 999999, 0xffffffff, 0x7fffffff, 1000000000]);
      setU32(b.bytes, 4, v, le);
      return `pcap record ${i} ts fraction ${v}`;
    }
    case 3: {
      const v = r.pick([0, 0xffffffff, 0x7fffffff, 0x80000000]);
      setU32(b.bytes, 0, v, le);
      return `pcap record ${i} ts seconds ${v}`;
    }
    default: {
      // caplen larger than what is left of the file.
      const v = caplen + r.int(1, 64);
      setU32(b.bytes, 8, v, le);
      if (r.chance(0.5)) setU32(b.bytes, 12, v, le);
      return `pcap record ${i} caplen ${caplen}->${v} (past the end)`;
    }
  }
};

const pcapFileHeader: StructMutator = (c) => {
  if (c.l.format !== 'pcap') return null;
  const h = ownHead(c.l);
  const le = getU32(h, 0, false) === 0xd4c3b2a1 || getU32(h, 0, false) === 0x4d3cb2a1;
  const r = c.rng;
  switch (r.int(0, 3)) {
    case 0: {
      const v = r.pick(LINKTYPES.concat([r.int(0, 300), (r.int(0, 63) << 26) | 1]));
      setU32(h, 20, v, le);
      return `pcap linktype ${v >>> 0}`;
    }
    case 1: {
      const v = r.pick([0, 1, 16, 96, 65535, 262144, 0xffffffff, 0x7fffffff]);
      setU32(h, 16, v, le);
      return `pcap snaplen ${v}`;
    }
    case 2: {
      // Switch between micro- and nanosecond magic in the same byte order.
      const nano = getU32(h, 0, le) === 0xa1b23c4d;
      setU32(h, 0, nano ? 0xa1b2c3d4 : 0xa1b23c4d, le);
      return `pcap magic ${nano ? 'usec' : 'nsec'}`;
    }
    default: {
      const v = r.pick([0, 1, 2, 3, 0xffff]);
      setU16(h, 4, v, le);
      return `pcap version ${v}`;
    }
  }
};

// ------------------------------------------------------------ pcapng blocks

const blockLengthLie: StructMutator = (c) => {
  if (c.l.format !== 'pcapng' || c.l.blocks.length === 0) return null;
  const i = c.rng.int(0, c.l.blocks.length - 1);
  const b = own(c.l, i);
  const len = b.bytes.length, le = b.le, r = c.rng;
  const lie = r.pick([len + 4, len - 4, len + 1, len - 1, 0, 4, 8, 12, 16, 28, 32, 0xffffffff, 0x7ffffffc, len + r.int(1, 100) * 4]) >>> 0;
  switch (r.int(0, 2)) {
    case 0: setU32(b.bytes, 4, lie, le); return `block ${i} total length ${len}->${lie}`;
    case 1: setU32(b.bytes, len - 4, lie, le); return `block ${i} trailing length ${len}->${lie}`;
    default:
      setU32(b.bytes, 4, lie, le);
      setU32(b.bytes, len - 4, lie, le);
      return `block ${i} both lengths ${len}->${lie}`;
  }
};

const packetBlockLie: StructMutator = (c) => {
  const ps = packets(c).filter((i) => c.l.blocks[i].type !== RECORD);
  if (ps.length === 0) return null;
  const i = c.rng.pick(ps);
  const b = own(c.l, i);
  const le = b.le, r = c.rng, len = b.bytes.length;
  if (b.type === SPB) {
    const v = r.pick([0, len - 16, len - 15, len, 0xffffffff, b.caplen - 1, b.caplen + 1]);
    setU32(b.bytes, 8, v, le);
    return `SPB ${i} origlen ${v >>> 0}`;
  }
  switch (r.int(0, 4)) {
    case 0: {
      const v = r.pick([len - 32, len - 31, len - 28, 0, b.caplen + 1, b.caplen - 1, 0xffffffff, 0x10000001]);
      setU32(b.bytes, 20, v, le);
      return `${b.type === EPB ? 'EPB' : 'OPB'} ${i} caplen ${b.caplen}->${v >>> 0}`;
    }
    case 1: {
      const v = r.pick([0, 1, 2, 0xffffffff, 0x7fffffff, b.caplen - 1]);
      setU32(b.bytes, 24, v, le);
      return `packet block ${i} origlen ${v >>> 0}`;
    }
    case 2: {
      const v = r.pick([0, 1, 2, 3, 7, 0xffff, 0xffffffff]);
      if (b.type === EPB) setU32(b.bytes, 8, v, le); else setU16(b.bytes, 8, v & 0xffff, le);
      return `packet block ${i} interface ${v >>> 0}`;
    }
    case 3: {
      setU32(b.bytes, 12, r.pick([0, 0xffffffff, 0x80000000, r.int(0, 0xffffffff)]), le);
      setU32(b.bytes, 16, r.pick([0, 0xffffffff, r.int(0, 0xffffffff)]), le);
      return `packet block ${i} timestamp`;
    }
    default: {
      // An option after the packet data whose length runs past the block.
      const opt = new Uint8Array(8);
      setU16(opt, 0, r.pick([1, 2, 3, 0x8000]), le);
      setU16(opt, 2, r.pick([4, 8, 100, 0xffff]), le);
      const withOpt = new Uint8Array(b.bytes.length + opt.length);
      const cut = b.data + pad4(b.caplen);
      withOpt.set(b.bytes.subarray(0, cut));
      withOpt.set(opt, cut);
      withOpt.set(b.bytes.subarray(cut), cut + opt.length);
      setU32(withOpt, 4, withOpt.length, le);
      setU32(withOpt, withOpt.length - 4, withOpt.length, le);
      c.l.blocks[i] = { ...b, bytes: withOpt, owned: true };
      return `packet block ${i} lying option`;
    }
  }
};

/** A fresh IDB: random link type and options (time resolution and offset, lengths that lie). */
function makeIdb(r: Rng, le: boolean, linktype: number): Uint8Array {
  const opts: Uint8Array[] = [];
  const nOpts = r.int(0, 3);
  for (let k = 0; k < nOpts; k++) {
    const kind = r.int(0, 3);
    if (kind === 0) {
      const o = new Uint8Array(8);
      setU16(o, 0, 9, le);
      setU16(o, 2, 1, le);
      o[4] = r.pick([0, 1, 3, 6, 9, 12, 19, 20, 0x7f, 0x80, 0x80 | 10, 0x80 | 20, 0x80 | 32, 0x80 | 63, 0xff, r.int(0, 255)]);
      opts.push(o);
    } else if (kind === 1) {
      const o = new Uint8Array(12);
      setU16(o, 0, 14, le);
      setU16(o, 2, 8, le);
      setU32(o, 4, r.pick([0, 1, 0xffffffff, r.int(0, 0xffffffff)]), le);
      setU32(o, 8, r.pick([0, 0x7fffffff, 0x80000000, 0xffffffff]), le);
      opts.push(o);
    } else if (kind === 2) {
      const o = new Uint8Array(8);
      setU16(o, 0, r.pick([9, 14, 2, 0x8001]), le);
      setU16(o, 2, r.pick([0, 3, 5, 9, 100, 0xffff]), le);
      opts.push(o);
    } else {
      opts.push(new Uint8Array(4)); // opt_endofopt
    }
  }
  const body = opts.reduce((n, o) => n + o.length, 0);
  const len = 20 + body;
  const b = new Uint8Array(len);
  setU32(b, 0, IDB, le);
  setU32(b, 4, len, le);
  setU16(b, 8, linktype, le);
  setU32(b, 12, r.pick([0, 65535, 262144]), le);
  let at = 16;
  for (const o of opts) { b.set(o, at); at += o.length; }
  setU32(b, len - 4, len, le);
  return b;
}

const idbMutate: StructMutator = (c) => {
  if (c.l.format !== 'pcapng') return null;
  const r = c.rng;
  const idbs = blocksOf(c, (b) => b.type === IDB);
  if (idbs.length > 0 && r.chance(0.5)) {
    const i = r.pick(idbs);
    const b = own(c.l, i);
    if (b.bytes.length < 20) return null;
    if (r.chance(0.5)) {
      const v = r.pick(LINKTYPES);
      setU16(b.bytes, 8, v, b.le);
      return `IDB ${i} linktype ${v}`;
    }
    const lt = getU16(b.bytes, 8, b.le);
    c.l.blocks[i] = { ...b, bytes: makeIdb(r, b.le, lt), owned: true };
    return `IDB ${i} new options`;
  }
  // Insert a new interface somewhere (before or among the packets).
  const at = r.int(0, c.l.blocks.length);
  const le = at > 0 ? c.l.blocks[at - 1].le : c.l.blocks[0]?.le ?? false;
  const lt = r.pick(LINKTYPES);
  c.l.blocks.splice(at, 0, { bytes: makeIdb(r, le, lt), type: IDB, data: -1, caplen: 0, le, linktype: -1, owned: true });
  c.packets = null;
  return `insert IDB(${lt}) at ${at}`;
};

const shbMutate: StructMutator = (c) => {
  if (c.l.format !== 'pcapng') return null;
  const r = c.rng;
  const shbs = blocksOf(c, (b) => b.type === SHB);
  if (shbs.length > 0 && r.chance(0.5)) {
    const i = r.pick(shbs);
    const b = own(c.l, i);
    if (b.bytes.length < 28) return null;
    if (r.chance(0.5)) {
      const v = r.pick([0, 2, 0xffff]);
      setU16(b.bytes, 12, v, b.le);
      return `SHB ${i} major version ${v}`;
    }
    const v = r.pick([0x12345678, 0x1a2b3c4d, 0x4d3c2b1a]);
    setU32(b.bytes, 8, v, false);
    return `SHB ${i} byte-order magic ${v.toString(16)}`;
  }
  // A new section (interfaces reset; possibly the other byte order for what follows).
  const le = r.chance(0.5);
  const b = new Uint8Array(28);
  setU32(b, 0, SHB, false);
  setU32(b, 4, 28, le);
  setU32(b, 8, 0x1a2b3c4d, le);
  setU16(b, 12, 1, le);
  setU32(b, 16, 0xffffffff, le);
  setU32(b, 20, 0xffffffff, le);
  setU32(b, 24, 28, le);
  const at = r.int(0, c.l.blocks.length);
  c.l.blocks.splice(at, 0, { bytes: b, type: SHB, data: -1, caplen: 0, le, linktype: -1, owned: true });
  c.packets = null;
  return `insert SHB(${le ? 'le' : 'be'}) at ${at}`;
};

// ------------------------------------------------------------ inside frames

/** The frame of packet block i as a private copy, with its header offsets. */
function frameToEdit(c: Ctx, i: number): { f: Uint8Array; b: Block } {
  const b = own(c.l, i);
  return { f: frameOf(b), b };
}

const ipFields: StructMutator = (c) => {
  const i = anyPacket(c);
  if (i < 0) return null;
  const { f, b } = frameToEdit(c, i);
  const info = locate(f, b.linktype);
  const ip = info.ip, r = c.rng;
  if (ip < 0) return null;
  if (info.version === 4) {
    const total = (f[ip + 2] << 8) | f[ip + 3];
    switch (r.int(0, 6)) {
      case 0: {
        const v = r.chance(0.5) ? ((f[ip] & 0x0f) + r.pick([-1, 1, -5, 5])) & 0x0f : r.int(0, 15);
        f[ip] = (f[ip] & 0xf0) | v;
        return `packet ${i} IPv4 IHL ${v}`;
      }
      case 1: {
        const v = pickInteresting(r, 2, total);
        setU16(f, ip + 2, r.chance(0.3) ? f.length - ip + r.int(-3, 3) : v, false);
        return `packet ${i} IPv4 total length ${(f[ip + 2] << 8) | f[ip + 3]}`;
      }
      case 2: {
        const flags = r.pick([0, 0x20, 0x40, 0x60, 0x80]);
        const off = r.pick([0, 0, 1, 2, 185, 0x1fff, r.int(0, 0x1fff)]);
        f[ip + 6] = flags | (off >> 8);
        f[ip + 7] = off & 0xff;
        return `packet ${i} IPv4 fragment flags ${flags >> 5} offset ${off}`;
      }
      case 3: {
        const v = r.pick([6, 17, 1, 0, 41, 255, r.int(0, 255)]);
        f[ip + 9] = v;
        return `packet ${i} IPv4 protocol ${v}`;
      }
      case 4: {
        const v = r.pick([0, 5, 6, 15]);
        f[ip] = (v << 4) | (f[ip] & 0x0f);
        return `packet ${i} IP version ${v}`;
      }
      case 5: {
        // Same endpoints both ways, or the directions swapped.
        if (r.chance(0.5)) f.copyWithin(ip + 16, ip + 12, ip + 16);
        else { const s = f.slice(ip + 12, ip + 16); f.copyWithin(ip + 12, ip + 16, ip + 20); f.set(s, ip + 16); }
        return `packet ${i} IPv4 addresses`;
      }
      default: {
        // Options: grow the header into the payload (IHL and total length consistent).
        const ihl = (f[ip] & 0x0f) + r.int(1, 3);
        if (ihl > 15 || ip + ihl * 4 > f.length) return null;
        f[ip] = (f[ip] & 0xf0) | ihl;
        return `packet ${i} IPv4 IHL ${ihl} over the TCP header`;
      }
    }
  }
  if (info.version !== 6) return null;
  const plen = (f[ip + 4] << 8) | f[ip + 5];
  switch (r.int(0, 4)) {
    case 0: {
      const v = r.chance(0.3) ? f.length - ip - 40 + r.int(-3, 3) : pickInteresting(r, 2, plen);
      setU16(f, ip + 4, v & 0xffff, false);
      return `packet ${i} IPv6 payload length ${v & 0xffff}`;
    }
    case 1: {
      const at = info.chain.length > 0 && r.chance(0.5) ? r.pick(info.chain).nameAt : ip + 6;
      const v = r.pick([0, 6, 43, 44, 51, 59, 60, 17, 135, 255]);
      f[at] = v;
      return `packet ${i} IPv6 next header at ${at - ip} = ${v}`;
    }
    case 2: {
      if (info.chain.length === 0) return null;
      const h = r.pick(info.chain);
      const v = r.pick([0, 1, 2, 255, f[h.at + 1] + 1, f[h.at + 1] - 1]) & 0xff;
      f[h.at + 1] = v;
      return `packet ${i} IPv6 extension header length ${v}`;
    }
    case 3: {
      f.copyWithin(ip + 24, ip + 8, ip + 24);
      return `packet ${i} IPv6 same addresses`;
    }
    default:
      return insertExtHeader(c, i, f, ip);
  }
};

/** Insert an IPv6 extension header right after the fixed header. */
function insertExtHeader(c: Ctx, i: number, f: Uint8Array, ip: number): string {
  const r = c.rng;
  const type = r.pick([0, 0, 43, 44, 51, 60]);
  let h: Uint8Array;
  if (type === 44) {
    h = new Uint8Array(8);
    const off = r.pick([0, 0, 1, 100]);
    h[2] = off >> 5; h[3] = ((off << 3) & 0xff) | (r.chance(0.5) ? 1 : 0);
  } else if (type === 51) {
    const words = r.int(1, 4);
    h = new Uint8Array((words + 2) * 4);
    h[1] = words;
  } else {
    const units = r.int(0, 2);
    h = new Uint8Array((units + 1) * 8);
    h[1] = units;
    if (type === 0 && r.chance(0.5)) {
      // Jumbo payload option (RFC 2675), with a length that may lie.
      h[2] = 0xc2; h[3] = 4;
      const jl = r.pick([0, 1, 65536, 0xffffffff, f.length - ip - 40 + h.length]);
      setU32(h, 4, jl, false);
      if (h.length > 8) { h[8] = 1; h[9] = h.length - 10; }
    } else {
      h[2] = 1; h[3] = h.length - 4; // PadN
    }
  }
  h[0] = f[ip + 6];
  if (r.chance(0.1)) h[1] = r.pick([255, 128]); // a length that runs past the packet
  const nf = new Uint8Array(f.length + h.length);
  nf.set(f.subarray(0, ip + 40));
  nf.set(h, ip + 40);
  nf.set(f.subarray(ip + 40), ip + 40 + h.length);
  nf[ip + 6] = type;
  const plen = (nf[ip + 4] << 8) | nf[ip + 5];
  if (plen !== 0 && r.chance(0.8)) setU16(nf, ip + 4, (plen + h.length) & 0xffff, false);
  else if (type === 0 && h[2] === 0xc2 && r.chance(0.5)) setU16(nf, ip + 4, 0, false);
  setFrame(c.l, i, nf);
  return `packet ${i} IPv6 insert extension header ${type} (${h.length} bytes)`;
}

const tcpFields: StructMutator = (c) => {
  const i = anyPacket(c);
  if (i < 0) return null;
  const { f, b } = frameToEdit(c, i);
  const info = locate(f, b.linktype);
  const t = info.tcp, r = c.rng;
  if (t < 0) return null;
  const seq = getU32(f, t + 4, false);
  switch (r.int(0, 5)) {
    case 0: {
      const v = r.chance(0.5) ? ((f[t + 12] >> 4) + r.pick([-1, 1, -2, 2])) & 0x0f : r.int(0, 15);
      f[t + 12] = (v << 4) | (f[t + 12] & 0x0f);
      return `packet ${i} TCP data offset ${v}`;
    }
    case 1: {
      const bits = [0x01, 0x02, 0x04, 0x08, 0x10, 0x20];
      if (r.chance(0.3)) f[t + 13] = r.int(0, 255);
      else f[t + 13] ^= r.pick(bits);
      return `packet ${i} TCP flags 0x${f[t + 13].toString(16)}`;
    }
    case 2: {
      const payload = f.length - t - (f[t + 12] >> 4) * 4;
      const v = r.pick([seq + 1, seq - 1, seq + payload, seq - payload, seq + 0x80000000, seq + 0x01000000, seq + 0x01000001,
        seq - 0x01000001, 0, 0xffffffff, seq + r.int(-3000, 3000), r.int(0, 0xffffffff)]);
      setU32(f, t + 4, v >>> 0, false);
      return `packet ${i} TCP seq ${seq}->${v >>> 0}`;
    }
    case 3: {
      setU32(f, t + 8, r.int(0, 0xffffffff), false);
      return `packet ${i} TCP ack`;
    }
    case 4: {
      // Ports: swap (other direction), equal (a self-connection), or random.
      const k = r.int(0, 2);
      if (k === 0) { const s = f.slice(t, t + 2); f.copyWithin(t, t + 2, t + 4); f.set(s, t + 2); }
      else if (k === 1) f.copyWithin(t + 2, t, t + 2);
      else setU16(f, t + r.pick([0, 2]), r.pick([0, 80, 65535, r.int(0, 65535)]), false);
      return `packet ${i} TCP ports`;
    }
    default: {
      // The same segment again right after, with other flags or a moved seq (retransmission, overlap).
      const nb = { ...b, bytes: b.bytes.slice(), owned: true };
      const g = frameOf(nb);
      setU32(g, t + 4, (seq + r.int(-20, 20)) >>> 0, false);
      if (r.chance(0.5)) g[t + 13] ^= r.pick([0x01, 0x02, 0x04]);
      c.l.blocks.splice(i + 1, 0, nb);
      c.packets = null;
      return `packet ${i} TCP overlapping copy`;
    }
  }
};

const vlanTags: StructMutator = (c) => {
  const ps = packets(c).filter((i) => locate(frameOf(c.l.blocks[i]), c.l.blocks[i].linktype).ether);
  if (ps.length === 0) return null;
  const i = c.rng.pick(ps);
  const f = frameOf(c.l.blocks[i]);
  const r = c.rng;
  const tpidAt12 = (f[12] << 8) | f[13];
  if (VLAN_TPIDS.includes(tpidAt12) && r.chance(0.3)) {
    // Another VLAN id for one tag of the stack: a new innermost one moves the packet to
    // another VLAN's flow of its 4-tuple (src/flow/vlan.ts), an outer one changes nothing.
    let tags = 0;
    while (16 + 4 * tags <= f.length && VLAN_TPIDS.includes((f[12 + 4 * tags] << 8) | f[13 + 4 * tags])) tags++;
    if (tags === 0) return null;
    const k = r.chance(0.7) ? tags - 1 : r.int(0, tags - 1);
    const nf = f.slice();
    setU16(nf, 14 + 4 * k, r.pick([0, 1, 2, 0x0fff, 0xe002, r.int(0, 0xffff)]), false);
    setFrame(c.l, i, nf);
    return `packet ${i} retag VLAN tag ${k}`;
  }
  if (VLAN_TPIDS.includes(tpidAt12) && r.chance(0.4)) {
    const nf = new Uint8Array(f.length - 4);
    nf.set(f.subarray(0, 12));
    nf.set(f.subarray(16), 12);
    setFrame(c.l, i, nf);
    return `packet ${i} remove VLAN tag`;
  }
  const n = r.chance(0.7) ? 1 : r.int(2, 6);
  const tags = new Uint8Array(4 * n);
  for (let k = 0; k < n; k++) {
    setU16(tags, 4 * k, r.pick(VLAN_TPIDS), false);
    setU16(tags, 4 * k + 2, r.pick([0, 1, 14, 0x0fff, 0xffff, 0xe00e, r.int(0, 0xffff)]), false);
  }
  const nf = new Uint8Array(f.length + tags.length);
  nf.set(f.subarray(0, 12));
  nf.set(tags, 12);
  nf.set(f.subarray(12), 12 + tags.length);
  setFrame(c.l, i, nf);
  return `packet ${i} insert ${n} VLAN tag(s)`;
};

/**
 * A packet's IP datagram cut into fragments (IPv4, or IPv6 with a fragment header), then
 * sent in order, reversed, shuffled, with a fragment twice, one missing, or one
 * overlapping its neighbours: the reassembler in the coordinator (spec B30).
 */
const fragmentPacket: StructMutator = (c) => {
  const i = anyPacket(c);
  if (i < 0) return null;
  const b = c.l.blocks[i];
  const f = frameOf(b);
  const info = locate(f, b.linktype);
  if (info.ip < 0) return null;
  const r = c.rng;
  const size = r.pick([8, 16, 24, 64, 512, r.int(8, 1500)]);
  const id = r.int(0, 0xffffffff);
  const pieces = fragmentFrame(f, info.ip, size, id);
  if (pieces.length < 2) return null;
  const how = r.pick(['in order', 'reversed', 'shuffled', 'duplicate', 'missing', 'overlap'] as const);
  if (how === 'reversed') pieces.reverse();
  if (how === 'shuffled') r.shuffle(pieces);
  if (how === 'duplicate') pieces.splice(r.int(0, pieces.length), 0, r.pick(pieces));
  if (how === 'missing') pieces.splice(r.int(0, pieces.length - 1), 1);
  if (how === 'overlap') pieces.splice(r.int(0, pieces.length), 0, r.pick(fragmentFrame(f, info.ip, (size & ~7) + 8, id)));
  setFrame(c.l, i, pieces[0]);
  for (let k = 1; k < pieces.length; k++) {
    c.l.blocks.splice(i + k, 0, c.l.blocks[i]);
    setFrame(c.l, i + k, pieces[k]);
  }
  c.packets = null;
  return `packet ${i} cut into ${pieces.length} IP fragments of ${size} bytes (${how})`;
};

const linkType: StructMutator = (c) => {
  if (c.l.format === 'pcap') {
    const h = ownHead(c.l);
    const le = getU32(h, 0, false) === 0xd4c3b2a1 || getU32(h, 0, false) === 0x4d3cb2a1;
    const v = c.rng.pick(LINKTYPES);
    setU32(h, 20, v, le);
    return `pcap linktype ${v}`;
  }
  return idbMutate(c);
};

interface Weighted<T> { name: string; weight: number; fn: T }

export const STRUCT_MUTATORS: Weighted<StructMutator>[] = [
  { name: 'dup', weight: 4, fn: dupRecord },
  { name: 'delete', weight: 4, fn: deleteRecord },
  { name: 'reorder', weight: 5, fn: reorderRecords },
  { name: 'cut-frame', weight: 4, fn: cutFrame },
  { name: 'pcap-record', weight: 4, fn: pcapRecordLie },
  { name: 'pcap-header', weight: 2, fn: pcapFileHeader },
  { name: 'block-length', weight: 4, fn: blockLengthLie },
  { name: 'packet-block', weight: 4, fn: packetBlockLie },
  { name: 'idb', weight: 3, fn: idbMutate },
  { name: 'shb', weight: 1, fn: shbMutate },
  { name: 'ip', weight: 10, fn: ipFields },
  { name: 'tcp', weight: 12, fn: tcpFields },
  { name: 'vlan', weight: 4, fn: vlanTags },
  { name: 'linktype', weight: 2, fn: linkType },
  { name: 'fragment', weight: 4, fn: fragmentPacket },
];

// ------------------------------------------------------------ bytes

type ByteMutator = (b: Uint8Array, r: Rng) => { bytes: Uint8Array; note: string };

const bitFlips: ByteMutator = (b, r) => {
  if (b.length === 0) return { bytes: b, note: 'flip (empty)' };
  const n = r.chance(0.7) ? r.int(1, 3) : r.int(4, 32);
  for (let k = 0; k < n; k++) b[r.int(0, b.length - 1)] ^= 1 << r.int(0, 7);
  return { bytes: b, note: `flip ${n} bits` };
};

const interesting: ByteMutator = (b, r) => {
  const width = r.pick([1, 2, 4] as const);
  if (b.length < width) return { bytes: b, note: 'interesting (short)' };
  const at = r.int(0, b.length - width);
  const le = r.chance(0.5);
  const cur = width === 1 ? b[at] : width === 2 ? getU16(b, at, le) : getU32(b, at, le);
  const v = pickInteresting(r, width, cur);
  if (width === 1) b[at] = v; else if (width === 2) setU16(b, at, v, le); else setU32(b, at, v, le);
  return { bytes: b, note: `set ${width} byte(s) at ${at} to ${v >>> 0}` };
};

const truncate: ByteMutator = (b, r) => {
  const at = r.chance(0.5) ? r.int(0, b.length) : Math.max(0, b.length - r.int(1, 64));
  return { bytes: b.subarray(0, at), note: `truncate at ${at}/${b.length}` };
};

const randomRun: ByteMutator = (b, r) => {
  if (b.length === 0) return { bytes: b, note: 'random run (empty)' };
  const at = r.int(0, b.length - 1);
  const n = Math.min(b.length - at, r.int(1, 32));
  b.set(r.bytes(n), at);
  return { bytes: b, note: `random ${n} bytes at ${at}` };
};

const insertDelete: ByteMutator = (b, r) => {
  const at = r.int(0, b.length);
  const n = r.int(1, 8);
  if (r.chance(0.5) && at + n <= b.length) {
    const nb = new Uint8Array(b.length - n);
    nb.set(b.subarray(0, at));
    nb.set(b.subarray(at + n), at);
    return { bytes: nb, note: `delete ${n} bytes at ${at}` };
  }
  const nb = new Uint8Array(b.length + n);
  nb.set(b.subarray(0, at));
  nb.set(r.bytes(n), at);
  nb.set(b.subarray(at), at + n);
  return { bytes: nb, note: `insert ${n} bytes at ${at}` };
};

export const BYTE_MUTATORS: Weighted<ByteMutator>[] = [
  { name: 'bit-flip', weight: 8, fn: bitFlips },
  { name: 'interesting', weight: 6, fn: interesting },
  { name: 'truncate', weight: 3, fn: truncate },
  { name: 'random-run', weight: 2, fn: randomRun },
  { name: 'insert-delete', weight: 2, fn: insertDelete },
];

function pickWeighted<T>(list: Weighted<T>[], r: Rng): Weighted<T> {
  const total = list.reduce((n, m) => n + m.weight, 0);
  let x = r.next() * total;
  for (const m of list) {
    if ((x -= m.weight) < 0) return m;
  }
  return list[list.length - 1];
}

/** Mutated inputs stop growing here (duplicating big records could go on for ever). */
const MAX_INPUT = 8 * 1024 * 1024;

/**
 * Apply several mutators chosen by `r` to a seed: structural ones first (when the seed
 * parses into records), then byte ones on the result. Returns the input and the notes.
 */
export function mutate(seed: Uint8Array, layout: Layout | null, r: Rng): { bytes: Uint8Array; notes: string[] } {
  const n = r.chance(0.75) ? r.int(1, 3) : r.int(4, 10);
  const notes: string[] = [];
  const structural = layout !== null ? Math.round(n * (r.chance(0.2) ? 0 : r.next())) : 0;
  let bytes: Uint8Array;
  if (layout !== null && structural > 0) {
    const c: Ctx = { l: cloneLayout(layout), rng: r, packets: null };
    for (let k = 0; k < structural; k++) {
      const m = pickWeighted(STRUCT_MUTATORS, r);
      const note = m.fn(c);
      if (note !== null) notes.push(note);
      if (serializedSize(c.l) > MAX_INPUT) break;
    }
    bytes = serialize(c.l);
  } else {
    bytes = seed.slice();
  }
  for (let k = structural; k < n; k++) {
    const m = pickWeighted(BYTE_MUTATORS, r);
    const res = m.fn(bytes, r);
    bytes = res.bytes;
    notes.push(res.note);
  }
  return { bytes, notes };
}

function serializedSize(l: Layout): number {
  let n = l.head.length + l.tail.length;
  for (const b of l.blocks) n += b.bytes.length;
  return n;
}
