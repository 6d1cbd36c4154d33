/**
 * The whole per-capture pipeline in one thread and in memory, for the fuzzer: the real
 * reader and packet source (over a buffer), the real coordinator and dispatch, the real
 * worker sessions (shard processors, flow end, scanners, record spill) on an in-process
 * host, with in-memory flow files; then the real merge of the records and the DFXML
 * rendering. Every run checks the fuzzer's properties and throws a FuzzFailure naming
 * the one that broke.
 */
import { DEFAULT_INFLATE_LIMITS } from '../../src/scanners/http/inflate';
import { allocChunk, Chunk, CHUNK_BYTES, CHUNK_RECORDS } from '../../src/capture/chunk';
import { CaptureReader, openCaptureBuffer, Truncation } from '../../src/capture/reader';
import { captureSource, PacketSource, TruncatedInput } from '../../src/capture/source';
import { decodeFrame, isSupportedLinkType } from '../../src/decode/link';
import { DecodedPacket, newDecodedPacket, TH_SYN, Verdict } from '../../src/decode/packet';
import { decodeTcp } from '../../src/decode/tcp';
import { TcpflowError } from '../../src/errors';
import { DEFAULT_MAX_FLOWS, perBucketCap } from '../../src/flow/buckets';
import type { Flow } from '../../src/flow/flow';
import { flowKey } from '../../src/flow/key';
import type { FlowSink } from '../../src/flow/sink';
import { DEFAULT_MAX_SEEK } from '../../src/flow/tcpdemux';
import { DEFAULT_TEMPLATE } from '../../src/output/template';
import { DFXML_RECORD_ROOM, dfxmlFooter, dfxmlHeader } from '../../src/report/dfxml';
import { FILEOBJECT_LINE, renderFileobject } from '../../src/report/fileobject';
import { RecordMerge } from '../../src/report/record-spill';
import { Coordinator } from '../../src/shard/coordinator';
import { ShardHasher } from '../../src/shard/hash';
import { evenSplit, splitBuckets } from '../../src/shard/bucket-split';
import { InProcessHost } from '../../src/shard/hosts';
import { NO_HOOKS } from '../../src/hooks/flow-hooks';
import type { WorkerConfig } from '../../src/shard/protocol';
import type { ShardProcessor } from '../../src/shard/shard-processor';
import type { Logger } from '../../src/util/log';
import { MemFile, MemoryOutput, MemSink } from '../helpers/memory-output';
import { checkWellFormed } from '../report/xml-check';

/** What an iteration varies besides the input bytes. */
export interface RunConfig {
  /** 'small' chunks make records cross fills (the carry path) and packet numbers span fills. */
  chunk: 'big' | 'small';
  /** -b (-1: no limit). */
  maxBytes: number;
  /** -m. */
  maxSeek: number;
  /** Packets a closed flow is remembered for the straggler check. */
  savedWindow: number;
  /** -S tcp_timeout (0: none): idle flows closed at every record's time, in every shard. */
  tcpTimeout: number;
  /** -e md5 (a hashdigest in every fileobject). */
  md5: boolean;
  /** Also run with this many shards and require the same files and report records (1: no cross-check). */
  crossShards: number;
  /**
   * The cross-check's buckets shared out unevenly, the last shard owning a smaller share (as
   * the main thread's session does beside threads: src/shard/host-choice.ts), else evenly.
   */
  crossUneven: boolean;
  /** Read the input a second time: as another -r file, or as an -R file (only open flows go on). */
  again: 'none' | 'read' | 'finish';
  /** -S vlan_key=0. */
  mergeVlans: boolean;
}

/** The largest straggler window a RunConfig may use. */
export const MAX_SAVED_WINDOW = 100_000;

export const DEFAULT_CONFIG: RunConfig = {
  chunk: 'big', maxBytes: -1, maxSeek: DEFAULT_MAX_SEEK, savedWindow: MAX_SAVED_WINDOW, tcpTimeout: 0, md5: false, crossShards: 1, crossUneven: false, again: 'none',
  mergeVlans: false,
};

