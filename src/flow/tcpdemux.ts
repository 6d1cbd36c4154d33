import type { DecodedPacket } from '../decode/packet';
import { TH_ACK, TH_FIN, TH_RST, TH_SYN } from '../decode/packet';
import { Direction, Flow } from './flow';
import { copyEndpoints, flowHash, reverseFlowHash } from './key';
import { TupleTable } from './tuple-table';
import { ANY_VLAN, SavedFlows } from './saved-flows';
import { addrText } from '../util/address';
import { FLOW_BUCKETS } from './buckets';
import { flowOnVlan, unchain } from './vlan';
import type { FlowOutput } from './sink';
import { IdleHeap } from './idle-heap';
import { Recency } from './recency';

/** Per-packet facts that do not come from the headers. */
export interface PacketMeta {
  caplen: number;
  origlen: number;
  sec: number;
  usec: number;
  /** Global packet number over all inputs (0-based). */
  packetNo: number;
  /** True while reading -R files: only flows that already exist go on. */
  finishing: boolean;
  /** The connection's flow bucket, 0 to FLOW_BUCKETS - 1 (src/flow/buckets.ts). */
  bucket: number;
}

export const enum Outcome {
  /** Counted in a flow (tcpflow's step 7). */
  PROCESSED = 0,
  /** Deliberately ignored (no flow for it, harmless retransmission, -R): not counted, not -w. */
  IGNORED = 1,
  /** Rejected: goes to the -w file. */
  NOT_PROCESSED = 2,
}

export interface DemuxConfig {
  /** -m: largest sequence jump tolerated before a new flow is started. */
  maxSeek: number;
  /** -b: bytes stored per flow, or -1 for no limit. */
  maxBytes: number;
  /** false for -FX / console modes: nothing is placed by sequence number. */
  storing: boolean;
  /**
   * Console modes: each payload goes to the flow's sink as it arrives (at the position of
   * the bytes shown so far), never placed by sequence number.
   */
  console?: boolean;
  /**
   * Closed flows are remembered for the straggler check for this many packets after
   * their close. A window in packets (not tcpflow's last-100-closed list) keeps the
   * outcome independent of how flows are spread over workers.
   */
  savedWindow: number;
  /**
   * Open flows allowed per bucket (-S max_flows); a new flow in a full bucket first
   * closes the bucket's least recently seen flow. Infinity (the default): no cap.
   */
  maxFlowsPerBucket?: number;
  /**
   * -S vlan_key=0: the VLAN is not part of the flow key, so one 4-tuple on several VLANs is
   * one flow (tcpflow's behaviour). By default flows are kept apart by VLAN (src/flow/vlan.ts).
   */
  mergeVlans?: boolean;
  /**
   * -S tcp_timeout: a flow whose latest packet is more than this many whole seconds older
   * than the packet time now (expireIdle) is closed; 0 or absent: never.
   */
  tcpTimeout?: number;
  onViolation?: (flow: Flow, message: string) => void;
  /** Debug messages of spec §6.6 at tcpflow level `level` (only built when `debugLevel` reaches it). */
  debugLevel?: number;
  onDebug?: (level: number, message: string) => void;
}

/** tcpflow's `flow[a:p->b:q]` text of a flow, for debug messages. */
export function flowLabel(f: Flow): string {
  return `flow[${addrText(f.src)}:${f.sport}->${addrText(f.dst)}:${f.dport}]`;
}

export const DEFAULT_MAX_SEEK = 16 * 1024 * 1024;

/**
 * tcpflow's TCP demultiplexer (spec §3.3-3.5) for the flows of one shard: finds or
 * creates the flow of each segment, places its bytes by sequence number and decides
 * when flows close. Fixes applied: B5 (front insertion), B16 (new SYN on an open
 * 4-tuple), B28 (late SYN rebases the guessed ISN).
 */
