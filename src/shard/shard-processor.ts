import type { Chunk } from '../capture/chunk';
import { CHUNK_RECORDS } from '../capture/chunk';
import { decodeFrame } from '../decode/link';
import { newDecodedPacket, Verdict } from '../decode/packet';
import { Outcome, TcpDemux, PacketMeta } from '../flow/tcpdemux';
import type { SinkFactory } from '../flow/sink';
import { FlowPcaps } from '../output/flow-pcaps';
import { addrText } from '../util/address';
import { FileSinks } from '../output/file-sinks';
import { ConsoleSinks } from '../output/console-output';
import type { FlowFileStore } from '../output/flow-files';
import { RecordSpill } from '../report/record-spill';
import { createScanners } from '../scanners/registry';
import type { PluginFunction } from '../scanners/js-plugin';
import { Hooks } from '../hooks/flow-hooks';
import { NetvizCollector } from '../netviz/collector';
import { FlowEnd } from './flow-end';
import { BUCKET_SHIFT, RECORD_MASK, Release, WorkerCheckpoint, WorkerConfig, WorkerResult } from './protocol';
import { flowLine } from '../report/flow-record';
import { writeCutFile, type CutFlow } from '../resume/cut';
import { createdLogPath, cutFilePath } from '../resume/paths';
import type { Logger } from '../util/log';
import { errorInfo, type ErrorInfo } from '../errors';

/** -FX: flows store nothing, so no sink is ever asked for. */
const NO_SINKS: SinkFactory = {
  open() { throw new Error('internal: a flow stored bytes with -FX'); },
  nameOf: () => null,
  readClosed() { throw new Error('internal: a straggler compared with a flow that stored nothing (-FX)'); },
};

/**
 * Everything one worker does with its share of the packets in one run, without the
 * thread plumbing: decode each of its records fully and hand it to its flow table (or,
 * under -K, to the per-flow pcaps). `sinks` replaces the sinks the mode asks for (the
 * fuzzer keeps flow files in memory).
 */
export class ShardProcessor {
  private readonly demux: TcpDemux | null = null;
  private readonly pcaps: FlowPcaps | null = null;
  private readonly console: ConsoleSinks | null = null;
  /** The flow files' store, when flows go to files: flushed after each chunk, counted for max_open_flows. */
  private readonly store: FlowFileStore | null = null;
  private readonly records: RecordSpill | null;
  private readonly decoded = newDecodedPacket();
  private readonly meta: PacketMeta = { caplen: 0, origlen: 0, sec: 0, usec: 0, packetNo: 0, finishing: false, bucket: 0 };
  /** -w: chunk indexes of the records the flow table rejected, for the chunk being processed. */
  private rejects: Int32Array | null = null;
  private rejected = 0;
  /** Open-file changes of the chunk being processed (Release.openFiles). */
  private opens: Int32Array | null = null;
  private opened = 0;
  /** The chunk and record being processed, else null and -1 (tests check what a write reads against them). */
  chunk: Chunk | null = null;
  record = -1;
  /** -e netviz: this worker's packet counts. */
  private readonly netviz: NetvizCollector | null;
  /** tcp_alert_fd, tcp_cmd, http_alert_fd, http_cmd. */
  readonly hooks: Hooks;

  /** `plugin`: the js scanner's function, loaded by the caller (config.plugin names it). */
  constructor(private readonly config: WorkerConfig, private readonly log: Logger, sinks: SinkFactory | null = null,
    plugin: PluginFunction | null = null) {
    this.records = config.records ? new RecordSpill(config.spillPath, { room: config.recordRoom }) : null;
    this.netviz = config.netviz === null ? null : new NetvizCollector(config.netviz.maxAddresses);
    this.hooks = new Hooks(config.hooks, log);
    if (config.mode === 'pcaps' && sinks === null) {
      this.pcaps = new FlowPcaps({
        outdir: config.outdir, template: config.template, maxOpenFiles: config.maxOpenFiles, mergeVlans: config.mergeVlans,
      });
      return;
    }
    if (sinks === null) {
      if (config.mode === 'console') {
        if (config.console === null) throw new Error('internal: console mode without console options');
        sinks = this.console = new ConsoleSinks(config.console, config.outdir, config.template);
      } else if (config.mode === 'files') {
        const files = new FileSinks({
          outdir: config.outdir, template: config.template, maxOpenFiles: config.maxOpenFiles, findx: config.findx,
          onDebug: log.debugLevel >= 5 ? (message) => log.at(5, message) : null,
          createdLog: config.resume ? createdLogPath(config.resume.dir, config.resume.attempt, config.index) : null,
        });
        this.store = files.store;
        sinks = files;
      } else {
        sinks = NO_SINKS;
      }
    }
    this.demux = new TcpDemux(
      {
        maxSeek: config.maxSeek,
        maxBytes: config.maxBytes,
        storing: config.mode !== 'report-only' && config.mode !== 'console',
        console: config.mode === 'console',
        savedWindow: config.savedWindow,
        maxFlowsPerBucket: config.maxFlowsPerBucket,
        mergeVlans: config.mergeVlans,
        tcpTimeout: config.tcpTimeout,
        onViolation: (_flow, message) => log.info(message),
        debugLevel: log.debugLevel,
        onDebug: (level, message) => log.at(level, message),
      },
      new FlowEnd(sinks, createScanners(config.scanners, config.scannerSettings, this.hooks.httpBodies ?? undefined, plugin), this.records,
        this.hooks.flowFiles, config.shard !== null && config.mode === 'files'),
    );
  }

