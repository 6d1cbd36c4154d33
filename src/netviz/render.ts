/**
 * netviz's page (spec §8.3) as a self-contained SVG, and an HTML page around it: the
 * header lines, the time histogram coloured by port with its legend, the top source and
 * destination addresses and ports with their top-3 lines, on tcpflow's one-page layout
 * (611 pt wide, at most 792 pt high). Each histogram carries its cumulative share as a
 * line (how fast the traffic falls off after the busiest few). A pure function of the
 * merged counts and the header values, so equal counts give equal bytes.
 */
import { escapeXml } from '../report/xml-text';
import { NO_PORT } from './collector';
import { COLOURS, portColours, type NetvizSummary, type Ranked } from './merge';

export interface NetvizHeader {
  /** First line (tcpflow: `TCPFLOW 1.6.1`). */
  title: string;
  /** The first input and how many more there were. */
  input: string;
  moreInputs: number;
  /** When the page was made (SOURCE_DATE_EPOCH fixes it, for reproducible pages). */
  generated: Date;
}

const PAGE_W = 611, PAGE_H = 792;
const PAD = PAGE_W * 0.05;
const WIDTH = PAGE_W - 2 * PAD;
const FONT = 8;
const LINE = FONT * 1.4;
const SIDE_W = WIDTH / 2.2;
const BLACK = '#000000';

const n2 = (v: number) => (Math.round(v * 100) / 100).toString();
const esc = (s: string) => escapeXml(s);

/** tcpflow's plot_view::pretty_byte_total: powers of 1000, two decimals past plain bytes. */
export function prettyBytes(n: number): string {
  const units = ['', 'K', 'M', 'G', 'T', 'P', 'E'];
  let u = n > 0 ? Math.floor(Math.log(n) / Math.log(1000)) : 0;
  if (u < 0 || u >= units.length) u = 0;
  // log() can land just below a power of 1000: 1000 is 1.00 KB, not 1000 B.
  if (u + 1 < units.length && n >= 1000 ** (u + 1)) u++;
  return u === 0 ? `${n} B` : `${(n / 1000 ** u).toFixed(2)} ${units[u]}B`;
}

/** 1234567 → "1,234,567" (tcpflow's comma_number_string). */
function commas(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A time in microseconds as `YYYY-MM-DD HH:MM:SS` UTC (with milliseconds when `fine`). */
function utc(us: number, fine = false): string {
  const iso = new Date(Math.floor(us / 1000)).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, fine ? 23 : 19)}`;
}

/** A bar width in words: 100 µs, 10 ms, 1 s, 10 min, 6 h, 10 days. */
function duration(us: number): string {
  const units: [number, string][] = [[86_400e6, ' days'], [3600e6, ' h'], [60e6, ' min'], [1e6, ' s'], [1e3, ' ms'], [1, ' µs']];
  for (const [size, name] of units) {
    if (us >= size && us % size === 0) return `${us / size}${us / size === 1 && name === ' days' ? ' day' : name}`;
  }
  return `${us} µs`;
}

function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${n2(x)}" y="${n2(y)}"${attrs}>${esc(s)}</text>`;
}

function headerLines(s: NetvizSummary, h: NetvizHeader): string[] {
  const transports = s.bytes === 0 ? '' : s.transports
    .map((t) => ({ t, pct: Math.floor((t.bytes / s.bytes) * 100) }))
    .filter(({ pct }) => pct > 0)
    .map(({ t, pct }) => `${t.key} ${pct}%`).join(' ');
  return [
    h.title,
    `Input: ${h.input}${h.moreInputs > 0 ? ` + ${h.moreInputs} more` : ''}`,
    `Generated: ${utc(h.generated.getTime() * 1000)} UTC`,
    s.first < 0 ? 'Date range: no packets' : `Date range: ${utc(s.first)} -- ${utc(s.last)} UTC`,
    `Packets analyzed: ${commas(s.packets)} (${prettyBytes(s.bytes)})`,
    `Transports: ${transports}`,
  ];
}