export class TcpDemux {
  /** Open flows by directional 4-tuple: the head of the 4-tuple's chain of flows on different VLANs. */
  private readonly flows = new TupleTable<Flow>();
  /**
   * Closed flows not yet expired, by 4-tuple, the latest closed first: the latest on any
   * VLAN (untagged stragglers), or on the straggler's VLAN (tagged ones).
   */
  private readonly saved: SavedFlows;
  /**
   * Per bucket, its open flows by when they were last seen (no work per packet) and their
   * number, for the open-flow cap. A bucket's packets are the same for any worker count,
   * so are its purges.
   */
  private readonly recency = new Recency<Flow>(FLOW_BUCKETS);
  private readonly inBucket = new Int32Array(FLOW_BUCKETS);
  private readonly bucketCap: number;
  private readonly mergeVlans: boolean;
  totalFlows = 0;
  totalPackets = 0;
  /** Flows closed early because their bucket was full (-S max_flows). */
  flowsPurged = 0;
  /** Flows closed by -S tcp_timeout. */
  flowsTimedOut = 0;
  private readonly timeout: number;
  private readonly idle: IdleHeap | null;

  constructor(private readonly config: DemuxConfig, private readonly out: FlowOutput) {
    this.timeout = config.tcpTimeout ?? 0;
    this.idle = this.timeout > 0 ? new IdleHeap() : null;
    this.bucketCap = config.maxFlowsPerBucket ?? Infinity;
    this.mergeVlans = config.mergeVlans ?? false;
    if (!(this.bucketCap >= 1)) throw new RangeError(`maxFlowsPerBucket must be at least 1, not ${this.bucketCap}`);
    this.saved = new SavedFlows(config.savedWindow);
  }

  process(buf: Uint8Array, d: DecodedPacket, m: PacketMeta): Outcome {
    const hash = flowHash(buf, d);
    let flow = this.find(buf, d, hash, d.vlan);
    // The VLAN the packet belongs to: its own, or, untagged, that of the flow it joins.
    let tag = d.vlan;
    if (flow === undefined && m.finishing) return Outcome.IGNORED;
    const flags = d.flags;
    const syn = (flags & TH_SYN) !== 0;
    const len = d.payloadLen;

    if (flow !== undefined && syn && flow.pos > 0) {
      // tcpflow ignores every SYN once data is stored ("SYN TO IGNORE"). A retransmitted
      // SYN still is; a SYN with another ISN is a new connection on the same 4-tuple and
      // gets its own file (spec B16). Without an earlier SYN, an ISN at or before the
      // guessed start is this connection's own late SYN (B28, below); one after it is new.
      const isNew = flow.synCount > 0 ? (d.seq | 0) !== flow.isn : ((d.seq - flow.isn) | 0) > 0;
      if (!isNew && flow.synCount > 0) return Outcome.NOT_PROCESSED;
      if (isNew) {
        if (tag < 0) tag = flow.tag;
        this.close(flow, m.packetNo);
        flow = undefined;
      }
    }

    if (flow === undefined) {
      if (len === 0) {
        if (!syn || (flags & (TH_FIN | TH_RST)) !== 0) return Outcome.IGNORED;
      } else if (this.isHarmlessStraggler(hash, tag, buf, d, m.packetNo)) {
        return Outcome.IGNORED;
      }
    }

    let delta = 0;
    if (flow !== undefined) {
      delta = (d.seq - flow.nsn) | 0;
      if (Math.abs(delta) > this.config.maxSeek) {
        if (tag < 0) tag = flow.tag;
        this.close(flow, m.packetNo);
        flow = undefined;
        delta = 0;
      }
    }

    let created = false;
    if (flow === undefined) {
      if (!syn && len === 0) return Outcome.IGNORED;
      flow = this.create(hash, tag, buf, d, m);
      created = true;
    } else if (flow.tag < 0 && !this.mergeVlans) {
      flow.tag = tag; // the first tagged packet of a flow so far untagged: its VLAN from now on
    }

    flow.packets++;
    flow.lastSec = m.sec;
    flow.lastUsec = m.usec;
    // Stored on every packet: a store first reached once process() is optimised (a flow's
    // packet time crossing a second, late in a capture of a fast link) deoptimises it, and
    // recompiling this function is ~30 ms of a compiler thread each time.
    flow.idleFrom = m.sec > flow.idleFrom ? m.sec : flow.idleFrom;
    flow.lastPacket = m.packetNo;
    flow.len += m.origlen;
    flow.caplen += m.caplen;
    this.totalPackets++;

    if (syn) {
      if (flow.synCount === 0 && !created) {
        this.rebaseOnLateSyn(flow, d.seq);
        // The SYN's own data starts after its sequence number (a new flow places it at 0).
        delta = (d.seq + 1 - flow.nsn) | 0;
      }
      if (flow.synCount > 0 && (this.config.debugLevel ?? 0) >= 2) {
        this.config.onDebug?.(2, `Multiple SYNs (${flow.synCount + 1}) seen on connection ${flowLabel(flow)}`);
      }
      flow.synCount++;
      flow.direction = (flags & TH_ACK) ? Direction.SERVER_TO_CLIENT : Direction.CLIENT_TO_SERVER;
      if (len > 0) {
        flow.violations++;
        this.config.onViolation?.(flow, `TCP PROTOCOL VIOLATION: SYN with data! (length=${len})`);
      }
    }

    if (len > 0) {
      if (this.config.console) this.print(flow, buf, d.payloadOffset, len);
      else if (this.config.storing) this.store(flow, buf, d.payloadOffset, len, delta);
    }

    if ((flags & TH_RST) !== 0) {
      this.close(flow, m.packetNo);
      return Outcome.PROCESSED;
    }
    if ((flags & TH_FIN) !== 0 && flow.finCount++ === 0) {
      // Position just past the FIN's data, relative to the current write position
      // (the 64-bit form of tcpflow's (seq + len - isn - 1) mod 2^32).
      flow.finSize = flow.pos + ((d.seq + len - flow.nsn) | 0);
    }
    if (flow.finCount > 0 && flow.seen.size === flow.finSize) this.close(flow, m.packetNo);
    return Outcome.PROCESSED;
  }

