/**
 * netviz's counts (spec §8.3), gathered where the packets are: each worker counts the TCP
 * packets it is given, the coordinator the packets no worker gets (other IP traffic, ARP,
 * frames it cannot decode). Every count is a sum, and every choice that tcpflow makes
 * from the order of packets is made here from something the order cannot change (bucket
 * boundaries on fixed multiples of the epoch, the global packet number), so the merged
 * counts (merge.ts) are the same for any number of workers.
 */
import type { DecodedPacket } from '../decode/packet';

/** Default of -S netviz_histogram_size: distinct addresses counted exactly per worker and direction. */
export const DEFAULT_NETVIZ_ADDRESSES = 200_000;

/** The time histogram has at most this many bars (tcpflow's max_bars). */
export const MAX_BARS = 100;

const MS = 1000, S = 1_000_000, DAY = 86_400 * S;
/**
 * Bar widths in microseconds, finest first; each divides the next, so bars of one width
 * add up exactly into bars of the next (bars start at multiples of their width).
 */
export const BAR_WIDTHS: readonly number[] = [
  100, MS, 10 * MS, 100 * MS, S, 10 * S, 60 * S, 600 * S, 3600 * S, 6 * 3600 * S, DAY, 10 * DAY, 100 * DAY, 1000 * DAY, 10_000 * DAY,
];

/** The time histogram's key for bytes that are not TCP (tcpflow's "portless" count). */
export const NO_PORT = 65_536;

export type Transport = 'IPv4' | 'IPv6' | 'ARP' | 'VLAN' | 'Other';
export const TRANSPORTS: readonly Transport[] = ['IPv4', 'IPv6', 'ARP', 'VLAN', 'Other'];

/** One direction's address counts: bytes by address, and what the cap left uncounted. */
export interface AddressCounts {
  /** IPv4 addresses as 32-bit numbers, IPv6 as 32 hex digits. */
  bytes: Map<number | string, number>;
  /** Bytes of addresses met after the map was full (-S netviz_histogram_size). */
  uncounted: number;
}

/** What a collector hands over (structured-cloneable: it travels from each worker). */
export interface NetvizCounts {
  packets: number;
  bytes: number;
  /** Time of the first and last packet in microseconds (-1: no packet). */
  first: number;
  last: number;
  /** Bytes by transport (TRANSPORTS order). */
  transports: number[];
  /** Index into BAR_WIDTHS of the bars below. */
  level: number;
  /** Bar number (time / width) → bytes by port (NO_PORT: not TCP). */
  bars: Map<number, Map<number, number>>;
  srcPorts: Float64Array;
  dstPorts: Float64Array;
  srcAddrs: AddressCounts;
  dstAddrs: AddressCounts;
}

export function emptyCounts(): NetvizCounts {
  return {
    packets: 0, bytes: 0, first: -1, last: -1, transports: TRANSPORTS.map(() => 0), level: 0, bars: new Map(),
    srcPorts: new Float64Array(65_536), dstPorts: new Float64Array(65_536),
    srcAddrs: { bytes: new Map(), uncounted: 0 }, dstAddrs: { bytes: new Map(), uncounted: 0 },
  };
}

/** HTTP, HTTPS, SSH and FTP ports: coloured in the time histogram whichever side they are on. */
export const COLOURED_PORTS: ReadonlySet<number> = new Set([80, 8080, 8000, 8888, 81, 82, 8090, 443, 22, 20, 21]);

const ETHERTYPE_IPV4 = 0x0800, ETHERTYPE_IPV6 = 0x86dd, ETHERTYPE_ARP = 0x0806, ETHERTYPE_VLAN = 0x8100;

/** Counts packets into a NetvizCounts. */
export class NetvizCollector {
  readonly counts = emptyCounts();
  /** The lowest and highest bar number in counts.bars. */
  private lo = 0;
  private hi = -1;

  constructor(private readonly maxAddresses: number) {}

  /**
   * A TCP packet (decoded in `data`): `time` in microseconds, `length` its length on the
   * wire, `packetNo` its global number. Which port the time histogram gets follows
   * tcpflow: the source port, unless only the destination port is a coloured one; when
   * both are, every other packet (by global number) gets the destination port.
   */
  tcp(data: Uint8Array, d: DecodedPacket, time: number, length: number, packetNo: number): void {
    const m = d.macOffset;
    this.common(time, length, transport(m >= 0 ? (data[m + 12] << 8) | data[m + 13] : -1, d.ipVersion));
    this.addresses(data, d.addrOffset, d.addrLen, length);
    const c = this.counts, sp = d.sport, dp = d.dport;
    c.srcPorts[sp] += length;
    c.dstPorts[dp] += length;
    const sc = COLOURED_PORTS.has(sp), dc = COLOURED_PORTS.has(dp);
    this.bar(time, (dc && !sc) || (sc && dc && packetNo % 2 === 0) ? dp : sp, length);
  }

