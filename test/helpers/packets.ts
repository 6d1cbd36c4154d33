/**
 * A tiny packet builder for unit tests: TCP segments, IPv4 (options, fragments, lying
 * length fields), IPv6 (extension headers, jumbograms) and the link layers the decoder
 * knows (Ethernet with VLAN tags, NULL/LOOP, SLL with MPLS, SLL2, PPP, PPPoE, RAW).
 * Everything returns a fresh Uint8Array; checksums are left at zero (nothing checks them).
 */

export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;

export type Bytes = Uint8Array | string | number[];

export function bytes(b: Bytes): Uint8Array {
  if (typeof b === 'string') return new Uint8Array(Buffer.from(b, 'latin1'));
  if (Array.isArray(b)) return Uint8Array.from(b);
  return b;
}

export function concat(...parts: Bytes[]): Uint8Array {
  const us = parts.map(bytes);
  const out = new Uint8Array(us.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of us) { out.set(p, o); o += p.length; }
  return out;
}

function be16(n: number): number[] {
  return [(n >>> 8) & 0xff, n & 0xff];
}

function be32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

/** '10.0.0.1' → 4 bytes. */
export function ip4(a: string): Uint8Array {
  const p = a.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !(x >= 0 && x <= 255))) throw new Error(`bad IPv4 ${a}`);
  return Uint8Array.from(p);
}

/** '2001:db8::1' (also '::ffff:1.2.3.4') → 16 bytes. */
export function ip6(a: string): Uint8Array {
  let tail: number[] = [];
  let s = a;
  const m = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (m) {
    const v4 = ip4(m[2]);
    tail = [(v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]];
    s = m[1].endsWith('::') ? m[1] : m[1].slice(0, -1);
  }
  const halves = s.split('::');
  if (halves.length > 2) throw new Error(`bad IPv6 ${a}`);
  const words = (h: string) => (h === '' ? [] : h.split(':').map((w) => parseInt(w, 16)));
  const head = words(halves[0]);
  let all: number[];
  if (halves.length === 2) {
    const back = [...words(halves[1]), ...tail];
    all = [...head, ...new Array(8 - head.length - back.length).fill(0), ...back];
  } else {
    all = [...head, ...tail];
  }
  if (all.length !== 8 || all.some((w) => !(w >= 0 && w <= 0xffff))) throw new Error(`bad IPv6 ${a}`);
  const out = new Uint8Array(16);
  all.forEach((w, i) => { out[2 * i] = w >> 8; out[2 * i + 1] = w & 0xff; });
  return out;
}

const parsed = new Map<string, Uint8Array>();

function addr(a: string | Uint8Array, v6: boolean): Uint8Array {
  if (typeof a !== 'string') return a;
  let b = parsed.get(a);
  if (b === undefined) parsed.set(a, (b = v6 ? ip6(a) : ip4(a)));
  return b;
}

// ---------------------------------------------------------------- TCP

export interface TcpSpec {
  sport?: number;
  dport?: number;
  seq?: number;
  ack?: number;
  flags?: number;
  payload?: Bytes;
  /** TCP options (padded with zeros to a multiple of 4). */
  options?: Bytes;
  /** Override the data-offset nibble (header length in 32-bit words). */
  doff?: number;
  win?: number;
}

export function tcp(s: TcpSpec = {}): Uint8Array {
  let opts = bytes(s.options ?? []);
  if (opts.length % 4) opts = concat(opts, new Array(4 - (opts.length % 4)).fill(0));
  const hlen = 20 + opts.length;
  const doff = s.doff ?? hlen / 4;
  const hdr = [
    ...be16(s.sport ?? 40000), ...be16(s.dport ?? 80),
    ...be32((s.seq ?? 0) >>> 0), ...be32((s.ack ?? 0) >>> 0),
    (doff & 0x0f) << 4, (s.flags ?? ACK) & 0xff,
    ...be16(s.win ?? 65535), 0, 0, 0, 0,
  ];
  return concat(hdr, opts, bytes(s.payload ?? []));
}

// ---------------------------------------------------------------- IPv4

