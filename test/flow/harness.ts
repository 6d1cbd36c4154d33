/**
 * Drives TcpDemux the way the shard processor does (decodeFrame, then process) over
 * frames built with the packet helpers, with an in-memory output.
 */
import { decodeFrame, LINKTYPE } from '../../src/decode/link';
import { newDecodedPacket, Verdict } from '../../src/decode/packet';
import { DemuxConfig, DEFAULT_MAX_SEEK, Outcome, PacketMeta, TcpDemux } from '../../src/flow/tcpdemux';
import type { Flow } from '../../src/flow/flow';
import type { FlowOutput } from '../../src/flow/sink';
import { MemoryOutput } from '../helpers/memory-output';
import { ACK, Bytes, MAC_CLIENT, MAC_SERVER, ether, ipv4, ipv6, tcp } from '../helpers/packets';

export const C2S = '010.000.000.001.40000-010.000.000.002.00080';
export const S2C = '010.000.000.002.00080-010.000.000.001.40000';
export const CISN = 1000;
export const SISN = 5000;
export const T0 = 1000000000;

export interface SendOpts {
  dlt?: number;
  /** Captured length (default: the whole frame). */
  caplen?: number;
  /** Wire length (default: caplen). */
  origlen?: number;
  finishing?: boolean;
}

export interface SegSpec {
  seq: number;
  flags?: number;
  payload?: Bytes;
}

export class Harness {
  readonly out: MemoryOutput;
  readonly demux: TcpDemux;
  readonly violations: string[] = [];
  private readonly d = newDecodedPacket();
  packetNo = 0;
  v6 = false;
  /** An 802.1Q tag with this TCI on the frames sent (undefined: untagged), unless `tags` is set. */
  vlan: number | undefined;
  /** The whole VLAN stack of the frames sent, outermost first (wins over `vlan`). */
  tags: { tpid: number; tci: number }[] | undefined;
  /** Client and server ports (the 4-tuple; change them to run many connections in one demux). */
  cport = 40000;
  sport = 80;
  /** Flow bucket of the packets sent (the coordinator's hash in a real run). */
  bucket = 0;

  /** `output`: where flows go instead of `out` (the real flow end, say). */
  constructor(cfg: Partial<DemuxConfig> = {}, template?: string, output?: FlowOutput) {
    this.out = new MemoryOutput(template);
    this.demux = new TcpDemux({
      maxSeek: DEFAULT_MAX_SEEK,
      maxBytes: -1,
      storing: true,
      savedWindow: 1000,
      onViolation: (_f, msg) => this.violations.push(msg),
      ...cfg,
    }, output ?? this.out);
  }

  /** Decode one frame and hand it to the demultiplexer; null when it is not a TCP segment. */
  send(frame: Uint8Array, o: SendOpts = {}): Outcome | null {
    const caplen = o.caplen ?? frame.length;
    const n = this.packetNo++;
    if (decodeFrame(frame, 0, caplen, o.dlt ?? LINKTYPE.EN10MB, this.d) !== Verdict.TCP) return null;
    const m: PacketMeta = {
      caplen, origlen: o.origlen ?? caplen, sec: T0 + Math.floor(n / 1000), usec: 1000 * (n % 1000) + 1,
      packetNo: n, finishing: o.finishing ?? false, bucket: this.bucket,
    };
    return this.demux.process(frame, this.d, m);
  }

  frame(fromClient: boolean, s: SegSpec): Uint8Array {
    const seg = tcp({
      sport: fromClient ? this.cport : this.sport, dport: fromClient ? this.sport : this.cport,
      seq: s.seq >>> 0, flags: s.flags ?? ACK, payload: s.payload ?? [],
    });
    const ip = this.v6
      ? ipv6(seg, { src: fromClient ? '2001:db8::1' : '2001:db8::2', dst: fromClient ? '2001:db8::2' : '2001:db8::1' })
      : ipv4(seg, { src: fromClient ? '10.0.0.1' : '10.0.0.2', dst: fromClient ? '10.0.0.2' : '10.0.0.1' });
    const tags = this.tags ?? (this.vlan === undefined ? [] : [{ tpid: 0x8100, tci: this.vlan }]);
    return ether(ip, { src: fromClient ? MAC_CLIENT : MAC_SERVER, dst: fromClient ? MAC_SERVER : MAC_CLIENT, tags });
  }

  client(s: SegSpec, o?: SendOpts): Outcome | null {
    return this.send(this.frame(true, s), o);
  }

  server(s: SegSpec, o?: SendOpts): Outcome | null {
    return this.send(this.frame(false, s), o);
  }

  /** Client data at relative offset `rel` of a stream with ISN `isn`. */
  cdata(rel: number, payload: Bytes, flags = ACK, isn = CISN): Outcome | null {
    return this.client({ seq: isn + 1 + rel, flags, payload });
  }

  sdata(rel: number, payload: Bytes, flags = ACK, isn = SISN): Outcome | null {
    return this.server({ seq: isn + 1 + rel, flags, payload });
  }

  /** Default file names of the two directions for the current ports and family. */
  names(): { c2s: string; s2c: string } {
    const p5 = (n: number) => String(n).padStart(5, '0');
    const [ca, sa] = this.v6 ? ['2001:db8::1', '2001:db8::2'] : ['010.000.000.001', '010.000.000.002'];
    return {
      c2s: `${ca}.${p5(this.cport)}-${sa}.${p5(this.sport)}`,
      s2c: `${sa}.${p5(this.sport)}-${ca}.${p5(this.cport)}`,
    };
  }

  finish(): void {
    this.demux.closeAll();
  }

  /** The open flow of a file name, if any. */
  flowNamed(name: string): Flow | undefined {
    for (const f of this.demux.openFlowList()) if (f.sink?.name === name) return f;
    return undefined;
  }

  /** The closed record of a file name (throws if it has not been closed). */
  closedNamed(name: string) {
    const r = this.out.closedFlows.find((c) => c.name === name);
    if (r === undefined) throw new Error(`${name} not closed; closed: ${this.out.closedFlows.map((c) => c.name).join(', ')}`);
    return r;
  }

  text(name: string): string {
    return this.out.text(name);
  }
}

export const z = (n: number) => '\0'.repeat(n);
