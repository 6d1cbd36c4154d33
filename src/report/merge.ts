import * as fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { EXIT, TcpflowError, outputError } from '../errors';
import { strerror } from '../util/strerror';
import { captureFromFields, dfxmlFooterWith, RUSAGE_FIELDS, type ReportSummary, type Rusage, type ShardCapture } from './dfxml';
import type { CaptureStats } from '../capture/live';
import { jsonlFormat } from './jsonl';
import { SHARD_NS, SHARD_PREFIX, type ShardInfo } from './shard-info';
import { noFragments, type FragmentCounts } from '../shard/ip-fragments';

/**
 * The report's ip_fragments fields (snake_case names, fragmentFields) as counts. Fragments
 * are reassembled before sharding, so every shard counts those of the whole input.
 */
function fragmentCounts(fields: Record<string, unknown> | null): FragmentCounts {
  const f = noFragments();
  for (const k of Object.keys(f) as (keyof FragmentCounts)[]) {
    const v = fields?.[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)];
    if (typeof v === 'number') f[k] = v;
  }
  return f;
}

/**
 * merge-reports: the reports of the N runs of one `--shard K/N` job (DFXML or JSON Lines)
 * into the report one run over all the connections writes. Each shard report is sorted in
 * the report's order, (closing packet, first packet), and says so in an extension
 * (`tcpflow-ts:record` lines, JSON fields); the merge is one streaming pass over all of
 * them, like the end of a run merging its workers' records. Totals are added up;
 * max_open_flows and open_fds_at_end are counted again from the packets at which each
 * record's file was opened and closed, as one run counts them packet by packet.
 */

export type ReportKind = 'dfxml' | 'jsonl';

export interface MergeRequest {
  inputs: readonly string[];
  /** -o: merged DFXML (or, when every input is JSON Lines and --jsonl is not given, JSON Lines). */
  out: string | null;
  /** --jsonl: merged JSON Lines. */
  jsonlOut: string | null;
}

function inputError(message: string): TcpflowError {
  return new TcpflowError('INPUT_FORMAT', message, EXIT.INPUT);
}

