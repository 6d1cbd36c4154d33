import { IntervalSet } from './intervals';
import { addrWord, flowKeyOf } from './key';
import type { FlowSink } from './sink';
import type { TupleEntry } from './tuple-table';
import type { VlanChained } from './vlan';

export const enum Direction {
  UNKNOWN = 0,
  /** A bare SYN was seen: this side opened the connection. */
  CLIENT_TO_SERVER = 1,
  SERVER_TO_CLIENT = 2,
}

/** One direction of a TCP connection and its reassembly state (spec §3.2). */
export class Flow implements VlanChained<Flow>, TupleEntry<Flow> {
  // Declared in the order V8 lays the fields out: first what a flow table lookup reads of
  // every entry it passes (the object's first cache line or two; perf annotate on conc: a
  // lookup's time is the misses on its bucket, this object and the line holding the hash).
  /** Its 4-tuple's hash and the next flow of its flow table bucket (src/flow/tuple-table.ts). */
  hash = 0;
  next: Flow | null = null;
  readonly addrLen: number;
  readonly srcWord: number;
  readonly dstWord: number;
  readonly sport: number;
  readonly dport: number;
  /** The VLAN the flow is keyed on, and the flow of its 4-tuple on another VLAN (src/flow/vlan.ts). */
  tag: number;
  sibling: Flow | null = null;
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
  /** The first packet's VLAN id (-1: untagged): %V%v name the flow by it, as in tcpflow. */
  readonly vlan: number;
  readonly mac: Uint8Array | null;
  /** Global number (0-based, over all inputs) of the packet that created the flow. */
  readonly firstPacket: number;
  /**
   * The initial and the next expected sequence number (nsn = isn + 1 + pos, mod 2^32), as
   * signed 32-bit integers (`seq | 0`): V8 keeps those in the flow itself, where an unsigned
   * value past 2^31 (half of all) took a heap number of its own, read through a pointer for
   * every packet (perf annotate on conc: a cache miss that was 14 % of TcpDemux.process).
   */
  isn = 0;
  nsn = 0;
  /** Current write position in the file (64-bit safe as a double). */
  pos = 0;
  /** Highest stored position + 1: the report's filesize. */
  lastByte = 0;
  readonly seen = new IntervalSet();
  synCount = 0;
  finCount = 0;
  finSize = 0;
  outOfOrder = 0;
  violations = 0;
  /** -d 2: its first packet cut by -b was reported (one line per flow, not per packet). */
  truncationLogged = false;
  direction = Direction.UNKNOWN;
  startSec = 0;
  startUsec = 0;
  lastSec = 0;
  lastUsec = 0;
  /** Global number of the flow's latest packet (console output is printed in packet order). */
  lastPacket = 0;
  packets = 0;
  len = 0;
  caplen = 0;
  flowId = 0;
  sessionId = 0;
  /** Global number of the packet whose bytes opened the flow's sink (-1: none yet). */
  sinkPacket = -1;
  /** Where the bytes go, from the first byte stored on (null before, and for flows that store none). */
  sink: FlowSink | null = null;
  /** Its flow bucket (src/flow/buckets.ts). */
  bucket = 0;
  /** Its place in its bucket's heap of open flows by recency (src/flow/recency.ts; -1: none). */
  recencyIndex = -1;
  /** -S tcp_timeout: the latest packet time (whole seconds) of the flow, its key in the idle heap, its place there (-1: none). */
  idleFrom = 0;
  idleKey = 0;
  idleIndex = -1;

  constructor(src: Uint8Array, dst: Uint8Array, sport: number, dport: number, vlan: number, mac: Uint8Array | null, firstPacket: number) {
    this.addrLen = src.length;
    this.srcWord = addrWord(src, 0);
    this.dstWord = addrWord(dst, 0);
    this.sport = sport;
    this.dport = dport;
    this.tag = vlan;
    this.src = src;
    this.dst = dst;
    this.vlan = vlan;
    this.mac = mac;
    this.firstPacket = firstPacket;
  }

  /** The directional 4-tuple as text: one key for the flow and its reverse's (src/scanners/http). */
  get key(): string {
    return flowKeyOf(this.src, this.dst, this.sport, this.dport);
  }

  get family(): number {
    return this.src.length === 4 ? 2 : 10;
  }
}
