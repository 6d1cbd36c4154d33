import type { Flow } from '../flow/flow';
import type { FlowOutput, FlowSink, SinkCheckpoint, SinkFactory } from '../flow/sink';
import { flowLine, type RecordOutput, type ScanFields } from '../report/flow-record';
import type { FlowScan, Scanner } from '../scanners/scanner';
import type { FlowFileListener } from '../hooks/flow-hooks';

/**
 * A sink that also hands the flow's bytes to the scanners' sessions while they arrive in
 * order (an append at the end of what was delivered); anything else ends the streaming,
 * and the scanners read the stored content back when the flow ends.
 */
class ScanningSink implements FlowSink {
  private delivered = 0;
  private inOrder = true;

  constructor(private readonly inner: FlowSink, private scans: readonly FlowScan[]) {}

  get name(): string | null {
    return this.inner.name;
  }

  write(pos: number, data: Uint8Array, off: number, len: number): void {
    this.inner.write(pos, data, off, len);
    // Empty writes (-b past its limit) store nothing and break no order.
    if (len === 0 || !this.inOrder) return;
    if (pos !== this.delivered) {
      this.inOrder = false;
      return;
    }
    const bytes = data.subarray(off, off + len);
    for (const s of this.scans) s.onData?.(pos, bytes);
    this.delivered += len;
  }

  shiftUp(shift: number, limit: number): void {
    this.inner.shiftUp(shift, limit);
    this.inOrder = false;
  }

  read(pos: number, len: number): Uint8Array {
    return this.inner.read(pos, len);
  }

  close(): void {
    this.inner.close();
  }

  checkpoint(): SinkCheckpoint {
    if (this.inner.checkpoint === undefined) throw new Error('internal: checkpoint of a sink that is not a flow file');
    return this.inner.checkpoint();
  }

  /** Every scanner's findings, once the flow has ended. */
  results(): ScanFields[] {
    const out: ScanFields[] = [];
    for (const s of this.scans) {
      const r = s.onClose(this.inner, this.inOrder);
      if (r !== null) out.push(r);
    }
    // The sessions, with their parsers and digests, must not live as long as the sink
    // (-e http on http-many-60k: ~9,400 closed flows' sessions were alive in each worker
    // while the straggler check kept the sinks).
    this.scans = [];
    return out;
  }
}

const NO_SCANS: readonly ScanFields[] = [];

/**
 * What happens in a worker when a flow direction ends, in one place for every output
 * mode: its scanners finish (reading the content while its file is still open), the sink
 * is closed, the flow's record goes to the spill, then the file's listener hears of it
 * (tcp_alert_fd, tcp_cmd: spec §3.5's order). Scanners only see flows that stored bytes;
 * a flow whose file cannot be completed (a full disk) is still reported.
 */
export class FlowEnd implements FlowOutput {
  /**
   * `filePackets` (--shard runs writing flow files): each record says which packet opened
   * its file, from which merge-reports counts open files over all shards.
   */
  constructor(
    private readonly sinks: SinkFactory,
    private readonly scanners: readonly Scanner[],
    private readonly records: RecordOutput | null,
    private readonly files: FlowFileListener | null = null,
    private readonly filePackets = false,
  ) {}

  open(flow: Flow): FlowSink {
    // A sink is opened while the flow's latest packet is processed.
    flow.sinkPacket = flow.lastPacket;
    const sink = this.sinks.open(flow);
    if (this.files !== null && sink.name !== null) this.files.opened(sink.name);
    return this.scanners.length === 0 ? sink : new ScanningSink(sink, this.scanners.map((s) => s.open(flow, sink.name)));
  }

  readClosed(name: string, pos: number, len: number): Uint8Array {
    return this.sinks.readClosed(name, pos, len);
  }

  closed(flow: Flow, closePacket: number): void {
    const sink = flow.sink;
    let scans: readonly ScanFields[] = NO_SCANS;
    try {
      try {
        if (sink instanceof ScanningSink) scans = sink.results();
      } finally {
        sink?.close();
      }
    } finally {
      if (this.records !== null) {
        const name = sink !== null ? sink.name : this.sinks.nameOf(flow);
        const filePacket = this.filePackets && sink !== null ? flow.sinkPacket : undefined;
        if (scans.length === 0) this.records.addFlow(closePacket, flow.firstPacket, flow, name, filePacket);
        else this.records.add(closePacket, flow.firstPacket, flowLine(flow, name, scans, filePacket));
      }
    }
    if (this.files !== null && sink !== null && sink.name !== null) this.files.closed(sink.name);
  }
}
