import type { Flow } from '../flow/flow';
import { addrText, macText } from '../util/address';
import { isoSecondsCached, isoTime } from './xml-text';
import type { TextBatch } from '../util/text-batch';

/** What scanners add to a flow's record (one field per scanner result). */
export interface ScanFields {
  /** MD5 of the flow's content (-e md5, -FM): DFXML `<hashdigest type='MD5'>`. */
  md5?: string;
  /**
   * The http scanner's bodies of a response flow (DFXML `<byte_runs>`), in order; present
   * (maybe empty) exactly when the flow was parsed as HTTP responses.
   */
  byte_runs?: ByteRun[];
  /**
   * SHA-256 of a flow the http scanner parsed, for the report merge to drop the bodies of
   * a flow whose content repeats an earlier one's (tcpflow scans a content once per run);
   * never in a report.
   */
  http_content_sha256?: string;
  /** SHA-256 of the flow's content (-S hash=sha256): DFXML `<hashdigest type='SHA256'>`. */
  sha256?: string;
  /** What the js plugin returned for the flow (a string, or any JSON value): DFXML `<tcpflow:result scan='js'>`. */
  js?: JsonValue;
  /** Why the js plugin gave no result for the flow (it threw, or returned what cannot be reported). */
  js_error?: string;
}

/** One -HTTPBODY- file: where its first body byte is in the flow file, its name and size on disk. */
export interface ByteRun {
  file_offset: number;
  filename: string;
  filesize: number;
  /** Why the file holds less than the body (a decompression limit, a write error); absent when it is whole. */
  error?: string;
}

/** A value JSON can carry: what a js plugin's result is reduced to. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * One flow direction as both reports give it: the file name and size, then every
 * attribute of DFXML's `<tcpflow>` element under its own name (present exactly when the
 * DFXML has it; numbers as numbers, times as the same ISO text), then scanner results.
 * Workers build it when a flow ends and spill it (encodeRecord); the coordinator reads it
 * back and renders every report from it (DFXML, and JSON Lines as this object's JSON).
 */
export interface FlowRecord extends ScanFields {
  type: 'flow';
  filename?: string;
  filesize: number;
  startime: string;
  endtime: string;
  mac_daddr?: string;
  mac_saddr?: string;
  family: number;
  src_ipn: string;
  dst_ipn: string;
  srcport: number;
  dstport: number;
  /**
   * The VLAN id the flow is keyed on (src/flow/vlan.ts; with -S vlan_key=0 its first
   * packet's), absent when untagged: tells apart flows of one 4-tuple on two VLANs.
   */
  vlan?: number;
  packets: number;
  out_of_order_count?: number;
  violations?: number;
  len: number;
  caplen?: number;
  /**
   * --shard runs only (merge-reports needs them, and leaves them out of the merged
   * report): the global numbers (from 0, over all inputs) of the packet that created the
   * flow, of the one that opened its flow file, and of the one that closed it (absent:
   * still open at the end of input).
   */
  first_packet?: number;
  file_packet?: number;
  close_packet?: number;
}

/** Where finished flows' records go (a worker's spill), with their place in the report's order. */
export interface RecordOutput {
  /** `record`: the record's spill line (flowLine, encodeRecord). */
  add(closePacket: number, firstPacket: number, record: string): void;
  /** add() of flowLine(flow, filename, [], filePacket), which the output may write without making the string. */
  addFlow(closePacket: number, firstPacket: number, flow: Flow, filename: string | null, filePacket: number | undefined): void;
}

/** A MAC address for the report, or undefined for all zeros (Linux loopback): tcpflow leaves those out. */
function macField(mac: Uint8Array, off: number): string | undefined {
  for (let i = 0; i < 6; i++) if (mac[off + i] !== 0) return macText(mac, off);
  return undefined;
}

/** The record of a flow that has ended; `filename` null: no file (nothing stored, -FX). */
export function flowRecord(flow: Flow, filename: string | null, scans: readonly ScanFields[]): FlowRecord {
  // Every field in DFXML's order, absent ones undefined: one object shape for all records,
  // and JSON.stringify leaves the undefined ones out.
  const r: FlowRecord = {
    type: 'flow',
    filename: filename ?? undefined,
    filesize: flow.lastByte,
    startime: isoTime(flow.startSec, flow.startUsec),
    endtime: isoTime(flow.lastSec, flow.lastUsec),
    mac_daddr: flow.mac !== null ? macField(flow.mac, 0) : undefined,
    mac_saddr: flow.mac !== null ? macField(flow.mac, 6) : undefined,
    family: flow.family,
    src_ipn: addrText(flow.src),
    dst_ipn: addrText(flow.dst),
    srcport: flow.sport,
    dstport: flow.dport,
    vlan: vlanOf(flow),
    packets: flow.packets,
    out_of_order_count: flow.outOfOrder > 0 ? flow.outOfOrder : undefined,
    violations: flow.violations > 0 ? flow.violations : undefined,
    len: flow.len,
    caplen: flow.caplen !== flow.len ? flow.caplen : undefined,
    md5: undefined,
    byte_runs: undefined,
    http_content_sha256: undefined,
    sha256: undefined,
    js: undefined,
    js_error: undefined,
    first_packet: undefined,
    file_packet: undefined,
    close_packet: undefined,
  };
  for (let i = 0; i < scans.length; i++) Object.assign(r, scans[i]);
  return r;
}

