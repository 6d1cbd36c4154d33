import { addrText } from '../util/address';
import {
  BAR_WIDTHS, COLOURED_PORTS, MAX_BARS, NO_PORT, TRANSPORTS, emptyCounts, widen,
  type AddressCounts, type NetvizCounts,
} from './collector';

/** Bars, address and port lists tcpflow's picture shows (address_histogram, port_histogram: 10 bars). */
export const TOP_BARS = 10;

export interface Ranked<K> {
  key: K;
  bytes: number;
}

/** Everything the picture shows, from every collector's counts. */
export interface NetvizSummary {
  packets: number;
  bytes: number;
  /** Microseconds; -1 without packets. */
  first: number;
  last: number;
  transports: Ranked<string>[];
  /** Width of a bar in microseconds, and the bars from the first to the last (empty ones included). */
  barWidth: number;
  firstBar: number;
  /** Per bar, bytes by port (NO_PORT: not TCP), ascending port. */
  bars: [number, number][][];
  srcPorts: Ranked<number>[];
  dstPorts: Ranked<number>[];
  /** Bytes of TCP packets (what the port percentages are of). */
  tcpBytes: number;
  srcAddrs: Ranked<string>[];
  dstAddrs: Ranked<string>[];
  /** Bytes of IP packets (what the address percentages are of). */
  ipBytes: number;
  /** Bytes whose address a full address map did not count (-S netviz_histogram_size), per direction. */
  uncounted: { src: number; dst: number };
}

/** Adds every collector's counts up; the result does not depend on their order or number. */
export function mergeCounts(parts: readonly NetvizCounts[]): NetvizSummary {
  const all = emptyCounts();
  const withBars = parts.filter((p) => p.bars.size > 0);
  all.level = withBars.reduce((l, p) => Math.max(l, p.level), 0);
  for (const p of parts) {
    all.packets += p.packets;
    all.bytes += p.bytes;
    if (p.first >= 0 && (all.first < 0 || p.first < all.first)) all.first = p.first;
    if (p.last > all.last) all.last = p.last;
    p.transports.forEach((n, i) => { all.transports[i] += n; });
    for (let port = 0; port < 65_536; port++) {
      all.srcPorts[port] += p.srcPorts[port];
      all.dstPorts[port] += p.dstPorts[port];
    }
    addAddresses(all.srcAddrs, p.srcAddrs);
    addAddresses(all.dstAddrs, p.dstAddrs);
    const bars = p.level === all.level ? p.bars : widen(p.bars, BAR_WIDTHS[p.level], BAR_WIDTHS[all.level]);
    for (const [bar, ports] of bars) {
      const into = all.bars.get(bar);
      if (into === undefined) all.bars.set(bar, new Map(ports));
      else for (const [port, n] of ports) into.set(port, (into.get(port) ?? 0) + n);
    }
  }
  const span = () => {
    let lo = Infinity, hi = -Infinity;
    for (const b of all.bars.keys()) { lo = Math.min(lo, b); hi = Math.max(hi, b); }
    return { lo, hi };
  };
  let { lo, hi } = span();
  while (all.bars.size > 0 && hi - lo >= MAX_BARS && all.level < BAR_WIDTHS.length - 1) {
    all.bars = widen(all.bars, BAR_WIDTHS[all.level], BAR_WIDTHS[all.level + 1]);
    all.level++;
    ({ lo, hi } = span());
  }
  const bars: [number, number][][] = [];
  if (all.bars.size > 0) {
    for (let b = lo; b <= hi; b++) bars.push([...(all.bars.get(b) ?? new Map<number, number>())].sort((x, y) => x[0] - y[0]));
  }
  const srcAddrTotal = sum(all.srcAddrs.bytes.values()) + all.srcAddrs.uncounted;
  return {
    packets: all.packets,
    bytes: all.bytes,
    first: all.first,
    last: all.last,
    transports: TRANSPORTS.map((t, i) => ({ key: t, bytes: all.transports[i] })),
    barWidth: BAR_WIDTHS[all.level],
    firstBar: all.bars.size > 0 ? lo : 0,
    bars,
    srcPorts: topPorts(all.srcPorts),
    dstPorts: topPorts(all.dstPorts),
    tcpBytes: sum(all.srcPorts),
    srcAddrs: topAddresses(all.srcAddrs),
    dstAddrs: topAddresses(all.dstAddrs),
    ipBytes: srcAddrTotal,
    uncounted: { src: all.srcAddrs.uncounted, dst: all.dstAddrs.uncounted },
  };
}