  /**
   * A packet no worker gets: `notProcessed` when decodeFrame found IP that is not a
   * usable TCP segment (`d.ipOffset` is then its IP header); `end` is where its captured
   * bytes end, `ethernetAt` where its Ethernet header starts (-1 for other link types and
   * for frames of link types that are not decoded).
   */
  other(data: Uint8Array, d: DecodedPacket, notProcessed: boolean, end: number, ethernetAt: number, time: number, length: number): void {
    const type = ethernetAt >= 0 && end - ethernetAt >= 14 ? (data[ethernetAt + 12] << 8) | data[ethernetAt + 13] : -1;
    let version = 0;
    if (notProcessed) {
      const ip = d.ipOffset;
      version = data[ip] >> 4;
      if (version === 4 && end - ip >= 20) this.addresses(data, ip + 12, 4, length);
      else if (version === 6 && end - ip >= 40) this.addresses(data, ip + 8, 16, length);
      else version = 0;
    }
    this.common(time, length, transport(type, version));
    this.bar(time, NO_PORT, length);
  }

  private common(time: number, length: number, transport: number): void {
    const c = this.counts;
    c.packets++;
    c.bytes += length;
    c.transports[transport] += length;
    if (c.first < 0 || time < c.first) c.first = time;
    if (time > c.last) c.last = time;
  }

  private addresses(data: Uint8Array, off: number, len: number, length: number): void {
    count(this.counts.srcAddrs, addressKey(data, off, len), length, this.maxAddresses);
    count(this.counts.dstAddrs, addressKey(data, off + len, len), length, this.maxAddresses);
  }

  private bar(time: number, port: number, length: number): void {
    const c = this.counts;
    let bar = Math.floor(time / BAR_WIDTHS[c.level]);
    if (this.hi < this.lo) {
      this.lo = this.hi = bar;
    } else if (bar < this.lo || bar > this.hi) {
      // Wider bars until the span fits (the widest always does: it is over 27 years).
      while (Math.max(this.hi, bar) - Math.min(this.lo, bar) >= MAX_BARS && c.level < BAR_WIDTHS.length - 1) {
        const from = BAR_WIDTHS[c.level], to = BAR_WIDTHS[++c.level];
        c.bars = widen(c.bars, from, to);
        this.lo = Math.floor((this.lo * from) / to);
        this.hi = Math.floor((this.hi * from) / to);
        bar = Math.floor(time / to);
      }
      this.lo = Math.min(this.lo, bar);
      this.hi = Math.max(this.hi, bar);
    }
    let ports = c.bars.get(bar);
    if (ports === undefined) c.bars.set(bar, ports = new Map());
    ports.set(port, (ports.get(port) ?? 0) + length);
  }
}

/**
 * A packet's transport (index into TRANSPORTS): tcpflow's is the frame's outer ethertype
 * (a VLAN-tagged frame counts as VLAN); without an Ethernet header (`type` -1), its IP
 * version (0: none).
 */
function transport(type: number, ipVersion: number): number {
  if (type < 0) return ipVersion === 4 ? 0 : ipVersion === 6 ? 1 : 4;
  return type === ETHERTYPE_IPV4 ? 0 : type === ETHERTYPE_IPV6 ? 1 : type === ETHERTYPE_ARP ? 2 : type === ETHERTYPE_VLAN ? 3 : 4;
}

function count(a: AddressCounts, key: number | string, length: number, max: number): void {
  const had = a.bytes.get(key);
  if (had !== undefined) a.bytes.set(key, had + length);
  else if (a.bytes.size < max) a.bytes.set(key, length);
  else a.uncounted += length;
}

function addressKey(data: Uint8Array, off: number, len: number): number | string {
  if (len === 4) return ((data[off] << 24) | (data[off + 1] << 16) | (data[off + 2] << 8) | data[off + 3]) >>> 0;
  let s = '';
  for (let i = 0; i < 16; i++) s += (data[off + i] < 16 ? '0' : '') + data[off + i].toString(16);
  return s;
}

/** Bars of width `from` added up into bars of width `to` (a multiple of `from`). */
export function widen(bars: Map<number, Map<number, number>>, from: number, to: number): Map<number, Map<number, number>> {
  const out = new Map<number, Map<number, number>>();
  for (const [bar, ports] of bars) {
    const b = Math.floor((bar * from) / to);
    const into = out.get(b);
    if (into === undefined) out.set(b, new Map(ports));
    else for (const [p, n] of ports) into.set(p, (into.get(p) ?? 0) + n);
  }
  return out;
}