// eslint-disable-next-line no-control-regex
const SPECIAL = /[\\\t\n\r\ud800-\udfff]/;

/**
 * Text with tab, newline, CR and backslash escaped, and UTF-16 code units that UTF-8
 * cannot carry (lone surrogates) as \uXXXX, so the line survives the spill file as it is.
 */
export function escapeField(v: string): string {
  if (!SPECIAL.test(v)) return v;
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0x5c) out += '\\\\';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < v.length && (v.charCodeAt(i + 1) & 0xfc00) === 0xdc00) out += v[i] + v[++i];
    else if (c >= 0xd800 && c <= 0xdfff) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += v[i];
  }
  return out;
}

function unescapeField(v: string): string {
  if (!v.includes('\\')) return v;
  return v.replace(/\\(u[0-9a-f]{4}|.)/g, (_m, e: string) =>
    e === 't' ? '\t' : e === 'n' ? '\n' : e === 'r' ? '\r' : e.length === 5 ? String.fromCharCode(parseInt(e.slice(1), 16)) : e);
}

const text = (v: string | undefined) => (v === undefined ? '' : escapeField(v));
const num = (v: number | undefined) => (v === undefined ? '' : String(v));

/**
 * A record as one spill line (without the newline): its fields in DFXML's order separated
 * by tabs, an absent one empty (no text field is ever empty: a file name never is).
 * Cheaper to write and read than JSON, which every flow would otherwise pay for twice.
 */
export function encodeRecord(r: FlowRecord): string {
  return `${text(r.filename)}\t${r.filesize}\t${r.startime}\t${r.endtime}\t${text(r.mac_daddr)}\t${text(r.mac_saddr)}\t` +
    `${r.family}\t${r.src_ipn}\t${r.dst_ipn}\t${r.srcport}\t${r.dstport}\t${r.packets}\t${num(r.out_of_order_count)}\t` +
    `${num(r.violations)}\t${r.len}\t${num(r.caplen)}\t${text(r.md5)}\t` +
    `${r.byte_runs === undefined ? '' : escapeField(JSON.stringify(r.byte_runs))}\t${text(r.http_content_sha256)}\t${text(r.sha256)}\t` +
    `${r.js === undefined ? '' : escapeField(JSON.stringify(r.js))}\t${text(r.js_error)}\t${num(r.file_packet)}\t${num(r.vlan)}`;
}

/** The VLAN id a flow is keyed on (its tag; with -S vlan_key=0 its first packet's), or undefined. */
function vlanOf(flow: Flow): number | undefined {
  return flow.tag >= 0 ? flow.tag : flow.vlan >= 0 ? flow.vlan : undefined;
}

/**
 * The spill line of a flow that has ended, with --shard runs' `filePacket` (or undefined).
 * A flow without scanner results, nearly every one, goes to the spill through
 * writeFlowLine instead, which writes the same line as bytes.
 */
export function flowLine(flow: Flow, filename: string | null, scans: readonly ScanFields[], filePacket?: number): string {
  const r = flowRecord(flow, filename, scans);
  r.file_packet = filePacket;
  return encodeRecord(r);
}

/** The most bytes writeFlowLine writes besides its file name's (at most 3 per UTF-16 unit of the name). */
export const FLOW_LINE_FIXED = 1024;
const TAB = 0x09;

/**
 * `close first line\n`, line being flowLine(flow, filename, [], filePacket), written as
 * UTF-8 straight into `b` (with room for FLOW_LINE_FIXED bytes and the name's): no string
 * per field and no concatenation, whose cons strings were a third of the bytes a worker
 * allocated on many small flows. `name`: the file name through escapeField ('' for none).
 * Returns the line's length in UTF-16 units (the spill's padding counts those).
 */