/** DFXML or JSON Lines, from the first character. */
export function reportKind(p: string): ReportKind {
  let head: Buffer;
  try {
    const fd = fs.openSync(p, 'r');
    try {
      head = Buffer.alloc(64);
      head = head.subarray(0, fs.readSync(fd, head, 0, 64, 0));
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    throw new TcpflowError('INPUT_OPEN', `${p}: ${strerror(e)}`, EXIT.INPUT);
  }
  const c = head.toString('utf8').trimStart()[0];
  if (c === '<') return 'dfxml';
  if (c === '{') return 'jsonl';
  throw inputError(`${p}: ${head.length === 0 ? 'empty file' : 'neither a DFXML nor a JSON Lines report'}`);
}

/** Lines of a file, read sequentially without holding it. */
class LineReader {
  private readonly fd: number;
  private readonly decoder = new StringDecoder('utf8');
  private buf = '';
  private pos = 0;
  private eof = false;
  private readonly chunk = Buffer.allocUnsafe(1 << 20);
  line = 0;

  constructor(readonly path: string) {
    try {
      this.fd = fs.openSync(path, 'r');
    } catch (e) {
      throw new TcpflowError('INPUT_OPEN', `${path}: ${strerror(e)}`, EXIT.INPUT);
    }
  }

  /** The next line without its newline; null at the end (a last line without newline is returned too). */
  next(): string | null {
    for (;;) {
      const nl = this.buf.indexOf('\n', this.pos);
      if (nl >= 0) {
        const l = this.buf.slice(this.pos, nl);
        this.pos = nl + 1;
        this.line++;
        return l;
      }
      if (this.eof) {
        if (this.pos >= this.buf.length) return null;
        const l = this.buf.slice(this.pos);
        this.pos = this.buf.length;
        this.line++;
        return l;
      }
      const n = fs.readSync(this.fd, this.chunk, 0, this.chunk.length, null);
      if (n === 0) this.eof = true;
      this.buf = this.buf.slice(this.pos) + (n === 0 ? this.decoder.end() : this.decoder.write(this.chunk.subarray(0, n)));
      this.pos = 0;
    }
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** One record of a shard report: its place in the order, its file's packets, its text in the merged report. */
interface MergeRecord {
  close: number;
  first: number;
  file: number | undefined;
  text: string;
}

interface ShardEnd {
  summary: ReportSummary;
  /** A live shard's capture counts (each shard captured the interface itself). */
  capture: CaptureStats | null;
  /** Whether the summary names the cap (DFXML names it only when it closed flows). */
  maxFlowsKnown: boolean;
  rusage: Rusage | null;
}

interface ShardReport {
  readonly path: string;
  readonly info: ShardInfo;
  /** The records, in order; null after the last. */
  next(): MergeRecord | null;
  /** After the last record: the summary. */
  end(): ShardEnd;
  close(): void;
}

const num = (text: string | undefined) => (text === undefined ? undefined : Number(text));

/** A DFXML report of a --shard run, read line by line (the layout tcpflow-ts writes). */
class DfxmlShard implements ShardReport {
  readonly info: ShardInfo;
  /** Lines up to and with the <configuration> that holds the fileobjects. */
  readonly header: string[] = [];
  private readonly r: LineReader;

  constructor(readonly path: string) {
    this.r = new LineReader(path);
    let info: ShardInfo | null = null;
    for (let l = this.r.next(); ; l = this.r.next()) {
      if (l === null) throw this.bad(info === null ? 'not the report of a --shard run (no tcpflow-ts:shard element)' : 'ends inside its header');
      this.header.push(l);
      const m = /^ {2}<tcpflow-ts:shard index='(\d+)' count='(\d+)' run='([0-9a-f]+)' fd_limit='(\d+)'\/>$/.exec(l);
      if (m !== null) info = { index: Number(m[1]), count: Number(m[2]), run: m[3], fdLimit: Number(m[4]) };
      if (this.header.length === 2 && !l.startsWith('<dfxml ')) throw this.bad('not a DFXML report');
      if (l === '  <configuration>' && info !== null) break;
    }
    this.info = info;
  }

  private bad(what: string): TcpflowError {
    return inputError(`${this.path}: ${what}${this.r.line > 0 ? ` (line ${this.r.line})` : ''}`);
  }

  next(): MergeRecord | null {
    const first = this.r.next();
    if (first === '  </configuration>') return null;
    if (first !== '    <fileobject>') throw this.bad(first === null ? 'truncated: no end of the fileobjects' : 'a fileobject was expected');
    let text = first + '\n';
    let order: RegExpExecArray | null = null;
    for (;;) {
      const l = this.r.next();
      if (l === null) throw this.bad('truncated inside a fileobject');
      if (l.startsWith(`      <${SHARD_PREFIX}:record `)) {
        order = /^ {6}<tcpflow-ts:record first_packet='(\d+)'(?: file_packet='(\d+)')?(?: close_packet='(\d+(?:\.5)?)')?\/>$/.exec(l);
        if (order === null) throw this.bad('a tcpflow-ts:record element that cannot be read');
        continue;
      }
      text += l + '\n';
      if (l === '    </fileobject>') break;
    }
    if (order === null) throw this.bad('a fileobject without its tcpflow-ts:record element');
    return { first: Number(order[1]), file: num(order[2]), close: order[3] === undefined ? Infinity : Number(order[3]), text };
  }

  end(): ShardEnd {
    const counts: Record<string, number> = {};
    const rusage: Partial<Rusage> = {};
    let error: string | null = null;
    let fragments: Record<string, number> | null = null;
    let capture: CaptureStats | null = null;
    let purged = 0, maxFlows = 0, maxFlowsKnown = false, timedOut = 0, tcpTimeout = 0;
    let complete = false;
    for (let l = this.r.next(); l !== null; l = this.r.next()) {
      if (l === '</dfxml>') { complete = true; break; }
      if (l.startsWith('  <error>')) {
        let text = l;
        while (!text.endsWith('</error>')) {
          const more = this.r.next();
          if (more === null) throw this.bad('truncated inside <error>');
          text += '\n' + more;
        }
        error = unescapeText(text.slice('  <error>'.length, -'</error>'.length));
        continue;
      }
      let m = /^ {2}<(open_fds_at_end|max_open_flows|total_flows|flow_map_size|total_packets)>(\d+)<\/\1>$/.exec(l);
      if (m !== null) { counts[m[1]] = Number(m[2]); continue; }
      if (/^ {2}<ip_fragments( \w+="\d+")*\/>$/.test(l)) {
        fragments = Object.fromEntries([...l.matchAll(/(\w+)="(\d+)"/g)].map((a) => [a[1], Number(a[2])]));
        continue;
      }
      if (/^ {2}<capture_stats( \w+="[^"]*")*\/>$/.test(l)) {
        const fields = Object.fromEntries([...l.matchAll(/(\w+)="([^"]*)"/g)].map((a) => [a[1], a[1] === 'interface' ? unescapeText(a[2]) : Number(a[2])]));
        capture = captureFromFields(fields);
        if (capture === null) throw this.bad(`a <capture_stats> that cannot be read: ${l.trim()}`);
        continue;
      }
      m = /^ {2}<flows_purged reason="max_flows" max_flows="(\d+)">(\d+)<\/flows_purged>$/.exec(l);
      if (m !== null) { maxFlows = Number(m[1]); purged = Number(m[2]); maxFlowsKnown = true; continue; }
      m = /^ {2}<flows_timed_out tcp_timeout="(\d+)">(\d+)<\/flows_timed_out>$/.exec(l);
      if (m !== null) { tcpTimeout = Number(m[1]); timedOut = Number(m[2]); continue; }
      m = /^ {4}<(\w+)>([0-9.]+)<\/\1>$/.exec(l);
      if (m !== null && (RUSAGE_FIELDS as readonly string[]).includes(m[1])) rusage[m[1] as keyof Rusage] = Number(m[2]);
    }
    const names = ['open_fds_at_end', 'max_open_flows', 'total_flows', 'flow_map_size', 'total_packets'];
    if (!complete) throw this.bad('truncated: no </dfxml>');
    const missing = names.filter((n) => counts[n] === undefined);
    if (missing.length > 0) throw this.bad(`no <${missing[0]}> in its summary`);
    return {
      summary: {
        openFdsAtEnd: counts.open_fds_at_end, maxOpenFlows: counts.max_open_flows, totalFlows: counts.total_flows,
        flowMapSize: counts.flow_map_size, totalPackets: counts.total_packets, flowsPurged: purged, maxFlows, error,
        flowsTimedOut: timedOut, tcpTimeout, fragments: fragmentCounts(fragments),
      },
      capture,
      maxFlowsKnown,
      rusage: RUSAGE_FIELDS.every((k) => rusage[k] !== undefined) ? rusage as Rusage : null,
    };
  }

  close(): void {
    this.r.close();
  }
}

/** Text of an element as report.xml escapes it (elementText), back to plain text. */
function unescapeText(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos);/g, (_m, e: string) => ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" })[e] as string);
}

type Json = Record<string, unknown>;

/** A JSON Lines report of a --shard run. */
class JsonlShard implements ShardReport {
  readonly info: ShardInfo;
  private readonly r: LineReader;
  private summary: Json | null = null;

  constructor(readonly path: string) {
    this.r = new LineReader(path);
    const first = this.parse(this.r.next());
    if (first?.type !== 'shard') throw this.bad('not the report of a --shard run (no "type":"shard" line first)');
    const n = (k: string) => (Number.isSafeInteger(first[k]) ? first[k] as number : NaN);
    if (typeof first.run !== 'string' || ![n('index'), n('count'), n('fd_limit')].every((x) => x >= 0)) throw this.bad('a shard line that cannot be read');
    this.info = { index: n('index'), count: n('count'), run: first.run, fdLimit: n('fd_limit') };
  }

  private bad(what: string): TcpflowError {
    return inputError(`${this.path}: ${what}${this.r.line > 0 ? ` (line ${this.r.line})` : ''}`);
  }

  private parse(line: string | null): Json | null {
    if (line === null) return null;
    try {
      const v: unknown = JSON.parse(line);
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Json;
    } catch {
      // reported below
    }
    throw this.bad('not a JSON object');
  }

  next(): MergeRecord | null {
    const o = this.parse(this.r.next());
    if (o === null) throw this.bad('truncated: no summary line');
    if (o.type === 'summary') {
      this.summary = o;
      return null;
    }
    if (o.type !== 'flow' || typeof o.first_packet !== 'number') throw this.bad('a flow line with its "first_packet" was expected');
    const { first_packet: first, file_packet: file, close_packet: close, ...rest } = o;
    return { first, file: file as number | undefined, close: close === undefined ? Infinity : close as number, text: JSON.stringify(rest) + '\n' };
  }

  end(): ShardEnd {
    const s = this.summary as Json;
    if (this.r.next() !== null) throw this.bad('lines after the summary');
    const n = (k: string) => {
      if (!Number.isSafeInteger(s[k])) throw this.bad(`a summary without "${k}"`);
      return s[k] as number;
    };
    return {
      summary: {
        openFdsAtEnd: n('open_fds_at_end'), maxOpenFlows: n('max_open_flows'), totalFlows: n('total_flows'), flowMapSize: n('flow_map_size'),
        totalPackets: n('total_packets'), flowsPurged: n('flows_purged'), maxFlows: n('max_flows'), error: typeof s.error === 'string' ? s.error : null,
        flowsTimedOut: s.tcp_timeout === undefined ? 0 : n('flows_timed_out'), tcpTimeout: s.tcp_timeout === undefined ? 0 : n('tcp_timeout'),
        fragments: fragmentCounts(typeof s.ip_fragments === 'object' && s.ip_fragments !== null ? s.ip_fragments as Record<string, unknown> : null),
      },
      capture: this.capture(s.capture),
      maxFlowsKnown: true,
      rusage: null,
    };
  }

  private capture(v: unknown): CaptureStats | null {
    if (v === undefined) return null;
    const c = typeof v === 'object' && v !== null ? captureFromFields(v as Json) : null;
    if (c === null) throw this.bad(`a summary whose "capture" cannot be read: ${JSON.stringify(v)}`);
    return c;
  }

  close(): void {
    this.r.close();
  }
}

/**
 * Open flow files over the run, from each record's file opening and closing packet: the
 * most at once, and how many were open at the end of input. Within one packet (whose
 * flows are all of one connection, so of one shard) a run closes the flows that packet
 * ends before it opens a new file, and closes a flow opened by the packet itself (a FIN
 * with data) after: the keys sort events in that order. A flow closed idle just before
 * packet n (-S tcp_timeout) has closing packet n - 0.5: after packet n - 1, before n.
 */
class OpenFileCount {
  private events = new Float64Array(1024);
  private n = 0;

  add(r: MergeRecord): void {
    if (r.file === undefined) return;
    this.push(r.file * 4 + 1);
    if (r.close !== Infinity) this.push(r.close * 4 + (r.close === r.file ? 2 : 0));
  }

  private push(key: number): void {
    if (this.n === this.events.length) {
      const grown = new Float64Array(this.n * 2);
      grown.set(this.events);
      this.events = grown;
    }
    this.events[this.n++] = key;
  }

  /** Counted over every event so far (also those of `others`). */
  static count(all: readonly OpenFileCount[]): { max: number; atEnd: number } {
    const keys = new Float64Array(all.reduce((s, c) => s + c.n, 0));
    let at = 0;
    for (const c of all) { keys.set(c.events.subarray(0, c.n), at); at += c.n; }
    keys.sort();
    let open = 0, max = 0;
    for (let i = 0; i < keys.length; i++) {
      open += keys[i] % 4 === 1 ? 1 : -1;
      if (open > max) max = open;
    }
    return { max, atEnd: open };
  }
}

/** Buffered sequential writes to a file. */
class Output {
  private readonly fd: number;
  private parts: string[] = [];
  private size = 0;

  constructor(readonly path: string) {
    try {
      this.fd = fs.openSync(path, 'w', 0o666);
    } catch (e) {
      throw outputError(path, e);
    }
  }

  write(s: string): void {
    this.parts.push(s);
    this.size += s.length;
    if (this.size >= 1 << 20) this.flush();
  }

  private flush(): void {
    const b = Buffer.from(this.parts.join(''));
    this.parts = [];
    this.size = 0;
    try {
      for (let off = 0; off < b.length;) off += fs.writeSync(this.fd, b, off, b.length - off);
    } catch (e) {
      throw outputError(this.path, e);
    }
  }

  /** Flush, sync and close. */
  finish(): void {
    this.flush();
    try {
      fs.fsyncSync(this.fd);
    } catch (e) {
      throw outputError(this.path, e);
    } finally {
      fs.closeSync(this.fd);
    }
  }

  abandon(): void {
    try { fs.closeSync(this.fd); } catch { /* already closed */ }
    fs.rmSync(this.path, { force: true });
  }
}

/** Checks that the reports are the N distinct shards of one job. */
function checkShards(shards: readonly ShardReport[]): void {
  const [a] = shards;
  for (const b of shards) {
    if (b.info.count !== a.info.count) {
      throw inputError(`${a.path} is shard ${a.info.index} of ${a.info.count} but ${b.path} is shard ${b.info.index} of ${b.info.count}: not one job`);
    }
    if (b.info.run !== a.info.run) {
      throw inputError(`${a.path} and ${b.path} come from different runs: their inputs (paths or sizes), options or tcpflow-ts versions differ`);
    }
  }
  const byIndex = new Map<number, ShardReport>();
  for (const s of shards) {
    const other = byIndex.get(s.info.index);
    if (other !== undefined) throw inputError(`${other.path} and ${s.path} are both shard ${s.info.index} of ${s.info.count}`);
    byIndex.set(s.info.index, s);
  }
  const missing: number[] = [];
  for (let k = 0; k < a.info.count && missing.length <= 10; k++) if (!byIndex.has(k)) missing.push(k);
  if (missing.length > 0) {
    const list = missing.length > 10 ? `${missing.slice(0, 10).join(', ')}, ...` : missing.join(', ');
    throw inputError(`shard${missing.length > 1 ? 's' : ''} ${list} of ${a.info.count} ${missing.length > 1 ? 'are' : 'is'} missing: the merged report would lack their flows`);
  }
}

/** The shard whose next record comes first (few shards: a scan; many: still cheap next to parsing). */
function firstOf(heads: readonly (MergeRecord | null)[]): number {
  let best = -1;
  for (let i = 0; i < heads.length; i++) {
    const h = heads[i];
    if (h === null) continue;
    const b = best < 0 ? null : heads[best] as MergeRecord;
    if (b === null || h.close < b.close || (h.close === b.close && h.first < b.first)) best = i;
  }
  return best;
}

/** Merge one format's shard reports into `outPath` (written beside it, synced, then renamed into place). */
function mergeKind(kind: ReportKind, paths: readonly string[], outPath: string, warn: (message: string) => void): void {
  const shards: ShardReport[] = [];
  try {
    for (const p of paths) shards.push(kind === 'dfxml' ? new DfxmlShard(p) : new JsonlShard(p));
    checkShards(shards);
    shards.sort((a, b) => a.info.index - b.info.index);
    const tmp = `${outPath}.tmp-${process.pid}`;
    const out = new Output(tmp);
    try {
      writeMerged(kind, shards, out, warn);
      out.finish();
    } catch (e) {
      out.abandon();
      throw e;
    }
    try {
      fs.renameSync(tmp, outPath);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw outputError(outPath, e);
    }
  } finally {
    for (const s of shards) s.close();
  }
}

function writeMerged(kind: ReportKind, shards: readonly ShardReport[], out: Output, warn: (message: string) => void): void {
  const { count, run } = shards[0].info;
  if (kind === 'dfxml') {
    // Shard 0's header, as a run without --shard writes it, saying what it was merged from.
    for (const l of (shards[0] as DfxmlShard).header) {
      if (l.startsWith('<dfxml ')) out.write("<dfxml xmloutputversion='1.0'>\n");
      else if (l.startsWith(`  <${SHARD_PREFIX}:shard `)) out.write(`  <${SHARD_PREFIX}:merged xmlns:${SHARD_PREFIX}='${SHARD_NS}' shards='${count}' run='${run}'/>\n`);
      else out.write(l + '\n');
    }
  }
  const counts = shards.map(() => new OpenFileCount());
  const heads = shards.map((s) => s.next());
  for (let i = firstOf(heads); i >= 0; i = firstOf(heads)) {
    const r = heads[i] as MergeRecord;
    out.write(r.text);
    counts[i].add(r);
    heads[i] = shards[i].next();
  }
  const ends = shards.map((s) => s.end());
  const fdLimit = Math.min(...shards.map((s) => s.info.fdLimit));
  const errors: string[] = [];
  let maxFlows = 0;
  shards.forEach((s, i) => {
    const e = ends[i];
    const own = OpenFileCount.count([counts[i]]);
    if (Math.min(s.info.fdLimit, own.max) !== e.summary.maxOpenFlows || Math.min(s.info.fdLimit, own.atEnd) !== e.summary.openFdsAtEnd) {
      warn(`${s.path}: its records give max_open_flows ${own.max} and open_fds_at_end ${own.atEnd}, its summary ${e.summary.maxOpenFlows} and ${e.summary.openFdsAtEnd}: the merged counts may be off`);
    }
    if (e.summary.error !== null) {
      errors.push(`shard ${s.info.index} of ${count}: ${e.summary.error}`);
      warn(`${s.path}: that run ended early (${e.summary.error}); the merged report says so too`);
    }
    if (e.summary.flowsPurged > 0) {
      warn(`${s.path}: the open-flow cap closed ${e.summary.flowsPurged} flows early; each shard applies -S max_flows to its own connections, so where the cap is reached the merged report can differ from one run's`);
    }
    if (e.maxFlowsKnown && maxFlows === 0) maxFlows = e.summary.maxFlows;
  });
  const all = OpenFileCount.count(counts);
  const sum = (k: 'totalFlows' | 'flowMapSize' | 'totalPackets' | 'flowsPurged' | 'flowsTimedOut') => ends.reduce((t, e) => t + e.summary[k], 0);
  const summary: ReportSummary = {
    openFdsAtEnd: Math.min(fdLimit, all.atEnd),
    maxOpenFlows: Math.min(fdLimit, all.max),
    totalFlows: sum('totalFlows'),
    flowMapSize: sum('flowMapSize'),
    totalPackets: sum('totalPackets'),
    flowsPurged: sum('flowsPurged'),
    maxFlows,
    flowsTimedOut: sum('flowsTimedOut'),
    tcpTimeout: ends[0].summary.tcpTimeout,
    error: errors.length > 0 ? errors.join('; ') : null,
    fragments: ends[0].summary.fragments,
    // Live shards each captured the interface: every shard's counts, by shard.
    shardCaptures: shards.map((sh, i): ShardCapture | null => (ends[i].capture === null ? null : { shard: sh.info.index, capture: ends[i].capture as CaptureStats }))
      .filter((c): c is ShardCapture => c !== null).sort((a, b) => a.shard - b.shard),
  };
  if (kind === 'jsonl') {
    out.write(jsonlFormat().footer(summary));
    return;
  }
  // The shards ran side by side: their CPU times and counts add up, the wall time and peak memory do not.
  const rusage = {} as Rusage;
  for (const k of RUSAGE_FIELDS) {
    const values = ends.map((e) => e.rusage?.[k] ?? 0);
    rusage[k] = k === 'maxrss' || k === 'clocktime' ? Math.max(...values) : values.reduce((a, b) => a + b, 0);
  }
  out.write(dfxmlFooterWith(summary, rusage));
}

/**
 * Merge shard reports as asked: `out` takes the DFXML inputs (or the JSON Lines ones when
 * there are no DFXML inputs and `jsonlOut` is not given), `jsonlOut` the JSON Lines ones.
 * Throws a TcpflowError naming the file and the problem.
 */
export function mergeReports(req: MergeRequest, warn: (message: string) => void): void {
  const seen = new Set<string>();
  const byKind: Record<ReportKind, string[]> = { dfxml: [], jsonl: [] };
  for (const p of req.inputs) {
    if (seen.has(p)) throw new TcpflowError('USAGE', `merge-reports: ${p} is given twice`, EXIT.USAGE);
    seen.add(p);
    byKind[reportKind(p)].push(p);
  }
  const jobs: [ReportKind, string][] = [];
  if (req.jsonlOut !== null) jobs.push(['jsonl', req.jsonlOut]);
  if (req.out !== null) jobs.push([byKind.dfxml.length === 0 && req.jsonlOut === null ? 'jsonl' : 'dfxml', req.out]);
  for (const [kind, outPath] of jobs) {
    if (byKind[kind].length === 0) {
      throw new TcpflowError('USAGE', `merge-reports: no ${kind === 'dfxml' ? 'DFXML' : 'JSON Lines'} report among the inputs for ${outPath}`, EXIT.USAGE);
    }
  }
  const used = new Set(jobs.map(([k]) => k));
  for (const kind of ['dfxml', 'jsonl'] as const) {
    if (byKind[kind].length > 0 && !used.has(kind)) {
      throw new TcpflowError('USAGE', `merge-reports: ${byKind[kind][0]} is a ${kind === 'dfxml' ? 'DFXML' : 'JSON Lines'} report, but no output was given for that format (${kind === 'dfxml' ? '-o' : '--jsonl'} FILE)`, EXIT.USAGE);
    }
  }
  for (const [kind, outPath] of jobs) mergeKind(kind, byKind[kind], outPath, warn);
}