  /**
   * Process records[0, count) (indexes into the chunk, with their bucket: protocol.ts) of
   * one chunk of `size` records.
   */
  processChunk(chunk: Chunk, records: Int32Array, count: number, base: number, finishing: boolean, size: number): void {
    this.chunk = chunk;
    this.processRecords(chunk, records, count, base, finishing, size);
    this.record = -1;
    this.chunk = null;
    // Queued writes point into the chunk: they must be on disk before it is released.
    this.chunkDone();
  }

  /**
   * processChunk's loop, a function of its own: V8 compiles the loop on the first chunk
   * while it runs (on-stack replacement), and code after the loop, not yet run then, would
   * throw that compilation away at the loop's end and have it made again, in each worker.
   */
  private processRecords(chunk: Chunk, records: Int32Array, count: number, base: number, finishing: boolean, size: number): void {
    const d = this.decoded, m = this.meta;
    const data = chunk.data;
    const stats = this.store?.stats ?? null;
    const timed = this.demux !== null && this.config.tcpTimeout > 0;
    let clock = 0; // -S tcp_timeout: the chunk's records up to here have advanced packet time
    m.finishing = finishing;
    for (let k = 0; k < count; k++) {
      const r = records[k];
      const i = r & RECORD_MASK;
      if (timed) clock = this.advanceClock(chunk, clock, i + 1, base);
      this.record = i;
      const cap = chunk.caplen[i];
      if (decodeFrame(data, chunk.offset[i], cap, chunk.linktype[i], d) !== Verdict.TCP) continue;
      m.caplen = cap;
      m.origlen = chunk.origlen[i];
      m.sec = chunk.sec[i] + this.config.tdelta;
      m.usec = chunk.usec[i];
      m.packetNo = base + i;
      m.bucket = r >>> BUCKET_SHIFT;
      this.netviz?.tcp(data, d, m.sec * 1e6 + m.usec, m.origlen, m.packetNo);
      if (!this.config.tcpdemux) continue;
      if (this.log.debugLevel >= 10) this.logPacket(data, m.packetNo);
      if (this.pcaps !== null) {
        this.pcaps.add(chunk, i, d, m.packetNo, m.sec, finishing);
        continue;
      }
      const before = stats !== null ? (stats.peak = stats.open) : 0;
      if ((this.demux as TcpDemux).process(data, d, m) === Outcome.NOT_PROCESSED && this.config.unprocessed) {
        (this.rejects ??= new Int32Array(CHUNK_RECORDS))[this.rejected++] = i;
      }
      if (stats !== null && (stats.peak !== before || stats.open !== before)) this.noteOpens(i, stats.peak - before, stats.open - before);
    }
    if (timed) this.advanceClock(chunk, clock, size, base);
  }

  /**
   * -S tcp_timeout: the times of the chunk's records [from, to), every worker's, in packet
   * order: idle flows are closed by the first record past their time, before it is
   * processed (so by the same packet for any worker count). Returns `to`.
   */
  private advanceClock(chunk: Chunk, from: number, to: number, base: number): number {
    const demux = this.demux as TcpDemux;
    const tdelta = this.config.tdelta;
    let limit = demux.idleLimit();
    for (let j = from; j < to; j++) {
      const sec = chunk.sec[j] + tdelta;
      if (sec <= limit) continue;
      const stats = this.store?.stats ?? null;
      const before = stats !== null ? (stats.peak = stats.open) : 0;
      this.record = j;
      demux.expireIdle(sec, base + j);
      if (stats !== null && stats.open !== before) this.noteOpens(j, 0, stats.open - before);
      limit = demux.idleLimit();
    }
    return to;
  }

