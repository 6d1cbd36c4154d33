import type { Chunk } from '../capture/chunk';
import { CHUNK_RECORDS } from '../capture/chunk';
import type { DecodedPacket } from '../decode/packet';
import { copyEndpoints, flowKey, reverseFlowKey } from '../flow/key';
import { flowOnVlan, type VlanChained } from '../flow/vlan';
import { FlowFile, FlowFileStore } from './flow-files';
import { PCAP_MAX_SNAPLEN, PCAP_RECORD_HEADER, pcapFileHeader, putRecordHeader } from './pcap-file';
import { NamingFlow, outdirPrefix, Template } from './template';

/** tcpflow's -K snapshot length; raised in the header at close if a longer record was kept. */
const KEEP_SNAPLEN = 65535;

/** One direction's pcap: its name parts (as for a flow file), file and write position. */
class KeptFlow implements NamingFlow {
  file: FlowFile | null = null;
  pos = 0;
  maxCaplen = 0;
  constructor(
    readonly src: Uint8Array, readonly dst: Uint8Array, readonly sport: number, readonly dport: number,
    readonly vlan: number, readonly mac: Uint8Array | null, readonly startSec: number,
    readonly flowId: number, readonly sessionId: number, readonly linktype: number,
  ) {}
}

/** A direction of a 4-tuple on one VLAN (src/flow/vlan.ts) and the pcap its frames go to. */
class KeptEntry implements VlanChained<KeptEntry> {
  sibling: KeptEntry | null = null;
  constructor(public tag: number, public lastPacket: number, readonly kept: KeptFlow) {}
}

export interface FlowPcapsConfig {
  outdir: string;
  template: string;
  maxOpenFiles: number;
  /** -S vlan_key=0: one pcap per 4-tuple direction whatever its VLANs (tcpflow). */
  mergeVlans?: boolean;
}

/**
 * -K: instead of reassembling, every TCP frame is appended as it was captured to a pcap
 * per direction, named like the flow file with `.pcap` added (connection count 0; an
 * existing file is overwritten, as in tcpflow). The header carries the input's own link
 * type (spec B12 fixed). Frames are written without copying: record headers go to a
 * per-chunk arena and both are queued as views until the chunk is done.
 */
export class FlowPcaps {
  /** By directional 4-tuple: its chain of entries on different VLANs. */
  private readonly flows = new Map<string, KeptEntry>();
  private readonly mergeVlans: boolean;
  /** Keys whose names coincide (a template without ports, say) share one pcap. */
  private readonly byPath = new Map<string, KeptFlow>();
  /** Frames left out because their link type differs from their pcap's (pcapng with mixed interfaces). */
  mismatched = 0;
  readonly store: FlowFileStore;
  private readonly template: Template;
  private readonly prefix: string;
  private readonly headers = new Uint8Array(PCAP_RECORD_HEADER * CHUNK_RECORDS);
  private used = 0;

  constructor(config: FlowPcapsConfig) {
    this.store = new FlowFileStore(config.maxOpenFiles);
    this.template = new Template(config.template);
    this.prefix = outdirPrefix(config.outdir);
    this.mergeVlans = config.mergeVlans ?? false;
  }

  get count(): number {
    return this.byPath.size;
  }

  /**
   * Record `i` of the chunk, decoded into `d`. While -R files are read (`finishing`) only
   * directions already seen get packets. `sec` is the naming time (with tdelta); the record
   * keeps the capture's own timestamp.
   */
  add(chunk: Chunk, i: number, d: DecodedPacket, packetNo: number, sec: number, finishing: boolean): void {
    const data = chunk.data;
    const key = flowKey(data, d);
    const head = this.flows.get(key);
    let e = this.mergeVlans ? head : flowOnVlan(head, d.vlan);
    if (e === undefined) {
      if (finishing) return;
      e = new KeptEntry(this.mergeVlans ? -1 : d.vlan, packetNo, this.create(chunk, i, d, packetNo, sec));
      e.sibling = head ?? null;
      this.flows.set(key, e);
    } else if (e.tag < 0 && !this.mergeVlans) {
      e.tag = d.vlan;
    }
    e.lastPacket = packetNo;
    const f = e.kept;
    if (chunk.linktype[i] !== f.linktype) {
      this.mismatched++;
      return;
    }
    const caplen = chunk.caplen[i];
    const h = this.used;
    this.used += PCAP_RECORD_HEADER;
    putRecordHeader(this.headers, h, chunk.sec[i], chunk.usec[i], caplen, chunk.origlen[i]);
    const file = f.file as FlowFile;
    file.write(f.pos, this.headers, h, PCAP_RECORD_HEADER);
    file.write(f.pos + PCAP_RECORD_HEADER, data, chunk.offset[i], caplen);
    f.pos += PCAP_RECORD_HEADER + caplen;
    if (caplen > f.maxCaplen) f.maxCaplen = caplen;
  }

  /** The chunk is done: write out what points into it and into the header arena. */
  flushAll(): void {
    this.store.flushAll();
    this.used = 0;
  }

  /** Close every file (all of them, then the first error is raised). */
  closeAll(): void {
    let first: unknown = null;
    for (const f of this.byPath.values()) {
      const file = f.file as FlowFile;
      try {
        if (f.maxCaplen > KEEP_SNAPLEN) {
          const snap = new Uint8Array(4);
          new DataView(snap.buffer).setUint32(0, Math.max(f.maxCaplen, PCAP_MAX_SNAPLEN), true);
          file.write(16, snap, 0, 4);
        }
        file.close();
      } catch (e) {
        first ??= e;
      }
    }
    if (first !== null) throw first;
  }

  private create(chunk: Chunk, i: number, d: DecodedPacket, packetNo: number, sec: number): KeptFlow {
    const data = chunk.data;
    const e = copyEndpoints(data, d);
    const reverseHead = this.flows.get(reverseFlowKey(data, d));
    const reverse = (this.mergeVlans ? reverseHead : flowOnVlan(reverseHead, d.vlan))?.kept;
    const f = new KeptFlow(e.src, e.dst, d.sport, d.dport, d.vlan, e.mac, sec, packetNo, reverse?.sessionId ?? packetNo, chunk.linktype[i]);
    const p = this.prefix + this.template.expand(f, 0) + '.pcap';
    const same = this.byPath.get(p);
    if (same !== undefined) return same;
    this.byPath.set(p, f);
    f.file = this.store.createTruncated(p);
    const header = pcapFileHeader(f.linktype, KEEP_SNAPLEN);
    f.file.write(0, header, 0, header.length);
    f.pos = header.length;
    return f;
  }
}