  /**
   * End of input: close every remaining flow, oldest first (deterministic, spec B19), and
   * forget the closed ones (nothing can straggle in any more).
   */
  closeAll(): void {
    this.saved.clear();
    // One flow that cannot be written (disk full) must not keep the others from closing:
    // every flow is closed and reported, then the first error is raised.
    let first: unknown = null;
    for (const flow of this.openFlowList()) {
      try {
        this.close(flow, Infinity);
      } catch (e) {
        first ??= e;
      }
    }
    if (first !== null) throw first;
  }

  /** The open flows, oldest first. */
  openFlowList(): Flow[] {
    const open: Flow[] = [];
    for (const head of this.flows.values()) for (let f: Flow | null = head; f !== null; f = f.sibling) open.push(f);
    return open.sort((a, b) => a.firstPacket - b.firstPacket);
  }

  /** Open flows (tcpflow's flow map size). */
  get openFlows(): number {
    let n = 0;
    for (let b = 0; b < FLOW_BUCKETS; b++) n += this.inBucket[b];
    return n;
  }

  /** The open flow of the packet's 4-tuple (`hash`: its flowHash) the packet on `vlan` belongs to (src/flow/vlan.ts). */
  private find(buf: Uint8Array, d: DecodedPacket, hash: number, vlan: number): Flow | undefined {
    const head = this.flows.find(buf, d, hash);
    return this.mergeVlans ? head : flowOnVlan(head, vlan);
  }

  /**
   * Packet time: the first time after which some open flow may have been idle for longer
   * than -S tcp_timeout (Infinity when none can). expireIdle need only be called past it.
   */
  idleLimit(): number {
    return this.idle === null ? Infinity : this.idle.minKey() + this.timeout;
  }

