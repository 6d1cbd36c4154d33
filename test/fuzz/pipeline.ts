/**
 * The whole per-capture pipeline in one thread and in memory, for the fuzzer: the real
 * reader (over a buffer), the coordinator's part (link-type filter, decode for the
 * 4-tuple, shard hash, packet numbering), the real ShardProcessor per shard with an
 * in-memory flow output, report records and the DFXML header and footer. Every run
 * checks the fuzzer's properties and throws a FuzzFailure naming the one that broke.
 */
import { createHash } from 'node:crypto';
import { DEFAULT_MAX_FLOWS, perBucketCap } from '../../src/flow/buckets';
import { BUCKET_SHIFT } from '../../src/shard/protocol';
import { allocChunk, Chunk, CHUNK_BYTES, CHUNK_RECORDS } from '../../src/capture/chunk';
import { CaptureReader, openCaptureBuffer, Truncation } from '../../src/capture/reader';
import { decodeFrame, isSupportedLinkType } from '../../src/decode/link';
import { newDecodedPacket, TH_SYN, Verdict } from '../../src/decode/packet';
import { TcpflowError } from '../../src/errors';
import type { Flow } from '../../src/flow/flow';
import { flowKey } from '../../src/flow/key';
import { DEFAULT_MAX_SEEK, SavedFlow } from '../../src/flow/tcpdemux';
import { DEFAULT_TEMPLATE } from '../../src/output/template';
import { dfxmlFooter, dfxmlHeader } from '../../src/report/dfxml';
import { renderFileobject } from '../../src/report/fileobject';
import { ShardHasher } from '../../src/shard/hash';
import type { WorkerConfig, WorkerResult } from '../../src/shard/protocol';
import { ShardProcessor } from '../../src/shard/shard-processor';
import type { Logger } from '../../src/util/log';
import { MemFile, MemoryOutput } from '../helpers/memory-output';
import { checkWellFormed } from '../report/xml-check';

/** What an iteration varies besides the input bytes. */
export interface RunConfig {
  /** 'small' chunks make records cross fills (the carry path) and packet numbers span fills. */
  chunk: 'big' | 'small';
  /** -b (-1: no limit). */
  maxBytes: number;
  /** -m. */
  maxSeek: number;
  /** Packets a closed flow is remembered for the straggler check (at most MAX_SAVED_WINDOW). */
  savedWindow: number;
  /** -e md5 (a hashdigest in every fileobject). */
  md5: boolean;
  /** Also run with this many shards and require the same files and report records (1: no cross-check). */
  crossShards: number;
  /** Read the input a second time: as another -r file, or as an -R file (only open flows go on). */
  again: 'none' | 'read' | 'finish';
}

/** The largest straggler window a RunConfig may use (the packet numbering gap between inputs). */
export const MAX_SAVED_WINDOW = 100_000;

export const DEFAULT_CONFIG: RunConfig = {
  chunk: 'big', maxBytes: -1, maxSeek: DEFAULT_MAX_SEEK, savedWindow: MAX_SAVED_WINDOW, md5: false, crossShards: 1, again: 'none',
};

/** The errors the reader may raise for a corrupt capture: the tool's one-line error path. */
const INPUT_ERRORS = new Set(['INPUT_TRUNCATED', 'INPUT_FORMAT', 'INPUT_CORRUPT']);

export class FuzzFailure extends Error {
  constructor(readonly property: string, message: string) {
    super(`${property}: ${message}`);
    this.name = 'FuzzFailure';
  }
}

/** What a run produced (compared across shard counts). */
export interface RunResult {
  records: number;
  /** Records the coordinator decoded as TCP. */
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
  /** Closed flows in close order, with their files. */
  closed: { flow: Flow; file: MemFile | null }[];
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

/**
 * The in-memory flow output with the over-read check built in: every write (and every
 * straggler comparison) must read from the chunk being processed, inside the captured
 * bytes of the record being processed; and every write must put its bytes at the file
 * position their sequence number gives (position p holds isn + 1 + p).
 */
export class CheckedOutput extends MemoryOutput {
  data: Uint8Array | null = null;
  recStart = 0;
  recEnd = 0;
  record = -1;
  /** The record's TCP segment, as the coordinator decoded it. */
  seq = 0;
  payloadOffset = 0;
  syn = false;
  readonly fileobjects: { close: number; first: number; xml: string }[] = [];
  /** The first property a check in closed() found broken. */
  failure: FuzzFailure | null = null;
  private cfg: RunConfig = DEFAULT_CONFIG;
  private oracle: SeqOracle | null = null;

  constructor() {
    super(DEFAULT_TEMPLATE);
  }