/** The errors the reader may raise for a corrupt capture: the tool's one-line error path. */
const INPUT_ERRORS = new Set(['INPUT_TRUNCATED', 'INPUT_FORMAT', 'INPUT_CORRUPT']);

export class FuzzFailure extends Error {
  constructor(readonly property: string, message: string) {
    super(`${property}: ${message}`);
    this.name = 'FuzzFailure';
  }
}

/** A closed flow and its file. */
export interface ClosedFile {
  flow: Flow;
  name: string;
  file: MemFile;
}

/** What a run produced (compared across shard counts). */
export interface RunResult {
  records: number;
  /** Records the dispatch decoded as TCP. */
  tcp: number;
  /** The reader's error (a TcpflowError message), or null. */
  error: string | null;
  truncation: Truncation | null;
  totals: { flows: number; packets: number; flowsAtEnd: number };
  /** Report records in report order. */
  fileobjects: string[];
  /** Every flow file by name (final content). */
  files: Map<string, MemFile>;
  report: string;
  /** Closed flows that stored bytes, in close order, with their files. */
  closed: ClosedFile[];
}

const XML_DECLARATION = "<?xml version='1.0' encoding='UTF-8'?>\n";

const silent: Logger = {
  error() {}, warn() {}, info() {}, debug() {}, trace() {},
  isLevelEnabled: () => false,
  debugLevel: 0,
  at() {},
};

/**
 * Every payload byte of the input by flow key and sequence number: what "a payload byte
 * at a position consistent with the input" means. Byte j of a segment is at seq + j; a
 * SYN's data is at seq + 1 + j when it opens (or rebases) the flow and at seq + j like
 * any segment otherwise (tcpflow §3.4), so both are allowed for SYNs.
 */
export class SeqOracle {
  private readonly flows = new Map<string, Map<number, number>>();
  /** Values beyond the first one seen at a sequence number ("key seq" → values). */
  private readonly more = new Map<string, Set<number>>();

  add(key: string, seq: number, buf: Uint8Array, off: number, len: number, syn: boolean): void {
    let m = this.flows.get(key);
    if (m === undefined) this.flows.set(key, (m = new Map()));
    for (let j = 0; j < len; j++) {
      const v = buf[off + j];
      if (v === 0) continue; // zeros are never looked up (holes read as zeros)
      this.put(m, key, (seq + j) >>> 0, v);
      if (syn) this.put(m, key, (seq + 1 + j) >>> 0, v);
    }
  }

  private put(m: Map<number, number>, key: string, seq: number, v: number): void {
    const first = m.get(seq);
    if (first === undefined) { m.set(seq, v); return; }
    if (first === v) return;
    const k = `${key} ${seq}`;
    let s = this.more.get(k);
    if (s === undefined) this.more.set(k, (s = new Set()));
    s.add(v);
  }

  has(key: string, seq: number, v: number): boolean {
    const first = this.flows.get(key)?.get(seq);
    if (first === v) return true;
    if (first === undefined) return false;
    return this.more.get(`${key} ${seq}`)?.has(v) ?? false;
  }
}

/** Where a write's bytes must come from: the record a shard processor is working on. */
export interface RecordInView {
  data: Uint8Array;
  record: number;
  start: number;
  end: number;
  /** The record's TCP segment, decoded. */
  seq: number;
  payloadOffset: number;
  syn: boolean;
}

/**
 * A flow file in memory with the properties checked on it: every write reads from the
 * chunk being processed, inside the captured bytes of the record being processed, and
 * puts its bytes where their sequence number says (position p holds isn + 1 + p); when
 * the flow ends, the report's filesize is the file's size and (with an oracle) every
 * byte is one the input has at that sequence number.
 */
export class CheckedSink extends MemSink {
  constructor(private readonly checks: CheckedOutput, flow: Flow, name: string, file: MemFile) {
    super(checks, flow, name, file);
  }