export function writeFlowLine(b: TextBatch, close: number, first: number, flow: Flow, name: string, filePacket: number | undefined): number {
  const bytes = b.bytes;
  let at = putNumber(bytes, b.length, close);
  bytes[at++] = 0x20;
  at = putNumber(bytes, at, first);
  bytes[at++] = 0x20;
  const plainEnd = putPlain(bytes, at, name);
  const nameBytes = plainEnd >= 0 ? name.length : bytes.write(name, at);
  at += nameBytes;
  bytes[at++] = TAB;
  at = numberField(bytes, at, flow.lastByte);
  at = timeField(bytes, at, flow.startSec, flow.startUsec);
  at = timeField(bytes, at, flow.lastSec, flow.lastUsec);
  const mac = flow.mac;
  at = macBytesField(bytes, at, mac, 0);
  at = macBytesField(bytes, at, mac, 6);
  // IPv4 addresses from the flow's words: the arrays are objects of their own (cache misses).
  if (flow.addrLen === 4) {
    at = numberField(bytes, at, 2);
    at = ipv4Field(bytes, at, flow.srcWord);
    at = ipv4Field(bytes, at, flow.dstWord);
  } else {
    at = numberField(bytes, at, flow.family);
    at = asciiField(bytes, at, addrText(flow.src));
    at = asciiField(bytes, at, addrText(flow.dst));
  }
  at = numberField(bytes, at, flow.sport);
  at = numberField(bytes, at, flow.dport);
  at = numberField(bytes, at, flow.packets);
  at = numberField(bytes, at, flow.outOfOrder > 0 ? flow.outOfOrder : null);
  at = numberField(bytes, at, flow.violations > 0 ? flow.violations : null);
  at = numberField(bytes, at, flow.len);
  if (flow.caplen !== flow.len) at = putNumber(bytes, at, flow.caplen);
  // No scanner results: md5, byte_runs, http_content_sha256, sha256, js, js_error empty.
  for (let i = 0; i < 7; i++) bytes[at++] = TAB;
  if (filePacket !== undefined) at = putNumber(bytes, at, filePacket);
  bytes[at++] = TAB;
  const vlan = vlanOf(flow);
  if (vlan !== undefined) at = putNumber(bytes, at, vlan);
  bytes[at++] = 0x0a;
  const written = at - b.length;
  b.length = at;
  return written - nameBytes + name.length;
}

/** `${n}` as bytes, for n in [0, 2^31): integer division, no floating point (nearly every number a line has). */
function putSmall(bytes: Buffer, at: number, n: number): number {
  let end = at + 1;
  for (let v = n; v >= 10; v = (v / 10) | 0) end++;
  for (let i = end - 1, v = n; i >= at; i--) {
    const q = (v / 10) | 0;
    bytes[i] = 0x30 + v - q * 10;
    v = q;
  }
  return end;
}

/** `${n}` as bytes. */
function putNumber(bytes: Buffer, at: number, n: number): number {
  if (n >= 0 && n <= 0x7fffffff && (n | 0) === n) return putSmall(bytes, at, n);
  if (!(Number.isSafeInteger(n) && n >= 0)) return at + bytes.write(String(n), at, 'latin1');
  let end = at;
  for (let v = n; ; v = Math.floor(v / 10)) {
    end++;
    if (v < 10) break;
  }
  for (let i = end - 1, v = n; i >= at; i--, v = Math.floor(v / 10)) bytes[i] = 0x30 + (v % 10);
  return end;
}

function putAscii(bytes: Buffer, at: number, s: string): number {
  const end = putPlain(bytes, at, s);
  return end >= 0 ? end : at + bytes.write(s, at, 'latin1');
}

/**
 * `s` at `at` when it is all ASCII (its UTF-8 and latin1 bytes alike): where it ends, else
 * -1 (the caller writes it through Buffer.write). The fields of a line are short: a loop
 * costs less than Buffer.write's call into C++ (5 a record, 4 % of a worker on many).
 */
function putPlain(bytes: Buffer, at: number, s: string): number {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return -1;
    bytes[at + i] = c;
  }
  return at + n;
}

const HEX = new Uint8Array([0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66]);

/** macField(mac, off) (empty for none) and the tab after it, written from the bytes. */
function macBytesField(bytes: Buffer, at: number, mac: Uint8Array | null, off: number): number {
  if (mac !== null && (mac[off] | mac[off + 1] | mac[off + 2] | mac[off + 3] | mac[off + 4] | mac[off + 5]) !== 0) {
    for (let i = 0; i < 6; i++) {
      const v = mac[off + i];
      bytes[at++] = HEX[v >>> 4];
      bytes[at++] = HEX[v & 15];
      bytes[at++] = i < 5 ? 0x3a : TAB;
    }
    return at;
  }
  bytes[at] = TAB;
  return at + 1;
}