  /** Forget every file: ready for the next input. */
  reset(cfg: RunConfig, oracle: SeqOracle | null): void {
    this.cfg = cfg;
    this.oracle = oracle;
    this.files.clear();
    this.closedFiles.length = 0;
    this.opens.length = 0;
    this.shifts.length = 0;
    this.fileobjects.length = 0;
    this.failure = null;
    this.data = null;
    this.recStart = this.recEnd = 0;
    this.record = -1;
  }

  private checkRange(what: string, data: Uint8Array, off: number, len: number): void {
    if (data !== this.data) throw new FuzzFailure('over-read', `${what} from a buffer that is not the chunk`);
    if (!(len >= 0 && off >= this.recStart && off + len <= this.recEnd)) {
      throw new FuzzFailure('over-read',
        `${what} of bytes [${off}, ${off + len}) outside record ${this.record}'s captured bytes [${this.recStart}, ${this.recEnd})`);
    }
  }

  override write(flow: Flow, pos: number, data: Uint8Array, off: number, len: number): void {
    this.checkRange('write', data, off, len);
    // A SYN's data may sit one further (see SeqOracle).
    const want = (this.seq + (off - this.payloadOffset)) >>> 0;
    const at = (flow.isn + 1 + pos) >>> 0;
    if (at !== want && !(this.syn && at === ((want + 1) >>> 0))) {
      throw new FuzzFailure('placement',
        `${flow.file.path}: record ${this.record}'s byte with sequence number ${want} written at position ${pos} (sequence number ${at})`);
    }
    super.write(flow, pos, data, off, len);
  }

  override savedEquals(saved: SavedFlow, pos: number, data: Uint8Array, off: number, len: number): boolean {
    this.checkRange('straggler comparison', data, off, len);
    return super.savedEquals(saved, pos, data, off, len);
  }

  /** Closed flows and their files (kept, not copied: a closed flow's file is never written again). */
  readonly closedFiles: { flow: Flow; file: MemFile | null }[] = [];