  override write(pos: number, data: Uint8Array, off: number, len: number): void {
    const r = this.checks.current();
    if (data !== r.data) throw new FuzzFailure('over-read', 'write from a buffer that is not the chunk');
    if (!(len >= 0 && off >= r.start && off + len <= r.end)) {
      throw new FuzzFailure('over-read',
        `write of bytes [${off}, ${off + len}) outside record ${r.record}'s captured bytes [${r.start}, ${r.end})`);
    }
    // A SYN's data may sit one further (see SeqOracle).
    const want = (r.seq + (off - r.payloadOffset)) >>> 0;
    const at = (this.flow.isn + 1 + pos) >>> 0;
    if (at !== want && !(r.syn && at === ((want + 1) >>> 0))) {
      throw new FuzzFailure('placement',
        `${this.name}: record ${r.record}'s byte with sequence number ${want} written at position ${pos} (sequence number ${at})`);
    }
    super.write(pos, data, off, len);
  }

  override close(): void {
    if (this.closed) return;
    super.close();
    this.checks.closedFiles.push({ flow: this.flow, name: this.name, file: this.file });
    const cfg = this.checks.cfg;
    try {
      checkFilesize(this.flow, this.name, this.file, cfg.maxBytes);
      if (this.checks.oracle !== null) checkPlacement(this.flow, this.name, this.file, this.checks.oracle);
    } catch (e) {
      // The worker turns errors into its result's error: keep the original.
      this.checks.failure ??= e as FuzzFailure;
      throw e;
    }
  }
}

/**
 * The fuzzer's flow files: one name space for all shards (as one output directory is),
 * checked sinks, and the record each shard processor is working on.
 */
export class CheckedOutput extends MemoryOutput {
  readonly closedFiles: ClosedFile[] = [];
  failure: FuzzFailure | null = null;
  oracle: SeqOracle | null = null;
  /** The shard processors of the current run. */
  processors: ShardProcessor[] = [];
  private readonly d = newDecodedPacket();

  constructor(readonly cfg: RunConfig) {
    super(DEFAULT_TEMPLATE);
  }

  override open(flow: Flow): FlowSink {
    const name = this.claimName(flow);
    const file = new MemFile();
    this.files.set(name, file);
    return new CheckedSink(this, flow, name, file);
  }

  /** The record being processed (only one processor is inside a chunk at a time in-process). */
  current(): RecordInView {
    const p = this.processors.find((x) => x.record >= 0);
    const chunk = p?.chunk;
    if (p === undefined || chunk == null) throw new FuzzFailure('over-read', 'a write while no record is being processed');
    const i = p.record;
    const start = chunk.offset[i], end = start + chunk.caplen[i];
    if (decodeFrame(chunk.data, start, chunk.caplen[i], chunk.linktype[i], this.d) !== Verdict.TCP) {
      throw new FuzzFailure('over-read', `a write while processing record ${i}, which is no TCP segment`);
    }
    return { data: chunk.data, record: i, start, end, seq: this.d.seq, payloadOffset: this.d.payloadOffset, syn: (this.d.flags & TH_SYN) !== 0 };
  }
}

/** The report's filesize is the file's size (under -b the file is cut there). */
function checkFilesize(flow: Flow, name: string, file: MemFile, maxBytes: number): void {
  const ok = maxBytes < 0 ? file.length === flow.lastByte : file.length <= Math.min(maxBytes, flow.lastByte);
  if (!ok) {
    throw new FuzzFailure('filesize',
      `${name}: ${file.length} bytes in the file, report filesize ${flow.lastByte}${maxBytes >= 0 ? ` (-b ${maxBytes})` : ''}`);
  }
}

/** Every non-zero byte sits where the input put it: position p holds sequence number isn + 1 + p. */
function checkPlacement(flow: Flow, name: string, file: MemFile, oracle: SeqOracle): void {
  for (const [at, bytes] of file.extents()) {
    for (let k = 0; k < bytes.length; k++) {
      const v = bytes[k];
      if (v === 0) continue;
      const p = at + k;
      const seq = (flow.isn + 1 + p) >>> 0;
      if (!oracle.has(flow.key, seq, v)) {
        throw new FuzzFailure('placement',
          `${name}: byte ${p} is 0x${v.toString(16)}, but no segment of the flow has that byte at sequence number ${seq}`);
      }
    }
  }
}