export interface Ip4Spec {
  src?: string | Uint8Array;
  dst?: string | Uint8Array;
  proto?: number;
  /** IPv4 options (padded to a multiple of 4). */
  options?: Bytes;
  /** Override the IHL nibble (header length in 32-bit words). */
  ihl?: number;
  /** Override the total-length field. */
  total?: number;
  /** Fragment offset in 8-byte units. */
  fragOffset?: number;
  mf?: boolean;
  df?: boolean;
  id?: number;
  ttl?: number;
  /** Override the version nibble. */
  version?: number;
}

export function ipv4(payload: Bytes, s: Ip4Spec = {}): Uint8Array {
  let opts = bytes(s.options ?? []);
  if (opts.length % 4) opts = concat(opts, new Array(4 - (opts.length % 4)).fill(0));
  const hlen = 20 + opts.length;
  const p = bytes(payload);
  const total = s.total ?? hlen + p.length;
  const frag = ((s.fragOffset ?? 0) & 0x1fff) | (s.mf ? 0x2000 : 0) | (s.df ? 0x4000 : 0);
  const hdr = [
    ((s.version ?? 4) << 4) | ((s.ihl ?? hlen / 4) & 0x0f), 0, ...be16(total),
    ...be16(s.id ?? 1), ...be16(frag),
    s.ttl ?? 64, s.proto ?? 6, 0, 0,
    ...addr(s.src ?? '10.0.0.1', false), ...addr(s.dst ?? '10.0.0.2', false),
  ];
  return concat(hdr, opts, p);
}

// ---------------------------------------------------------------- IPv6

/** An IPv6 extension header; bytes[0] (its next-header field) is filled in by ipv6(). */
export interface Ext6 {
  type: number;
  bytes: Uint8Array;
}

function padTo8(body: number[]): number[] {
  // body excludes the first two bytes (next header, length); total must be a multiple of 8.
  const b = [...body];
  const need = (8 - ((b.length + 2) % 8)) % 8;
  if (need === 1) b.push(0); // Pad1
  else if (need > 1) b.push(1, need - 2, ...new Array(need - 2).fill(0)); // PadN
  return b;
}

function optionsHeader(type: number, options: number[]): Ext6 {
  const body = padTo8(options);
  return { type, bytes: Uint8Array.from([0, (body.length + 2) / 8 - 1, ...body]) };
}

/** Hop-by-hop options (type 0); `options` are raw TLVs, padded with PadN. */
export function hopByHop(options: Bytes = []): Ext6 {
  return optionsHeader(0, [...bytes(options)]);
}

/** Destination options (type 60). */
export function destOpts(options: Bytes = []): Ext6 {
  return optionsHeader(60, [...bytes(options)]);
}

/** The Jumbo Payload option TLV (RFC 2675). */
export function jumboOption(len: number): number[] {
  return [0xc2, 4, ...be32(len)];
}

/** Routing header (type 43), routing type 0 with `addrs` 16-byte addresses. */
export function routing(addrs = 1, segmentsLeft = 0): Ext6 {
  const b = [0, 2 * addrs, 0, segmentsLeft, 0, 0, 0, 0];
  for (let i = 0; i < addrs; i++) b.push(...ip6(`2001:db8::${i + 100}`));
  return { type: 43, bytes: Uint8Array.from(b) };
}

/** Fragment header (type 44): offset in 8-byte units. */
export function fragment6(offset: number, more: boolean, id = 0x12345678): Ext6 {
  return { type: 44, bytes: Uint8Array.from([0, 0, ...be16(((offset & 0x1fff) << 3) | (more ? 1 : 0)), ...be32(id)]) };
}

/** Authentication header (type 51) with an ICV of `icvWords` 32-bit words. */
export function authHeader(icvWords = 3): Ext6 {
  const total = 12 + 4 * icvWords;
  const b = [0, total / 4 - 2, 0, 0, ...be32(0x1000), ...be32(1)];
  for (let i = 0; i < 4 * icvWords; i++) b.push(0xa0 + i);
  return { type: 51, bytes: Uint8Array.from(b) };
}