  /** Write out whatever still points into the current chunk. */
  chunkDone(): void {
    this.pcaps?.flushAll();
    this.store?.flushAll();
  }

  private noteOpens(i: number, rise: number, net: number): void {
    let o = this.opens;
    if (o === null || this.opened + 3 > o.length) {
      const grown = new Int32Array(Math.max(96, (o?.length ?? 0) * 2));
      if (o !== null) grown.set(o.subarray(0, this.opened));
      this.opens = o = grown;
    }
    o[this.opened++] = i;
    o[this.opened++] = rise;
    o[this.opened++] = net;
  }

  /** What the coordinator gets back with the chunk: console text, -w rejects, open-file changes. */
  release(slot: number): Release {
    const unprocessed = this.rejected > 0 ? (this.rejects as Int32Array).slice(0, this.rejected) : null;
    const openFiles = this.opened > 0 ? (this.opens as Int32Array).slice(0, this.opened) : null;
    this.rejected = 0;
    this.opened = 0;
    return {
      type: 'release', slot, console: this.console?.take() ?? null, unprocessed, openFiles, openFlows: this.demux?.openFlows ?? 0,
      spilled: this.records?.flushed() ?? -1,
    };
  }

  /**
   * --resume, after an input is complete (every chunk of it processed): records and the
   * creation log synced, and the flows still open written down as a resumed run would end
   * them (src/resume/cut.ts).
   */
  checkpoint(seq: number): WorkerCheckpoint {
    const resume = this.config.resume;
    const demux = this.demux;
    if (!resume || demux === null) throw new Error('internal: a checkpoint without --resume or a flow table');
    this.chunkDone();
    const cut: CutFlow[] = [];
    for (const flow of demux.openFlowList()) {
      const file = flow.sink?.checkpoint?.() ?? null;
      const record = flowLine(flow, flow.sink?.name ?? null, [], this.config.shard !== null && file !== null ? flow.sinkPacket : undefined);
      cut.push({ first: flow.firstPacket, record, file, gaps: file === null ? [] : flow.seen.gaps(file.size) });
    }
    const cutPath = cut.length === 0 ? null : cutFilePath(resume.dir, resume.attempt, seq, this.config.index);
    if (cutPath !== null) writeCutFile(cutPath, cut);
    return {
      spilled: this.records?.sync() ?? 0,
      created: this.store?.syncCreated() ?? 0,
      totalFlows: demux.totalFlows,
      totalPackets: demux.totalPackets,
      flowsPurged: demux.flowsPurged,
      flowsTimedOut: demux.flowsTimedOut,
      records: this.records?.count ?? 0,
      cut: cutPath,
    };
  }

  /** -d 10 and more: one line per packet (tcpflow prints `process_pkt...`). */
  private logPacket(data: Uint8Array, packetNo: number): void {
    const d = this.decoded, a = d.addrOffset, n = d.addrLen;
    this.log.at(10, `process_pkt #${packetNo} ${addrText(data, a, n)}:${d.sport}->${addrText(data, a + n, n)}:${d.dport} ` +
      `seq ${d.seq} flags 0x${d.flags.toString(16)} len ${d.payloadLen}`);
  }

  /** End of input: close every flow and finish the records. The first error is kept, nothing seen is lost. */
  finish(error: ErrorInfo | null): WorkerResult {
    const openFilesAtEnd = this.store?.stats.open ?? 0;
    const demux = this.demux;
    const flowsAtEnd = demux?.openFlows ?? 0;
    try {
      demux?.closeAll();
    } catch (e) {
      error ??= errorInfo(e);
    }
    try {
      this.pcaps?.closeAll();
    } catch (e) {
      error ??= errorInfo(e);
    }
    if (this.pcaps !== null && this.pcaps.mismatched > 0) {
      this.log.warn(`-K: ${this.pcaps.mismatched} frames left out: their link type differs from their flow's pcap`);
    }
    try {
      this.records?.close();
      this.store?.close();
    } catch (e) {
      error ??= errorInfo(e);
    }
    return {
      totalFlows: demux?.totalFlows ?? 0,
      totalPackets: demux?.totalPackets ?? 0,
      openFilesAtEnd,
      filesCreated: this.store?.stats.created ?? 0,
      flowsAtEnd,
      records: this.records?.count ?? 0,
      flowsPurged: demux?.flowsPurged ?? 0,
      flowsTimedOut: demux?.flowsTimedOut ?? 0,
      netviz: this.netviz?.counts ?? null,
      hooks: this.hooks.stats(),
      error,
      heldRecords: this.records?.heldRecords() ?? null,
    };
  }
}