/** The time histogram: one stacked bar per bar width, segments by port colour. */
function timeHistogram(s: NetvizSummary, y: number, colourOf: (p: number) => string, order: string[]): string {
  const height = 100;
  const parts = [`<g id="time-histogram" transform="translate(${n2(PAD)},${n2(y)})">`];
  parts.push(text(0, -3, `Bytes per ${duration(s.barWidth)} (${s.bars.length} bar${s.bars.length === 1 ? '' : 's'})`, ' class="title"'));
  parts.push(`<rect class="frame" x="0" y="0" width="${n2(WIDTH)}" height="${height}" fill="none" stroke="#cccccc" stroke-width="0.5"/>`);
  if (s.bars.length === 0) {
    parts.push(text(WIDTH / 2, height / 2, 'No packets', ' text-anchor="middle"'), '</g>');
    return parts.join('\n');
  }
  const totals = s.bars.map((bar) => bar.reduce((a, [, n]) => a + n, 0));
  const tallest = Math.max(...totals, 1) * 1.1;
  const slot = WIDTH / s.bars.length;
  const barW = Math.max(slot * 0.8, 0.5);
  s.bars.forEach((bar, i) => {
    const byColour = new Map<string, number>();
    for (const [port, n] of bar) byColour.set(colourOf(port), (byColour.get(colourOf(port)) ?? 0) + n);
    const start = (s.firstBar + i) * s.barWidth;
    let top = height;
    for (const colour of order) {
      const n = byColour.get(colour);
      if (n === undefined) continue;
      const h = (n / tallest) * height;
      top -= h;
      parts.push(`<rect class="bar" x="${n2(i * slot + (slot - barW) / 2)}" y="${n2(top)}" width="${n2(barW)}" height="${n2(h)}" fill="${colour}">` +
        `<title>${esc(`${utc(start, s.barWidth < 1e6)} UTC: ${prettyBytes(n)}`)}</title></rect>`);
    }
  });
  const fine = s.barWidth < 1e6;
  parts.push(text(0, height + LINE, utc(s.firstBar * s.barWidth, fine), ' class="axis"'));
  parts.push(text(WIDTH, height + LINE, `${utc((s.firstBar + s.bars.length) * s.barWidth, fine)} UTC`, ' class="axis" text-anchor="end"'));
  parts.push(text(-2, 7, prettyBytes(Math.max(...totals)), ' class="axis" text-anchor="end" transform="rotate(-90 -2 7)"'));
  parts.push('</g>');
  return parts.join('\n');
}

function legend(entries: { colour: string; label: string }[], y: number): string {
  const parts = [`<g id="legend" transform="translate(${n2(PAD)},${n2(y)})">`];
  let x = 0;
  for (const e of entries) {
    parts.push(`<rect class="swatch" x="${n2(x)}" y="2" width="8" height="8" fill="${e.colour}"/>`);
    parts.push(text(x + 11, 9, e.label, ' class="legend-label"'));
    x += 11 + e.label.length * FONT * 0.55 + 12;
  }
  if (entries.length === 0) parts.push(text(0, 9, 'No coloured ports', ' class="legend-label"'));
  parts.push('</g>');
  return parts.join('\n');
}

/**
 * A top-10 histogram (addresses or ports) with its cumulative share as a black line, and
 * the top-3 lines below it (`1) 10.1.1.1 - 250.93 KB (78%)`).
 */
function sideHistogram<K extends string | number>(id: string, title: string, emptyTitle: string, items: Ranked<K>[], total: number,
  x: number, y: number, height: number, colour: (k: K) => string, label: (k: K, rank: number) => string): { svg: string; bottom: number } {
  const parts = [`<g id="${id}" class="histogram" transform="translate(${n2(x)},${n2(y)})">`];
  parts.push(text(0, -3, items.length > 0 ? title : emptyTitle, ' class="title"'));
  parts.push(`<rect class="frame" x="0" y="0" width="${n2(SIDE_W)}" height="${height}" fill="none" stroke="#cccccc" stroke-width="0.5"/>`);
  const tallest = Math.max(...items.map((i) => i.bytes), 1) * 1.1;
  const slot = SIDE_W / 10;
  let cumulative = 0;
  const points: string[] = [];
  items.forEach((item, i) => {
    const h = (item.bytes / tallest) * height;
    parts.push(`<rect class="bar" x="${n2(i * slot + slot * 0.1)}" y="${n2(height - h)}" width="${n2(slot * 0.8)}" height="${n2(h)}" fill="${colour(item.key)}">` +
      `<title>${esc(`${item.key}: ${prettyBytes(item.bytes)}`)}</title></rect>`);
    parts.push(text(i * slot + slot / 2, height + 8, label(item.key, i + 1), ' class="axis" text-anchor="middle"'));
    cumulative += item.bytes;
    points.push(`${n2(i * slot + slot / 2)},${n2(height - (total > 0 ? (cumulative / total) * height : 0))}`);
  });
  if (points.length > 0) parts.push(`<polyline class="cdf" points="${points.join(' ')}" fill="none" stroke="${BLACK}" stroke-width="1"/>`);
  let bottom = height + 8 + LINE;
  items.slice(0, 3).forEach((item, i) => {
    const pct = total > 0 ? Math.floor((item.bytes / total) * 100) : 0;
    parts.push(text(0, bottom, `${i + 1}) ${item.key} - ${prettyBytes(item.bytes)} (${pct}%)`, ' class="top"'));
    bottom += LINE;
  });
  parts.push('</g>');
  return { svg: parts.join('\n'), bottom: y + bottom };
}