export interface Ip6Spec {
  src?: string | Uint8Array;
  dst?: string | Uint8Array;
  /** Protocol of `payload` (default TCP). */
  next?: number;
  ext?: Ext6[];
  /** Override the payload-length field. */
  payloadLen?: number;
}

export function ipv6(payload: Bytes, s: Ip6Spec = {}): Uint8Array {
  const ext = s.ext ?? [];
  const chain: Uint8Array[] = ext.map((e, i) => {
    const b = Uint8Array.from(e.bytes);
    b[0] = i + 1 < ext.length ? ext[i + 1].type : (s.next ?? 6);
    return b;
  });
  const p = bytes(payload);
  const rest = concat(...chain, p);
  const first = ext.length ? ext[0].type : (s.next ?? 6);
  const hdr = [
    0x60, 0, 0, 0, ...be16(s.payloadLen ?? rest.length), first, 64,
    ...addr(s.src ?? '2001:db8::1', true), ...addr(s.dst ?? '2001:db8::2', true),
  ];
  return concat(hdr, rest);
}

// ---------------------------------------------------------------- link layers

export const MAC_CLIENT = [2, 0, 0, 0, 0, 1];
export const MAC_SERVER = [2, 0, 0, 0, 0, 2];

export interface EtherSpec {
  dst?: number[];
  src?: number[];
  /** Ethertype after the tags (default from the IP version nibble). */
  type?: number;
  /** VLAN tags, outermost first. */
  tags?: { tpid: number; tci: number }[];
  /** Pad the frame with zeros up to this length (60 for minimum Ethernet). */
  padTo?: number;
  /** Append 4 FCS bytes (not a real CRC). */
  fcs?: boolean;
}

export function ether(ip: Bytes, s: EtherSpec = {}): Uint8Array {
  const p = bytes(ip);
  const type = s.type ?? (p.length > 0 && p[0] >> 4 === 6 ? 0x86dd : 0x0800);
  const tags: number[] = [];
  for (const t of s.tags ?? []) tags.push(...be16(t.tpid), ...be16(t.tci));
  let f = concat(s.dst ?? MAC_SERVER, s.src ?? MAC_CLIENT, tags, be16(type), p);
  if (s.padTo !== undefined && f.length < s.padTo) f = concat(f, new Array(s.padTo - f.length).fill(0));
  if (s.fcs) f = concat(f, [0xde, 0xad, 0xbe, 0xef]);
  return f;
}

/** DLT_NULL / DLT_LOOP: a 4-byte address family in either byte order. */
export function nullFrame(ip: Bytes, af: number, order: 'le' | 'be' = 'le'): Uint8Array {
  const w = be32(af);
  return concat(order === 'be' ? w : w.reverse(), ip);
}

/** Linux cooked capture v1 (16 bytes); `mpls` labels are inserted when proto is 0x8847. */
export function sll(ip: Bytes, proto = 0x0800, mpls: number[] = []): Uint8Array {
  const hdr = [0, 0, 0, 1, 0, 6, ...MAC_CLIENT, 0, 0, ...be16(proto)];
  const labels: number[] = [];
  mpls.forEach((label, i) => {
    const bos = i === mpls.length - 1 ? 1 : 0;
    labels.push(...be32(((label & 0xfffff) << 12) | (bos << 8) | 64));
  });
  return concat(hdr, labels, ip);
}

/** Linux cooked capture v2 (20 bytes). */
export function sll2(ip: Bytes, proto = 0x0800): Uint8Array {
  const hdr = [...be16(proto), 0, 0, ...be32(2), 0, 1, 0, 6, ...MAC_CLIENT, 0, 0];
  return concat(hdr, ip);
}

/** PPP (DLT 9): address, control, 2-byte protocol. */
export function ppp(ip: Bytes, proto = 0x0021): Uint8Array {
  return concat([0xff, 0x03, ...be16(proto)], ip);
}

/** PPPoE session (DLT 51): 6-byte PPPoE header, 2-byte PPP protocol. */
export function pppoe(ip: Bytes, proto = 0x0021): Uint8Array {
  const p = bytes(ip);
  return concat([0x11, 0x00, ...be16(0x1234), ...be16(p.length + 2), ...be16(proto)], p);
}