function addAddresses(into: AddressCounts, from: AddressCounts): void {
  into.uncounted += from.uncounted;
  for (const [k, n] of from.bytes) into.bytes.set(k, (into.bytes.get(k) ?? 0) + n);
}

function sum(values: Iterable<number>): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}

/** The busiest ports, ties by port number. */
function topPorts(bytes: Float64Array): Ranked<number>[] {
  const out: Ranked<number>[] = [];
  for (let port = 0; port < bytes.length; port++) if (bytes[port] > 0) out.push({ key: port, bytes: bytes[port] });
  return out.sort((a, b) => b.bytes - a.bytes || a.key - b.key).slice(0, TOP_BARS);
}

/** The busiest addresses, ties by address text. */
function topAddresses(a: AddressCounts): Ranked<string>[] {
  const out: Ranked<string>[] = [];
  for (const [k, n] of a.bytes) out.push({ key: addressText(k), bytes: n });
  return out.sort((x, y) => y.bytes - x.bytes || (x.key < y.key ? -1 : x.key > y.key ? 1 : 0)).slice(0, TOP_BARS);
}

/** An address key (collector.ts) as text. */
export function addressText(k: number | string): string {
  if (typeof k === 'number') return `${k >>> 24}.${(k >>> 16) & 255}.${(k >>> 8) & 255}.${k & 255}`;
  return addrText(Uint8Array.from(k.match(/../g) as string[], (h) => parseInt(h, 16)));
}

/** Colours of the time histogram and the port bars: tcpflow's (one_page_report.cpp). */
export const COLOURS = {
  http: '#0500ff', https: '#05bf00', ssh: '#9400bf', ftp: '#ff0000',
  orange: '#ff7800', magenta: '#bf0099', deepPurple: '#6600bf', teal: '#00bfa6', grey: '#ababab',
} as const;

export interface LegendEntry {
  colour: string;
  label: string;
  port: number;
}

/**
 * Each port's colour: HTTP, HTTPS, SSH, FTP ports their own; the four busiest other
 * source ports orange, magenta, deep purple and teal; everything else grey. The legend
 * names the colours the time histogram uses, sorted as tcpflow sorts it (by colour entry).
 */
export function portColours(s: NetvizSummary): { colourOf: (port: number) => string; legend: LegendEntry[] } {
  const fixed = (p: number): string | null => p === 443 ? COLOURS.https : p === 22 ? COLOURS.ssh : p === 20 || p === 21 ? COLOURS.ftp
    : COLOURED_PORTS.has(p) ? COLOURS.http : null;
  const extra = new Map<number, string>();
  const spare = [COLOURS.orange, COLOURS.magenta, COLOURS.deepPurple, COLOURS.teal];
  for (const { key } of s.srcPorts) {
    if (extra.size === spare.length) break;
    if (fixed(key) === null) extra.set(key, spare[extra.size]);
  }
  const colourOf = (p: number) => p === NO_PORT ? COLOURS.grey : fixed(p) ?? extra.get(p) ?? COLOURS.grey;
  const inBars = new Set<number>();
  for (const bar of s.bars) for (const [p] of bar) inBars.add(p);
  const legend: LegendEntry[] = [];
  const has = (ports: number[]) => ports.some((p) => inBars.has(p));
  if (has([80, 8080, 8000, 8888, 81, 82, 8090])) legend.push({ colour: COLOURS.http, label: 'HTTP', port: 80 });
  if (has([443])) legend.push({ colour: COLOURS.https, label: 'HTTPS', port: 443 });
  if (has([22])) legend.push({ colour: COLOURS.ssh, label: 'SSH', port: 22 });
  if (has([20, 21])) legend.push({ colour: COLOURS.ftp, label: 'FTP', port: 20 });
  for (const [port, colour] of extra) if (inBars.has(port)) legend.push({ colour, label: `Port ${port}`, port });
  return { colourOf, legend };
}