  /**
   * -S tcp_timeout: close every flow with no packet for more than the timeout at packet
   * time `sec` (whole seconds, as tcpflow compares them), just before packet `packetNo`.
   * Called for every packet of the input, before it is processed (spec B17: a flow's own
   * late packet closes it too, and starts a new flow), whichever worker it belongs to.
   */
  expireIdle(sec: number, packetNo: number): void {
    const idle = this.idle;
    if (idle === null) return;
    const expired: Flow[] = [];
    for (let f = idle.idleBefore(sec - this.timeout); f !== null; f = idle.idleBefore(sec - this.timeout)) {
      idle.remove(f);
      expired.push(f);
    }
    // Records go out by (closing packet, first packet): the closing "packet" is the moment
    // before packetNo, so these sort before whatever that packet itself closes.
    expired.sort((a, b) => a.firstPacket - b.firstPacket);
    this.flowsTimedOut += expired.length;
    for (const f of expired) this.close(f, packetNo - 0.5);
  }

  close(flow: Flow, closePacket: number): void {
    const head = this.flows.findLike(flow) as Flow;
    const hash = flow.hash;
    const rest = unchain(head, flow);
    if (head === flow) {
      this.flows.remove(flow);
      if (rest !== null) this.flows.insert(rest, hash);
    }
    this.inBucket[flow.bucket]--;
    this.recency.remove(flow.bucket, flow);
    this.idle?.remove(flow);
    this.out.closed(flow, closePacket);
    // At the end of input nothing can straggle in any more; only placed bytes can be
    // compared with a straggler (console and -FX keep none).
    if (closePacket === Infinity || !this.config.storing) return;
    const sink = flow.sink;
    this.saved.add(flow, hash, sink === null ? null : sink.name, closePacket);
    this.saved.expire(closePacket);
  }

  private create(hash: number, tag: number, buf: Uint8Array, d: DecodedPacket, m: PacketMeta): Flow {
    const bucket = m.bucket;
    if (this.inBucket[bucket] >= this.bucketCap) {
      // The cap: a normal close (file, mtime, report record, saved flow) of the bucket's
      // least recently seen flow, reported as closed by this packet.
      this.flowsPurged++;
      this.close(this.recency.leastRecent(bucket) as Flow, m.packetNo);
    }
    const reverse = this.flows.findReverse(buf, d, reverseFlowHash(buf, d));
    const e = copyEndpoints(buf, d, reverse);
    const flow = new Flow(e.src, e.dst, d.sport, d.dport, d.vlan, e.mac, m.packetNo);
    flow.tag = this.mergeVlans ? -1 : tag;
    flow.isn = ((d.flags & TH_SYN) ? d.seq : d.seq - 1) | 0;
    flow.nsn = (flow.isn + 1) | 0;
    // Flow and session numbers come from packet numbers, which every worker count agrees
    // on (tcpflow's global creation counter would depend on how flows are sharded).
    flow.flowId = m.packetNo;
    flow.sessionId = (this.mergeVlans ? reverse : flowOnVlan(reverse, flow.tag))?.sessionId ?? m.packetNo;
    flow.startSec = m.sec;
    flow.startUsec = m.usec;
    flow.idleFrom = m.sec;
    this.idle?.add(flow);
    this.totalFlows++;
    // A new flow heads its 4-tuple's chain (the others are on other VLANs).
    const head = this.flows.find(buf, d, hash);
    if (head !== undefined) this.flows.remove(head);
    flow.sibling = head ?? null;
    this.flows.insert(flow, hash);
    flow.bucket = bucket;
    flow.lastPacket = m.packetNo; // seen now (process() sets it again)
    this.recency.add(bucket, flow);
    this.inBucket[bucket]++;
    if ((this.config.debugLevel ?? 0) >= 5) {
      this.config.onDebug?.(5, `new flow ${flowLabel(flow)}. path:  next seq num (nsn):${flow.nsn >>> 0}`);
    }
    return flow;
  }

  /** A bucket's open flows, least recently seen first (for tests and diagnostics). */
  bucketFlows(bucket: number): Flow[] {
    return this.recency.list(bucket);
  }