function checkInputError(e: unknown, name: string): string {
  if (e instanceof FuzzFailure) throw e;
  if (!(e instanceof TcpflowError)) {
    const err = e as Error;
    throw new FuzzFailure('exception', err && err.stack ? err.stack : String(e));
  }
  if (!INPUT_ERRORS.has(e.code)) throw new FuzzFailure('error-code', `${e.code}: ${e.message}`);
  if (!e.message.startsWith(`${name}: `) || e.message.includes('\n')) {
    throw new FuzzFailure('error-message', `not one line naming the input: ${JSON.stringify(e.message)}`);
  }
  return e.message;
}

/** A truncation report must describe the incomplete record the input really ends with. */
function checkTruncation(t: Truncation, input: Uint8Array): void {
  const pcap = input.length >= 4 && new DataView(input.buffer, input.byteOffset).getUint32(0, false) !== 0x0a0d0d0a;
  const header = pcap && t.what === 'captured bytes' ? 16 : 0;
  const ok = t.got >= 0 && t.wanted > t.got && t.offset + header + t.got === input.length;
  if (!ok) throw new FuzzFailure('truncation', `inconsistent with an input of ${input.length} bytes: ${JSON.stringify(t)}`);
}

/**
 * The TCP bytes of fragmented datagrams, for the oracle: the coordinator reassembles them
 * after the source, so each fragment's data is noted at the sequence number it has once
 * the datagram's first fragment gives the TCP header. Every copy is noted (duplicates,
 * overlaps, datagrams never completed): the oracle only learns what the input holds.
 */
class FragmentNotes {
  private readonly datagrams = new Map<string, { head: FragmentHead | null; pieces: [number, Uint8Array][] }>();
  private readonly t = newDecodedPacket();

  note(data: Uint8Array, d: DecodedPacket, oracle: SeqOracle): void {
    let id = `${d.ipVersion}/${d.fragProto}/${d.fragId}/`;
    for (let j = 0; j < 2 * d.addrLen; j++) id += `${data[d.addrOffset + j]}.`;
    let g = this.datagrams.get(id);
    if (g === undefined) this.datagrams.set(id, (g = { head: null, pieces: [] }));
    const bytes = data.slice(d.fragData, d.fragEnd);
    g.pieces.push([d.fragOffset, bytes]);
    if (g.head !== null) {
      noteFragment(g.head, d.fragOffset, bytes, oracle);
      return;
    }
    // The TCP header may span several (tiny) fragments, behind IPv6 extension headers: it needs the bytes from 0 on.
    const prefix = contiguousPrefix(g.pieces, 2048);
    const tcp = tcpStart(prefix, d.fragProto);
    const t = this.t;
    if (tcp < 0 || prefix.length < tcp + Math.max(20, (prefix[tcp + 12] >> 4) * 4)) return;
    if (decodeTcp(prefix, tcp, prefix.length, t) !== Verdict.TCP) return;
    t.addrOffset = d.addrOffset;
    t.addrLen = d.addrLen;
    g.head = { key: flowKey(data, t), seq: t.seq, hlen: tcp + (prefix[tcp + 12] >> 4) * 4, syn: (t.flags & TH_SYN) !== 0 };
    for (const [start, b] of g.pieces) noteFragment(g.head, start, b, oracle);
  }
}

interface FragmentHead { key: string; seq: number; hlen: number; syn: boolean }

function noteFragment(h: FragmentHead, start: number, b: Uint8Array, oracle: SeqOracle): void {
  const from = Math.max(0, h.hlen - start);
  if (from < b.length) oracle.add(h.key, (h.seq + start + from - h.hlen) >>> 0, b, from, b.length - from, h.syn);
}

/** Where TCP starts in a fragmentable part beginning with header `proto` (IPv6 extension headers skipped), or -1. */
function tcpStart(b: Uint8Array, proto: number): number {
  let p = 0;
  for (let next = proto, hops = 0; next !== 6; hops++) {
    if (hops > 16 || p + 8 > b.length || (next !== 43 && next !== 60 && next !== 51)) return -1;
    const len = next === 51 ? (b[p + 1] + 2) * 4 : (b[p + 1] + 1) * 8;
    next = b[p];
    p += len;
  }
  return p;
}

