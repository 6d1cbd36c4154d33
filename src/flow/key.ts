import type { DecodedPacket } from '../decode/packet';

/** addrWord, unsigned: the flow key texts' numbers. */
function u32(b: Uint8Array, o: number): number {
  return addrWord(b, o) >>> 0;
}

/**
 * The directional 4-tuple key (src, dst, sport, dport, family) as a string for Map lookup.
 * The flows of one 4-tuple on different VLANs are told apart behind it (src/flow/vlan.ts).
 */
export function flowKey(buf: Uint8Array, d: DecodedPacket): string {
  const a = d.addrOffset;
  if (d.addrLen === 4) return `${u32(buf, a)}>${u32(buf, a + 4)}:${d.sport}>${d.dport}`;
  return `${u32(buf, a)},${u32(buf, a + 4)},${u32(buf, a + 8)},${u32(buf, a + 12)}>` +
    `${u32(buf, a + 16)},${u32(buf, a + 20)},${u32(buf, a + 24)},${u32(buf, a + 28)}:${d.sport}>${d.dport}`;
}

/** The directional flow key (as flowKey) of a flow with these endpoints: a flow's own, or with the ends swapped its reverse's. */
export function flowKeyOf(src: Uint8Array, dst: Uint8Array, sport: number, dport: number): string {
  if (src.length === 4) return `${u32(src, 0)}>${u32(dst, 0)}:${sport}>${dport}`;
  return `${u32(src, 0)},${u32(src, 4)},${u32(src, 8)},${u32(src, 12)}>` +
    `${u32(dst, 0)},${u32(dst, 4)},${u32(dst, 8)},${u32(dst, 12)}:${sport}>${dport}`;
}

/**
 * A 32-bit hash of a directional 4-tuple: addresses of `n` bytes at src[s] and dst[t].
 * The flow table's key (no allocation). Signed (int32), so that V8 keeps it in the flow as
 * a small integer: unsigned, half the flows held it as a heap number of its own, and every
 * flow a packet's lookup passed read it through that pointer (a cache miss per entry on
 * conc: a quarter of TcpDemux.process's time in perf annotate).
 */
export function tupleHash(src: Uint8Array, s: number, dst: Uint8Array, t: number, n: number, sport: number, dport: number): number {
  let h = Math.imul(sport ^ (dport << 16), 0x9e3779b1);
  for (let o = 0; o < n; o += 4) {
    h = Math.imul(h ^ addrWord(src, s + o), 0x85ebca6b);
    h ^= h >>> 13;
  }
  for (let o = 0; o < n; o += 4) {
    h = Math.imul(h ^ addrWord(dst, t + o), 0x85ebca6b);
    h ^= h >>> 13;
  }
  return h ^ (h >>> 16);
}

/** tupleHash of the packet's directional 4-tuple. */
export function flowHash(buf: Uint8Array, d: DecodedPacket): number {
  const a = d.addrOffset, n = d.addrLen;
  return tupleHash(buf, a, buf, a + n, n, d.sport, d.dport);
}

/** tupleHash of the 4-tuple of the other direction of the packet's connection. */
export function reverseFlowHash(buf: Uint8Array, d: DecodedPacket): number {
  const a = d.addrOffset, n = d.addrLen;
  return tupleHash(buf, a + n, buf, a, n, d.dport, d.sport);
}

/**
 * The four bytes at b[o] as a signed 32-bit integer: an IPv4 address whole, an IPv6
 * address's first word. Kept in flow table entries beside the address arrays, it lets a
 * lookup reject (and for IPv4 accept) an entry without reading the arrays.
 */
export function addrWord(b: Uint8Array, o: number): number {
  return (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
}

/** Whether the packet belongs to the flow with these endpoints (same direction). */
export function sameFlow(buf: Uint8Array, d: DecodedPacket, src: Uint8Array, dst: Uint8Array, sport: number, dport: number): boolean {
  if (sport !== d.sport || dport !== d.dport || src.length !== d.addrLen) return false;
  const a = d.addrOffset, n = d.addrLen;
  for (let i = 0; i < n; i++) {
    if (src[i] !== buf[a + i] || dst[i] !== buf[a + n + i]) return false;
  }
  return true;
}

/** The key of the opposite direction of the packet's connection. */
export function reverseFlowKey(buf: Uint8Array, d: DecodedPacket): string {
  const a = d.addrOffset, n = d.addrLen;
  if (n === 4) return `${u32(buf, a + 4)}>${u32(buf, a)}:${d.dport}>${d.sport}`;
  return `${u32(buf, a + 16)},${u32(buf, a + 20)},${u32(buf, a + 24)},${u32(buf, a + 28)}>` +
    `${u32(buf, a)},${u32(buf, a + 4)},${u32(buf, a + 8)},${u32(buf, a + 12)}:${d.dport}>${d.sport}`;
}

/** A flow's own copy of its endpoints: addresses and, on Ethernet, the MACs. */
export interface Endpoints {
  src: Uint8Array;
  dst: Uint8Array;
  /** 12 bytes: destination MAC then source MAC, or null for other link types. */
  mac: Uint8Array | null;
}

/** The latest MACs copied: the next flow with the same ones shares the array. */
let lastMac: Uint8Array | null = null;

/**
 * Copy the packet's endpoints out of the chunk (its memory is reused). Flows share what
 * they can, as nothing writes into these arrays: a flow of the connection's other
 * direction (`reverse`) lends its addresses, and a flow with the same MACs as the
 * previous one (most flows of a capture pass the same two interfaces) their array, so
 * most new flows allocate no array at all.
 */
export function copyEndpoints(buf: Uint8Array, d: DecodedPacket, reverse?: { readonly src: Uint8Array; readonly dst: Uint8Array }): Endpoints {
  const a = d.addrOffset, n = d.addrLen, m = d.macOffset;
  let mac: Uint8Array | null = null;
  if (m >= 0) {
    mac = lastMac;
    if (mac === null || !bytesEqual(mac, buf, m)) lastMac = mac = copyOut(buf, m, 12);
  }
  if (reverse !== undefined) return { src: reverse.dst, dst: reverse.src, mac };
  if (n === 4) return { src: ipv4Of(buf, a), dst: ipv4Of(buf, a + 4), mac };
  return { src: copyOut(buf, a, n), dst: copyOut(buf, a + n, n), mac };
}

/**
 * IPv4 addresses copied lately, direct-mapped by value: a server's address, or a client's
 * with several connections, is one shared array (nothing writes into them), not one per flow.
 */
const IPV4_SLOTS = 4096;
const ipv4Seen: (Uint8Array | null)[] = new Array<Uint8Array | null>(IPV4_SLOTS).fill(null);
/** addrWord of each slot's array: compared without reading the array (a cache miss of its own). */
const ipv4Words = new Int32Array(IPV4_SLOTS);

function ipv4Of(buf: Uint8Array, off: number): Uint8Array {
  const w = addrWord(buf, off);
  const slot = (Math.imul(w, 0x9e3779b1) >>> 20) & (IPV4_SLOTS - 1);
  const seen = ipv4Seen[slot];
  if (seen !== null && ipv4Words[slot] === w) return seen;
  ipv4Words[slot] = w;
  return ipv4Seen[slot] = copyOut(buf, off, 4);
}

function bytesEqual(x: Uint8Array, buf: Uint8Array, off: number): boolean {
  for (let i = 0; i < x.length; i++) if (x[i] !== buf[off + i]) return false;
  return true;
}

function copyOut(buf: Uint8Array, off: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = buf[off + i];
  return out;
}
