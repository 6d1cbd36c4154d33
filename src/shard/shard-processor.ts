import { CHUNK_RECORDS, Chunk } from '../capture/chunk';
import { decodeFrame } from '../decode/link';
import { newDecodedPacket, Verdict } from '../decode/packet';
import { Outcome, TcpDemux, PacketMeta, FlowOutput } from '../flow/tcpdemux';
import { FlowPcaps } from '../output/flow-pcaps';
import { addrText } from '../output/address';
import { DiskOutput } from '../output/disk-output';
import { ConsoleBatch, ConsoleOutput } from '../output/console-output';
import { FragmentWriter } from '../report/fragments';
import { BUCKET_SHIFT, RECORD_MASK, WorkerConfig, WorkerResult } from './protocol';
import type { Logger } from '../util/log';
import { errorInfo } from '../errors';

/**
 * Everything one worker does with its share of the packets, without the thread
 * plumbing: decode each of its records fully and run them through its flow table.
 */
export class ShardProcessor {
  private readonly demux: TcpDemux;
  private readonly disk: DiskOutput | null = null;
  private readonly console: ConsoleOutput | null = null;
  private readonly pcaps: FlowPcaps | null = null;
  /** -w: chunk indexes of the records the flow table rejected, for the chunk being processed. */
  private rejects: Int32Array | null = null;
  private rejected = 0;
  private readonly fragments: FragmentWriter | null;
  private readonly decoded = newDecodedPacket();
  private readonly meta: PacketMeta = { caplen: 0, origlen: 0, sec: 0, usec: 0, packetNo: 0, finishing: false, bucket: 0 };

  /**
   * `output` replaces the flow files and console with another FlowOutput (the fuzzer
   * keeps flows in memory); it then renders its own report records.
   */
  constructor(private readonly config: WorkerConfig, private readonly log: Logger, output: FlowOutput | null = null) {
    this.fragments = config.fragmentPath !== null ? new FragmentWriter(config.fragmentPath) : null;
    if (output === null && config.keepPcaps) {
      this.pcaps = new FlowPcaps({ outdir: config.outdir, template: config.template, maxOpenFiles: config.maxOpenFiles });
    } else if (output === null && config.console !== null) {
      this.console = new ConsoleOutput(config.console, config.outdir, config.template, this.fragments);
    } else if (output === null) {
      this.disk = new DiskOutput(
        { outdir: config.outdir, template: config.template, maxOpenFiles: config.maxOpenFiles, md5: config.md5, findx: config.findx,
          onDebug: log.debugLevel >= 5 ? (message) => log.at(5, message) : null },
        this.fragments,
      );
    }
    this.demux = new TcpDemux(
      {
        maxSeek: config.maxSeek,
        maxBytes: config.maxBytes,
        storing: config.storing && config.console === null,
        console: config.console !== null,
        savedWindow: config.savedWindow,
        maxFlowsPerBucket: config.maxFlowsPerBucket,
        onViolation: (_flow, message) => log.info(message),
        debugLevel: log.debugLevel,
        onDebug: (level, message) => log.at(level, message),
      },
      // Under -K the flow table gets no packets (frames go to per-flow pcaps), so it needs no output.
      output ?? this.disk ?? (this.console as ConsoleOutput),
    );
  }

  /** Console text produced since the last call, for the coordinator to print in order. */
  takeConsole(): ConsoleBatch | null {
    return this.console?.take() ?? null;
  }

  /** -w: the records of the last chunk that the flow table rejected (ascending chunk indexes). */
  takeUnprocessed(): Int32Array | null {
    if (this.rejected === 0) return null;
    const r = (this.rejects as Int32Array).slice(0, this.rejected);
    this.rejected = 0;
    return r;
  }

  /** Process records[0, count) (indexes into the chunk, with their bucket: protocol.ts) of one chunk. */
  processChunk(chunk: Chunk, records: Int32Array, count: number, base: number, finishing: boolean): void {
    const d = this.decoded, m = this.meta;
    const data = chunk.data;
    m.finishing = finishing;
    for (let k = 0; k < count; k++) {
      const r = records[k];
      const i = r & RECORD_MASK;
      const cap = chunk.caplen[i];
      if (decodeFrame(data, chunk.offset[i], cap, chunk.linktype[i], d) !== Verdict.TCP) continue;
      m.caplen = cap;
      m.origlen = chunk.origlen[i];
      m.sec = chunk.sec[i] + this.config.tdelta;
      m.usec = chunk.usec[i];
      m.packetNo = base + i;
      m.bucket = r >>> BUCKET_SHIFT;
      if (this.log.debugLevel >= 10) this.logPacket(data, m.packetNo);
      if (this.pcaps !== null) {
        this.pcaps.add(chunk, i, d, m.packetNo, m.sec, finishing);
      } else if (this.demux.process(data, d, m) === Outcome.NOT_PROCESSED && this.config.unprocessed) {
        (this.rejects ??= new Int32Array(CHUNK_RECORDS))[this.rejected++] = i;
      }
    }
    // Queued writes point into the chunk: they must be on disk before it is released.
    this.disk?.store.flushAll();
    this.pcaps?.flushAll();
  }

  /** -d 10 and more: one line per packet (tcpflow prints `process_pkt...`). */
  private logPacket(data: Uint8Array, packetNo: number): void {
    const d = this.decoded, a = d.addrOffset, n = d.addrLen;
    this.log.at(10, `process_pkt #${packetNo} ${addrText(data, a, n)}:${d.sport}->${addrText(data, a + n, n)}:${d.dport} ` +
      `seq ${d.seq} flags 0x${d.flags.toString(16)} len ${d.payloadLen}`);
  }

  /** End of input: close every flow and finish the report records. */
  finish(error: WorkerResult['error']): WorkerResult {
    const openAtEnd = this.disk?.store.stats.openNow ?? 0;
    const flowsAtEnd = this.demux.flows.size;
    // Close and report every flow even after a failure (nothing seen is lost), keeping
    // the first error.
    try {
      this.demux.closeAll();
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
      this.fragments?.close();
    } catch (e) {
      error ??= errorInfo(e);
    }
    return {
      totalFlows: this.demux.totalFlows,
      totalPackets: this.demux.totalPackets,
      openAtEnd,
      maxOpen: this.disk?.store.stats.maxOpen ?? 0,
      flowsAtEnd,
      fileobjects: this.fragments?.count ?? 0,
      flowsPurged: this.demux.flowsPurged,
      error,
      // Records a full disk kept out of the spill file, for the report writer.
      heldFragments: this.fragments?.heldFragments() ?? null,
    };
  }
}