/** Up to `max` bytes of a datagram from offset 0 on, as far as its pieces cover them without a gap. */
function contiguousPrefix(pieces: readonly [number, Uint8Array][], max: number): Uint8Array {
  const out = new Uint8Array(max);
  let have = 0;
  for (let grew = true; grew && have < max;) {
    grew = false;
    for (const [start, b] of pieces) {
      if (start > have || start + b.length <= have) continue;
      const n = Math.min(b.length - (have - start), max - have);
      out.set(b.subarray(have - start, have - start + n), have);
      have += n;
      grew = true;
    }
  }
  return out.subarray(0, have);
}

/**
 * The real packet source, checked as the coordinator reads it: every record's captured
 * bytes are the input's bytes at their file offset, every TCP segment's payload lies in
 * them (what the straggler check compares), and (with an oracle) every payload byte is
 * noted at its sequence number.
 */
class CheckedSource implements PacketSource {
  records = 0;
  tcp = 0;
  private readonly inner: PacketSource;
  private readonly d = newDecodedPacket();
  private readonly fragments = new FragmentNotes();

  constructor(private readonly reader: CaptureReader, private readonly input: Uint8Array, private readonly oracle: SeqOracle | null) {
    this.inner = captureSource(reader);
  }

  get name(): string { return this.inner.name; }
  get firstInterface() { return this.inner.firstInterface; }

  async fill(chunk: Chunk): Promise<number | null> {
    const count = await this.inner.fill(chunk);
    if (count === null) return null;
    if (count !== chunk.count) throw new FuzzFailure('reader', `fill() gave ${count}, chunk.count is ${chunk.count}`);
    const data = chunk.data, base = this.reader.base, input = this.input, d = this.d;
    for (let i = 0; i < count; i++) {
      const off = chunk.offset[i], cap = chunk.caplen[i];
      if (!(off >= 0 && cap >= 0 && off + cap <= data.length && base + off + cap <= input.length) ||
        Buffer.compare(data.subarray(off, off + cap), input.subarray(base + off, base + off + cap)) !== 0) {
        throw new FuzzFailure('reader', `record ${this.records + i} at chunk [${off}, ${off + cap}) is not the input's bytes at ${base + off}`);
      }
      const lt = chunk.linktype[i];
      const v = isSupportedLinkType(lt) ? decodeFrame(data, off, cap, lt, d) : Verdict.LINK_DROP;
      if (v === Verdict.FRAGMENT && this.oracle !== null) this.fragments.note(data, d, this.oracle);
      if (v !== Verdict.TCP) continue;
      this.tcp++;
      if (!(d.payloadLen >= 0 && d.payloadOffset >= off && d.payloadOffset + d.payloadLen <= off + cap)) {
        throw new FuzzFailure('over-read', `record ${this.records + i}'s payload [${d.payloadOffset}, +${d.payloadLen}) lies outside its captured bytes [${off}, ${off + cap})`);
      }
      this.oracle?.add(flowKey(data, d), d.seq, data, d.payloadOffset, d.payloadLen, (d.flags & TH_SYN) !== 0);
    }
    this.records += count;
    return count;
  }

  close(): void {
    this.inner.close();
  }
}

function workerConfig(cfg: RunConfig): Omit<WorkerConfig, 'index' | 'spillPath'> {
  return {
    mode: 'files', outdir: '', template: DEFAULT_TEMPLATE, maxOpenFiles: 1 << 20, maxSeek: cfg.maxSeek,
    maxBytes: cfg.maxBytes, scanners: cfg.md5 ? ['md5'] : [], scannerSettings: { httpDecompress: true, httpLimits: DEFAULT_INFLATE_LIMITS },
    tcpdemux: true, netviz: null, plugin: null, hooks: NO_HOOKS, findx: false, tdelta: 0,
    tcpTimeout: cfg.tcpTimeout,
    savedWindow: cfg.savedWindow, maxFlowsPerBucket: perBucketCap(DEFAULT_MAX_FLOWS), mergeVlans: cfg.mergeVlans,
    records: true, recordRoom: DFXML_RECORD_ROOM,
    debugLevel: 0, console: null, unprocessed: false, shard: null,
  };
}