  override closed(flow: Flow, closePacket: number): void {
    const file = flow.file.path === null ? null : this.fileOf(flow);
    this.closedFiles.push({ flow, file });
    let md5: string | null = null;
    if (file !== null) {
      if (this.cfg.md5) md5 = createHash('md5').update(file.bytes()).digest('hex');
      try {
        checkFilesize(flow, file, this.cfg.maxBytes);
        if (this.oracle !== null) checkPlacement(flow, file, this.oracle);
      } catch (e) {
        // At the end of input the shard processor turns errors into a worker error: keep the original.
        this.failure ??= e as FuzzFailure;
        throw e;
      }
    }
    this.fileobjects.push({ close: closePacket, first: flow.firstPacket, xml: renderFileobject(flow, md5) });
  }
}

/** The report's filesize is the file's size (under -b the file is cut there). */
function checkFilesize(flow: Flow, file: MemFile, maxBytes: number): void {
  const ok = maxBytes < 0 ? file.length === flow.lastByte : file.length <= Math.min(maxBytes, flow.lastByte);
  if (!ok) {
    throw new FuzzFailure('filesize',
      `${flow.file.path}: ${file.length} bytes in the file, report filesize ${flow.lastByte}${maxBytes >= 0 ? ` (-b ${maxBytes})` : ''}`);
  }
}

/** Every non-zero byte sits where the input put it: position p holds sequence number isn + 1 + p. */
function checkPlacement(flow: Flow, file: MemFile, oracle: SeqOracle): void {
  for (const [at, bytes] of file.extents()) {
    for (let k = 0; k < bytes.length; k++) {
      const v = bytes[k];
      if (v === 0) continue;
      const p = at + k;
      const seq = (flow.isn + 1 + p) >>> 0;
      if (!oracle.has(flow.key, seq, v)) {
        throw new FuzzFailure('placement',
          `${flow.file.path}: byte ${p} is 0x${v.toString(16)}, but no segment of the flow has that byte at sequence number ${seq}`);
      }
    }
  }
}

function workerConfig(cfg: RunConfig, index: number): WorkerConfig {
  return {
    index, outdir: '', template: DEFAULT_TEMPLATE, maxOpenFiles: 1 << 20, maxSeek: cfg.maxSeek,
    maxBytes: cfg.maxBytes, md5: cfg.md5, findx: false, storing: true, tdelta: 0,
    savedWindow: cfg.savedWindow, fragmentPath: null, debugLevel: 0, console: null,
    maxFlowsPerBucket: perBucketCap(DEFAULT_MAX_FLOWS),
    unprocessed: false, keepPcaps: false,
  };
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
function checkTruncation(t: Truncation, inputLength: number, format: string): void {
  const header = format === 'pcap' && t.what === 'captured bytes' ? 16 : 0;
  const ok = t.got >= 0 && t.wanted > t.got && t.offset + header + t.got === inputLength;
  if (!ok) throw new FuzzFailure('truncation', `inconsistent with an input of ${inputLength} bytes: ${JSON.stringify(t)}`);
}

/** Shard processors of one demultiplexer configuration, kept across inputs. */
interface Pooled {
  out: CheckedOutput;
  /** By shard count: the processors and their cumulative counters after the last input. */
  sets: Map<number, { procs: ShardProcessor[]; flows: number[]; packets: number[] }>;
}

/** Configurations kept at once (each shard processor holds a 64K-entry flow cache). */
const POOL_SIZE = 16;

export class Pipeline {
  private readonly chunks: Record<RunConfig['chunk'], Chunk>;
  private readonly header: string;
  private readonly d = newDecodedPacket();
  private readonly one = new Int32Array(1);
  private readonly pool = new Map<string, Pooled>();
  /**
   * Packet number of the next input's first record. Shard processors are reused (building
   * a flow table costs more than most inputs); each input starts numbering past the
   * previous one by more than any straggler window, so nothing an input closed can match
   * a packet of the next. Nothing in the output shows absolute packet numbers.
   */
  private packetBase = 0;
  private runs = 0;
  private footer: string | null = null;

  private constructor(private readonly hasher: ShardHasher, private readonly shardCounts: ReadonlySet<number>, private readonly reuse: boolean) {
    this.chunks = { big: allocChunk(CHUNK_BYTES, CHUNK_RECORDS), small: allocChunk(128 * 1024, 7) };
    this.header = dfxmlHeader({
      commandLine: 'tcpflow-ts -r fuzz-input', startTime: new Date(0), config: { workers: 1, outdir: '.' }, tdelta: 0,
    });
  }

  /**
   * `shardCounts`: every shard count runs may use (the hash functions load asynchronously).
   * `reuse`: keep shard processors across inputs (false: fresh ones for every input).
   */
  static async create(shardCounts: readonly number[] = [1, 2, 3], reuse = true): Promise<Pipeline> {
    return new Pipeline(await ShardHasher.create(), new Set([1, ...shardCounts]), reuse);
  }

  /**
   * Run `input` through the pipeline under `cfg` and check every property; with
   * cfg.crossShards > 1 run it again sharded and compare. `oracle`: also check at the
   * end that every stored byte sits at a sequence position where the input has it.
   */
  check(name: string, input: Uint8Array, cfg: RunConfig, oracle: boolean): RunResult {
    if (!(cfg.savedWindow >= 0 && cfg.savedWindow <= MAX_SAVED_WINDOW)) throw new RangeError(`savedWindow ${cfg.savedWindow}`);
    const key = `${cfg.maxBytes}/${cfg.maxSeek}/${cfg.savedWindow}`;
    try {
      const a = this.run(name, input, cfg, 1, oracle, key);
      if (cfg.crossShards > 1) compare(a, this.run(name, input, cfg, cfg.crossShards, false, key), cfg.crossShards);
      return a;
    } catch (e) {
      // A run that failed half way leaves open flows behind.
      this.pool.delete(key);
      throw e;
    }
  }

  private pooled(key: string, cfg: RunConfig, shards: number) {
    let p = this.reuse ? this.pool.get(key) : undefined;
    if (p === undefined) {
      p = { out: new CheckedOutput(), sets: new Map() };
      if (this.reuse) {
        this.pool.set(key, p);
        if (this.pool.size > POOL_SIZE) this.pool.delete(this.pool.keys().next().value as string);
      }
    } else {
      // Most recently used last.
      this.pool.delete(key);
      this.pool.set(key, p);
    }
    let set = p.sets.get(shards);
    if (set === undefined) {
      const procs = Array.from({ length: shards }, (_, i) => new ShardProcessor(workerConfig(cfg, i), silent, p.out));
      set = { procs, flows: procs.map(() => 0), packets: procs.map(() => 0) };
      p.sets.set(shards, set);
    }
    return { out: p.out, set };
  }

  private run(name: string, input: Uint8Array, cfg: RunConfig, shards: number, useOracle: boolean, key: string): RunResult {
    const startedAt = process.hrtime.bigint();
    if (!this.shardCounts.has(shards)) throw new Error(`pipeline not created for ${shards} shards`);
    const hasher = this.hasher;
    const oracle = useOracle ? new SeqOracle() : null;
    const { out, set } = this.pooled(key, cfg, shards);
    out.reset(cfg, oracle);
    const procs = set.procs;
    const chunk = this.chunks[cfg.chunk];
    const d = this.d, one = this.one;
    const first = this.packetBase;
    let error: string | null = null;
    let truncation: Truncation | null = null;
    let records = 0, tcp = 0;
    // The input, then (cfg.again) the same file once more as a second -r or as an -R file.
    const passes = cfg.again === 'none' ? [false] : [false, cfg.again === 'finish'];
    for (const finishing of passes) {
      let reader: CaptureReader | null = null;
      try {
        reader = openCaptureBuffer(name, input);
      } catch (e) {
        error ??= checkInputError(e, name);
        continue;
      }
      try {
        for (;;) {
          let count: number;
          try {
            count = reader.fill(chunk);
          } catch (e) {
            error ??= checkInputError(e, name);
            break;
          }
          if (count === 0) break;
          if (count !== chunk.count) throw new FuzzFailure('reader', `fill() returned ${count}, chunk.count is ${chunk.count}`);
          const data = chunk.data;
          out.data = data;
          const base = reader.base;
          for (let i = 0; i < count; i++) {
            const off = chunk.offset[i], cap = chunk.caplen[i];
            // The captured bytes of every record are the input's bytes at that file offset.
            if (!(off >= 0 && cap >= 0 && off + cap <= data.length && base + off + cap <= input.length) ||
              Buffer.compare(data.subarray(off, off + cap), input.subarray(base + off, base + off + cap)) !== 0) {
              throw new FuzzFailure('reader', `record ${records + i} at chunk [${off}, ${off + cap}) is not the input's bytes at ${base + off}`);
            }
            const lt = chunk.linktype[i];
            if (!isSupportedLinkType(lt)) continue;
            // The coordinator's decode (4-tuple and shard); the worker decodes again.
            if (decodeFrame(data, off, cap, lt, d) !== Verdict.TCP) continue;
            tcp++;
            const syn = (d.flags & TH_SYN) !== 0;
            if (oracle !== null) oracle.add(flowKey(data, d), d.seq, data, d.payloadOffset, d.payloadLen, syn);
            out.record = records + i;
            out.recStart = off;
            out.recEnd = off + cap;
            out.seq = d.seq;
            out.payloadOffset = d.payloadOffset;
            out.syn = syn;
            // As the coordinator does: a bucket per connection, the worker is bucket mod shards.
            const bucket = hasher.bucketOf(data, d);
            one[0] = i | (bucket << BUCKET_SHIFT);
            procs[bucket % shards].processChunk(chunk, one, 1, first + records, finishing);
          }
          records += count;
        }
        if (reader.truncation !== null) checkTruncation(reader.truncation, input.length, reader.format);
        truncation ??= reader.truncation;
      } finally {
        reader.close();
      }
    }
    this.packetBase = first + records + MAX_SAVED_WINDOW + 1;
    out.data = null;
    out.recStart = out.recEnd = 0;
    const totals = { flows: 0, packets: 0, flowsAtEnd: 0 };
    procs.forEach((p, k) => {
      const r: WorkerResult = p.finish(null);
      if (r.error !== null) throw out.failure ?? new FuzzFailure('exception', `shard error ${r.error.code}: ${r.error.message}`);
      totals.flows += r.totalFlows - set.flows[k];
      totals.packets += r.totalPackets - set.packets[k];
      totals.flowsAtEnd += r.flowsAtEnd;
      set.flows[k] = r.totalFlows;
      set.packets[k] = r.totalPackets;
    });
    const fos = out.fileobjects.sort((x, y) => x.close - y.close || x.first - y.first).map((f) => f.xml);
    // The footer depends on the input only through five counters, and rendering it
    // (xmlbuilder2, getrusage) costs more than most inputs: it is rendered for every
    // 32nd input and reused by the others (its counters are then an earlier input's).
    if (this.footer === null || this.runs % 32 === 0) {
      this.footer = dfxmlFooter({
        openFdsAtEnd: 0, maxOpenFlows: 0, totalFlows: totals.flows, flowMapSize: totals.flowsAtEnd,
        totalPackets: totals.packets, error: null, flowsPurged: 0, maxFlows: DEFAULT_MAX_FLOWS,
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
    return {
      records, tcp, error, truncation, totals, fileobjects: fos, files: new Map(out.files), report,
      closed: out.closedFiles.slice(),
    };
  }
}

/** Output must not depend on the number of workers. */
function compare(a: RunResult, b: RunResult, shards: number): void {
  const fail = (what: string) => { throw new FuzzFailure('shard-independence', `1 vs ${shards} shards: ${what}`); };
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