/** The page as a standalone SVG document. */
export function renderSvg(s: NetvizSummary, h: NetvizHeader): string {
  const { colourOf, legend: entries } = portColours(s);
  const order = [...new Set([...entries.map((e) => e.colour), COLOURS.http, COLOURS.https, COLOURS.ssh, COLOURS.ftp,
    COLOURS.orange, COLOURS.magenta, COLOURS.deepPurple, COLOURS.teal, COLOURS.grey])];
  const out: string[] = [`<g id="header" transform="translate(${n2(PAD)},${n2(PAD)})">`];
  let y = 0;
  headerLines(s, h).forEach((line, i) => {
    y += LINE + (i === 3 ? FONT : 0);
    out.push(text(0, y, line, i === 0 ? ' class="title"' : ''));
  });
  out.push('</g>');
  y += PAD + FONT * 2 + 6;
  out.push(timeHistogram(s, y, colourOf, order));
  y += 100 + LINE + 6;
  out.push(legend(entries, y));
  y += 16 + 18;
  const right = PAD + WIDTH - SIDE_W;
  const addrNote = s.uncounted.src > 0 || s.uncounted.dst > 0;
  const srcA = sideHistogram('src-addresses', 'Top Source Addresses', 'No Source Addresses', s.srcAddrs, s.ipBytes, PAD, y, 125,
    () => COLOURS.grey, (_k, rank) => String(rank));
  const dstA = sideHistogram('dst-addresses', 'Top Destination Addresses', 'No Destination Addresses', s.dstAddrs, s.ipBytes, right, y, 125,
    () => COLOURS.grey, (_k, rank) => String(rank));
  out.push(srcA.svg, dstA.svg);
  y = Math.max(srcA.bottom, dstA.bottom) + 18;
  const portColour = (p: number) => colourOf(p);
  const srcP = sideHistogram('src-ports', 'Top Source Ports', 'No Source Ports', s.srcPorts, s.tcpBytes, PAD, y, 100, portColour, (k) => String(k));
  const dstP = sideHistogram('dst-ports', 'Top Destination Ports', 'No Destination Ports', s.dstPorts, s.tcpBytes, right, y, 100, portColour, (k) => String(k));
  out.push(srcP.svg, dstP.svg);
  y = Math.max(srcP.bottom, dstP.bottom) + LINE;
  if (addrNote) {
    out.push(text(PAD, y, `Addresses past the count limit (-S netviz_histogram_size): ${prettyBytes(s.uncounted.src)} ` +
      `from, ${prettyBytes(s.uncounted.dst)} to addresses left out of the address lists.`, ' id="address-note" class="axis"'));
    y += LINE;
  }
  // tcpflow's page is US letter; on a screen the page ends where its content does.
  const height = n2(Math.min(PAGE_H, y + PAD));
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" id="netviz" viewBox="0 0 ${PAGE_W} ${height}" width="${PAGE_W}" height="${height}" ` +
      `font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="${FONT}">`,
    `<title>${esc(`${h.title}: ${h.input}`)}</title>`,
    '<style>.title{font-weight:bold}.axis{font-size:6px;fill:#444444}.top{font-size:8px}</style>',
    `<rect x="0" y="0" width="${PAGE_W}" height="${height}" fill="#ffffff"/>`,
    ...out,
    '</svg>',
    '',
  ].join('\n');
}

/** An HTML page showing the SVG (inline: one self-contained file). */
export function renderHtml(svg: string, h: NetvizHeader): string {
  const body = svg.replace(/^<\?xml[^>]*>\n/, '');
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>${esc(`${h.title} netviz: ${h.input}`)}</title>`,
    '<style>body{margin:0;background:#e8e8e8}main{max-width:940px;margin:16px auto;box-shadow:0 1px 4px #0004}' +
      'main svg{display:block;width:100%;height:auto}</style>',
    '</head>',
    '<body>',
    '<main>',
    body.trimEnd(),
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** -S netviz_histogram_dump: the counts as text, for tools (standard output). */
export function renderDump(s: NetvizSummary): string {
  const lines = [
    `netviz: ${s.packets} packets, ${s.bytes} bytes`,
    `transports: ${s.transports.map((t) => `${t.key}=${t.bytes}`).join(' ')}`,
    `time histogram: bars of ${s.barWidth} us`,
  ];
  s.bars.forEach((bar, i) => {
    const start = (s.firstBar + i) * s.barWidth;
    lines.push(`${utc(start, true)}\t${bar.map(([p, n]) => `${p === NO_PORT ? 'other' : p}=${n}`).join(' ')}`);
  });
  const list = (title: string, items: Ranked<string | number>[]) => {
    lines.push(title);
    for (const i of items) lines.push(`${i.key}\t${i.bytes}`);
  };
  list('top source addresses:', s.srcAddrs);
  list('top destination addresses:', s.dstAddrs);
  list('top source ports:', s.srcPorts);
  list('top destination ports:', s.dstPorts);
  return lines.join('\n') + '\n';
}