export class Pipeline {
  /** Chunk rings by size, reused by every run (allocating them costs more than most inputs). */
  private readonly rings: Record<RunConfig['chunk'], Chunk[]>;
  private readonly header: string;
  private runs = 0;
  private footer: string | null = null;

  private constructor(private readonly hasher: ShardHasher, private readonly maxShards: number) {
    const slots = maxShards + 2;
    this.rings = {
      big: Array.from({ length: slots }, () => allocChunk(CHUNK_BYTES, CHUNK_RECORDS)),
      small: Array.from({ length: slots }, () => allocChunk(128 * 1024, 7)),
    };
    this.header = dfxmlHeader({
      commandLine: 'tcpflow-ts -r fuzz-input', startTime: new Date(0), config: { workers: 1, outdir: '.' }, tdelta: 0,
    });
  }

  /** `maxShards`: the most shards a run may use (the chunk rings are sized for it). */
  static async create(maxShards = 3): Promise<Pipeline> {
    return new Pipeline(ShardHasher.create(), maxShards);
  }

  /**
   * Run `input` through the pipeline under `cfg` and check every property; with
   * cfg.crossShards > 1 run it again sharded and compare. `oracle`: also check at the
   * end that every stored byte sits at a sequence position where the input has it.
   */
  async check(name: string, input: Uint8Array, cfg: RunConfig, oracle: boolean): Promise<RunResult> {
    const a = await this.run(name, input, cfg, 1, oracle);
    if (cfg.crossShards > 1) compare(a, await this.run(name, input, cfg, cfg.crossShards, false), cfg.crossShards, cfg.crossUneven);
    return a;
  }