/** A field (empty for null or undefined) and the tab after it. */
function numberField(bytes: Buffer, at: number, n: number | null): number {
  if (n !== null) at = putNumber(bytes, at, n);
  bytes[at] = TAB;
  return at + 1;
}

function asciiField(bytes: Buffer, at: number, s: string | undefined): number {
  if (s !== undefined) at = putAscii(bytes, at, s);
  bytes[at] = TAB;
  return at + 1;
}

/** isoTime(sec, usec). */
function timeField(bytes: Buffer, at: number, sec: number, usec: number): number {
  at = putAscii(bytes, at, isoSecondsCached(sec));
  if (usec !== 0) {
    // Out of range (a hostile capture): as isoTime writes it.
    if (!(Number.isInteger(usec) && usec > 0 && usec < 1e6)) return asciiField(bytes, at, `.${String(usec).padStart(6, '0')}Z`);
    bytes[at++] = 0x2e;
    for (let i = at + 5, v = usec; i >= at; i--) {
      const q = (v / 10) | 0;
      bytes[i] = 0x30 + v - q * 10;
      v = q;
    }
    at += 6;
  }
  bytes[at++] = 0x5a;
  bytes[at] = TAB;
  return at + 1;
}

/** An IPv4 address (its addrWord) as dotted decimal, and the tab after it. */
function ipv4Field(bytes: Buffer, at: number, word: number): number {
  for (let shift = 24; shift >= 0; shift -= 8) {
    at = putNumber(bytes, at, (word >>> shift) & 0xff);
    bytes[at++] = shift > 0 ? 0x2e : TAB;
  }
  return at;
}

const FIELD_COUNT = 24;
/** Where each field of the line being decoded starts; field k ends one before field k + 1 starts. */
const starts = new Int32Array(FIELD_COUNT + 1);

/**
 * The record of a spill line, from `from` on. The coordinator decodes every record of a
 * run (400,000 on many.pcap): the fields are found with indexOf and the numbers read from
 * their digits, so that only the text fields become strings (line.split made 24 strings
 * a record, most of decoding's time).
 */
export function decodeRecord(line: string, from = 0): FlowRecord {
  let n = 0;
  starts[0] = from;
  for (let tab = line.indexOf('\t', from); tab >= 0; tab = line.indexOf('\t', tab + 1)) {
    if (++n === FIELD_COUNT) break;
    starts[n] = tab + 1;
  }
  if (n !== FIELD_COUNT - 1) throw new Error(`a flow record with ${n + 1} fields, not ${FIELD_COUNT}`);
  starts[FIELD_COUNT] = line.length + 1;
  return {
    type: 'flow', filename: textAt(line, 0), filesize: numberAt(line, 1), startime: stringAt(line, 2), endtime: stringAt(line, 3),
    mac_daddr: textAt(line, 4), mac_saddr: textAt(line, 5), family: numberAt(line, 6), src_ipn: stringAt(line, 7), dst_ipn: stringAt(line, 8),
    srcport: numberAt(line, 9), dstport: numberAt(line, 10), vlan: optionalNumberAt(line, 23),
    packets: numberAt(line, 11), out_of_order_count: optionalNumberAt(line, 12),
    violations: optionalNumberAt(line, 13), len: numberAt(line, 14), caplen: optionalNumberAt(line, 15), md5: textAt(line, 16),
    byte_runs: jsonAt(line, 17) as ByteRun[] | undefined,
    http_content_sha256: textAt(line, 18),
    sha256: textAt(line, 19), js: jsonAt(line, 20) as JsonValue | undefined, js_error: textAt(line, 21),
    first_packet: undefined, file_packet: optionalNumberAt(line, 22), close_packet: undefined,
  };
}

/** Field k of the line decodeRecord is decoding, as it is written. */
function stringAt(line: string, k: number): string {
  return line.slice(starts[k], starts[k + 1] - 1);
}

function textAt(line: string, k: number): string | undefined {
  return starts[k + 1] - 1 === starts[k] ? undefined : unescapeField(stringAt(line, k));
}

function jsonAt(line: string, k: number): unknown {
  return starts[k + 1] - 1 === starts[k] ? undefined : JSON.parse(unescapeField(stringAt(line, k))) as unknown;
}

function optionalNumberAt(line: string, k: number): number | undefined {
  return starts[k + 1] - 1 === starts[k] ? undefined : numberAt(line, k);
}

/** Number(field k), without a string for the plain decimal integers encodeRecord writes. */
function numberAt(line: string, k: number): number {
  const a = starts[k], b = starts[k + 1] - 1;
  if (b <= a || b - a > 15) return Number(line.slice(a, b));
  let v = 0;
  for (let i = a; i < b; i++) {
    const d = line.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return Number(line.slice(a, b));
    v = v * 10 + d;
  }
  return v;
}