  /**
   * The flow's ISN was guessed from data seen before its SYN. If the SYN shows the
   * stream really starts earlier, make room in front instead of later dropping the
   * first bytes as violations (spec B28). Positions move with the shift, so the
   * packet's delta stays valid.
   */
  private rebaseOnLateSyn(flow: Flow, seq: number): void {
    const rel = (seq - flow.isn) | 0;
    if (rel < 0) this.shiftUp(flow, -rel);
  }

  /** Front insertion done right (spec B5): zero-filled gap, sizes and seen set moved. */
  private shiftUp(flow: Flow, shift: number): void {
    flow.sink?.shiftUp(shift, this.config.maxBytes);
    flow.isn = (flow.isn - shift) | 0;
    flow.pos += shift;
    if (flow.lastByte > 0) flow.lastByte += shift;
    flow.seen.shift(shift);
    if (flow.finCount > 0) flow.finSize += shift;
  }

  /** Console output: -b limits the bytes shown per flow, and the report's size counts them. */
  private print(flow: Flow, buf: Uint8Array, off: number, len: number): void {
    const max = this.config.maxBytes;
    const n = max < 0 ? len : Math.max(0, Math.min(len, max - flow.lastByte));
    if (n === 0) return;
    (flow.sink ??= this.out.open(flow)).write(flow.lastByte, buf, off, n);
    flow.lastByte += n;
  }

  /** tcpflow's store step (spec §3.4). */
  private store(flow: Flow, buf: Uint8Array, off: number, len: number, delta: number): void {
    let offset = flow.pos + delta;
    let inserted = false;
    if (offset < 0) {
      if (flow.synCount > 0) {
        flow.violations++;
        return;
      }
      // The ISN guess was wrong: these bytes belong in front of what is stored.
      this.shiftUp(flow, -offset);
      flow.outOfOrder++;
      offset = 0;
      inserted = true;
    }
    const max = this.config.maxBytes;
    const w = max < 0 ? len : offset >= max ? 0 : Math.min(len, max - offset);
    if (w < len && !flow.truncationLogged && (this.config.debugLevel ?? 0) >= 2) {
      // tcpflow prints this for every packet past -b: with -b 0, a line per packet of the capture.
      flow.truncationLogged = true;
      this.config.onDebug?.(2, `packet truncated by max_bytes_per_flow on ${flowLabel(flow)} (its later packets are not reported)`);
    }
    const sink = flow.sink ??= this.out.open(flow);
    if (!inserted && offset !== flow.pos) {
      if (delta === -1 && len === 1) return; // keepalive (spec B23: kept)
      if (delta < 0) flow.outOfOrder++;
    }
    sink.write(offset, buf, off, w);
    flow.seen.add(offset, offset + len);
    flow.pos = offset + len;
    flow.nsn = (flow.isn + 1 + flow.pos) | 0;
    if (flow.pos > flow.lastByte) flow.lastByte = flow.pos;
  }

  private isHarmlessStraggler(hash: number, tag: number, buf: Uint8Array, d: DecodedPacket, packetNo: number): boolean {
    const saved = this.saved;
    saved.expire(packetNo);
    let s = saved.find(buf, d, hash, ANY_VLAN);
    // A tagged straggler belongs to a flow closed on its VLAN, or to one that was never tagged.
    if (tag >= 0 && !this.mergeVlans && (s < 0 || saved.tagOfEntry(s) !== -1)) s = saved.find(buf, d, hash, tag);
    const name = s < 0 ? null : saved.nameOfEntry(s);
    if (name === null) return false;
    const pos = (d.seq - saved.isnOfEntry(s) - 1) >>> 0;
    const len = d.payloadLen, off = d.payloadOffset;
    const stored = this.out.readClosed(name, pos, len);
    if (stored.length !== len) return false;
    for (let i = 0; i < len; i++) if (stored[i] !== buf[off + i]) return false;
    return true;
  }
}