  private async run(name: string, input: Uint8Array, cfg: RunConfig, shards: number, useOracle: boolean): Promise<RunResult> {
    const startedAt = process.hrtime.bigint();
    if (shards > this.maxShards) throw new Error(`pipeline made for at most ${this.maxShards} shards, not ${shards}`);
    const oracle = useOracle ? new SeqOracle() : null;
    const out = new CheckedOutput(cfg);
    out.oracle = oracle;
    const slots = this.rings[cfg.chunk].slice(0, shards + 2);
    const host = new InProcessHost(silent, () => out);
    const split = shards > 1 && cfg.crossUneven ? splitBuckets(UNEVEN_WEIGHTS.slice(-shards)) : evenSplit(shards);
    const coordinator = await Coordinator.start(host, shards, workerConfig(cfg), () => null, undefined, { slots, hasher: this.hasher, split });
    out.processors = host.sessions.map((s) => s.processor);
    let error: string | null = null;
    let truncation: Truncation | null = null;
    let records = 0, tcp = 0;
    // The input, then (cfg.again) the same file once more as a second -r or as an -R file.
    const passes = cfg.again === 'none' ? [false] : [false, cfg.again === 'finish'];
    for (const finishing of passes) {
      let reader: CaptureReader;
      try {
        reader = openCaptureBuffer(name, input);
      } catch (e) {
        error ??= checkInputError(e, name);
        continue;
      }
      const source = new CheckedSource(reader, input, oracle);
      try {
        const fed = await coordinator.feed(source, finishing, () => false);
        if (fed.error !== null) {
          const message = checkInputError(fed.error, name);
          // A capture cut inside a record is read up to the cut: a truncation, not a refusal.
          if (fed.error instanceof TruncatedInput && fed.error.truncation !== null) {
            checkTruncation(fed.error.truncation, input);
            truncation ??= fed.error.truncation;
          } else {
            error ??= message;
          }
        }
      } catch (e) {
        // A check inside the source: the run stops here.
        await coordinator.finish().catch(() => undefined);
        throw e;
      } finally {
        source.close();
      }
      records += source.records;
      tcp += source.tcp;
    }
    const { results, fragments } = await coordinator.finish();
    const totals = { flows: 0, packets: 0, flowsAtEnd: 0 };
    const held = [];
    for (const r of results) {
      if (r.error !== null) throw out.failure ?? new FuzzFailure('exception', `shard error ${r.error.code}: ${r.error.message}`);
      totals.flows += r.totalFlows;
      totals.packets += r.totalPackets;
      totals.flowsAtEnd += r.flowsAtEnd;
      if (r.heldRecords !== null) held.push(r.heldRecords);
    }
    if (coordinator.error !== null) throw out.failure ?? new FuzzFailure('exception', coordinator.error.message);
    const fos: string[] = [];
    const merge = new RecordMerge([], [], (line) => {
      const text = renderFileobject(line.record());
      // The run copies a plain line's fields into report.xml: the same bytes as rendering its record.
      if (line.plain()) {
        const b = Buffer.alloc(line.end - line.start + FILEOBJECT_LINE.markup);
        const copied = b.toString('utf8', 0, FILEOBJECT_LINE.write(line, b, 0));
        if (copied !== text) throw new FuzzFailure('report', `a plain record written as ${JSON.stringify(copied)}, rendered as ${JSON.stringify(text)}`);
      }
      fos.push(text);
    });
    merge.finish(held);
    merge.pump();
    // The footer depends on the input only through five counters, and rendering it
    // (xmlbuilder2, getrusage) costs more than most inputs: it is rendered for every
    // 32nd input and reused by the others (its counters are then an earlier input's).
    if (this.footer === null || this.runs % 32 === 0) {
      this.footer = dfxmlFooter({
        openFdsAtEnd: 0, maxOpenFlows: 0, totalFlows: totals.flows, flowMapSize: totals.flowsAtEnd,
        totalPackets: totals.packets, error: null, flowsPurged: 0, maxFlows: DEFAULT_MAX_FLOWS, flowsTimedOut: 0, tcpTimeout: 0, fragments,
      }, startedAt);
    }
    this.runs++;
    const report = this.header + fos.join('') + this.footer;
    try {
      if (!report.startsWith(XML_DECLARATION)) throw new Error('no XML declaration');
      checkWellFormed(report.slice(XML_DECLARATION.length));
    } catch (e) {
      throw new FuzzFailure('xml', (e as Error).message);
    }
    // Every flow created is closed and reported exactly once.
    if (fos.length !== totals.flows) throw new FuzzFailure('report', `${totals.flows} flows but ${fos.length} report records`);
    return { records, tcp, error, truncation, totals, fileobjects: fos, files: new Map(out.files), report, closed: out.closedFiles };
  }
}

/** Session weights of an uneven cross-check: the last `shards` (the last one lightest). */
const UNEVEN_WEIGHTS = [2, 1, 0.3];

/** Output must not depend on the number of workers, nor on how the buckets are shared out. */
function compare(a: RunResult, b: RunResult, shards: number, uneven: boolean): void {
  const fail = (what: string) => { throw new FuzzFailure('shard-independence', `1 vs ${shards} shards${uneven ? ' (uneven split)' : ''}: ${what}`); };
  if (a.error !== b.error) fail(`error ${a.error} vs ${b.error}`);
  if (JSON.stringify(a.totals) !== JSON.stringify(b.totals)) fail(`totals ${JSON.stringify(a.totals)} vs ${JSON.stringify(b.totals)}`);
  if (a.fileobjects.length !== b.fileobjects.length) fail(`${a.fileobjects.length} vs ${b.fileobjects.length} report records`);
  a.fileobjects.forEach((x, i) => { if (x !== b.fileobjects[i]) fail(`report record ${i} differs:\n${x}${b.fileobjects[i]}`); });
  if (a.files.size !== b.files.size) fail(`${a.files.size} vs ${b.files.size} files`);
  for (const [n, c] of a.files) {
    const o = b.files.get(n);
    if (o === undefined) fail(`no file ${n}`);
    else if (!c.equals(o)) fail(`file ${n} differs`);
  }
}
