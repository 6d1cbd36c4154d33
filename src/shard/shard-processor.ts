import type { Chunk } from '../capture/chunk';
import { decodeFrame } from '../decode/link';
import { newDecodedPacket, Verdict } from '../decode/packet';
import { TcpDemux, PacketMeta } from '../flow/tcpdemux';
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
  private readonly fragments: FragmentWriter | null;
  private readonly decoded = newDecodedPacket();
  private readonly meta: PacketMeta = { caplen: 0, origlen: 0, sec: 0, usec: 0, packetNo: 0, finishing: false, bucket: 0 };

  constructor(private readonly config: WorkerConfig, log: Logger) {
    this.fragments = config.fragmentPath !== null ? new FragmentWriter(config.fragmentPath) : null;
    if (config.console !== null) {
      this.console = new ConsoleOutput(config.console, config.outdir, config.template, this.fragments);
    } else {
      this.disk = new DiskOutput(
        { outdir: config.outdir, template: config.template, maxOpenFiles: config.maxOpenFiles, md5: config.md5, findx: config.findx },
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
      },
      (this.disk ?? this.console) as DiskOutput | ConsoleOutput,
    );
  }

  /** Console text produced since the last call, for the coordinator to print in order. */
  takeConsole(): ConsoleBatch | null {
    return this.console?.take() ?? null;
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
      this.demux.process(data, d, m);
    }
    // Queued writes point into the chunk: they must be on disk before it is released.
    this.disk?.store.flushAll();
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
    };
  }
}
