/**
 * Live capture from a network interface through libpcap (node_pcap), in the coordinator
 * thread. Packets arrive in libpcap's callback, whenever the socket is readable, and are
 * copied into a small ring of staging chunks; fill() hands the coordinator a staged chunk
 * once it is full or has waited FLUSH_MS, so a quiet link still reaches its flow files
 * promptly and a busy one moves in 4 MiB chunks. When the workers fall behind, every
 * staging chunk fills up and further packets are dropped here and counted (the kernel
 * drops too once its buffer is full): memory stays flat whatever the link does.
 */
import { allocChunk, CHUNK_BYTES, type Chunk } from './chunk';
import type { CaptureInterface } from './reader';
import type { PacketSource } from './source';
import { type BindingSession, libpcap, linktypeOf, pcapMessage, release } from './libpcap';
import { EXIT, TcpflowError } from '../errors';

/** libpcap's own default snapshot length: whole packets, even GRO-merged ones. */
export const LIVE_SNAPLEN = 262144;
/** The kernel's capture buffer (libpcap's default is 2 MiB: a burst overruns it quickly). */
const KERNEL_BUFFER = 32 * 1024 * 1024;
/** How long a packet may wait in a staging chunk before it is handed on. */
export const FLUSH_MS = 100;
const STAGES = 4;

export interface LiveOptions {
  device: string;
  promiscuous: boolean;
  /** Filter expression ('' for none). */
  filter: string;
  /** libpcap's read timeout (-S packet-buffer-timeout), ms. */
  timeoutMs: number;
}

/** What a live capture saw and lost, for the report and the end-of-run line. */
export interface CaptureStats {
  interface: string;
  /** Packets libpcap passed to us. */
  captured: number;
  /** pcap_stats: received by the filter, dropped by the kernel (buffer full), dropped by the interface. */
  received: number;
  dropped: number;
  ifdropped: number;
  /** Dropped here because every staging chunk was full (the workers fell behind). */
  backlogDropped: number;
}

function opensWithoutFilter(probe: BindingSession, opts: LiveOptions): boolean {
  const noop = (): void => undefined;
  try {
    probe.open_live(opts.device, '', KERNEL_BUFFER, LIVE_SNAPLEN, '', noop, false, opts.timeoutMs, noop, false);
  } catch {
    return false;
  }
  release(probe);
  return true;
}

export class LiveSource implements PacketSource {
  readonly firstInterface: CaptureInterface;
  private readonly session: BindingSession;
  private readonly stages: Chunk[] = Array.from({ length: STAGES }, () => allocChunk(CHUNK_BYTES));
  private readonly used = new Int32Array(STAGES);
  private head = 0;
  private tail = 0;
  private readonly buf = Buffer.alloc(LIVE_SNAPLEN);
  private readonly header = Buffer.alloc(16);
  private readonly hdr = new Uint32Array(this.header.buffer, this.header.byteOffset, 4);
  private flushDue = false;
  private timer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;
  private stopped = false;
  private closed = false;
  private failure: TcpflowError | null = null;
  private final: CaptureStats | null = null;
  captured = 0;
  private backlogDropped = 0;

  private constructor(readonly name: string, opts: LiveOptions) {
    const pcap = libpcap('live capture (-i)');
    this.session = pcap.newSession();
    let type: string;
    try {
      type = this.session.open_live(opts.device, opts.filter, KERNEL_BUFFER, LIVE_SNAPLEN, '', () => this.onPacket(),
        false, opts.timeoutMs, () => undefined, opts.promiscuous);
    } catch (e) {
      const msg = pcapMessage(e);
      // libpcap's message for an expression it cannot compile stands alone (tcpflow prints it
      // as it is); one about the device names it. Which it was: the device opens without it.
      if (opts.filter !== '' && opensWithoutFilter(pcap.newSession(), opts)) throw new TcpflowError('FILTER', msg, EXIT.INPUT);
      throw new TcpflowError('LIVE', `${opts.device}: ${msg}`, EXIT.INPUT);
    }
    this.firstInterface = { linktype: linktypeOf(type), snaplen: LIVE_SNAPLEN };
    this.session.read_callback = () => this.drain();
    this.session.start_polling();
  }

  /** Open `opts.device` (libpcap's message on failure) and start reading. */
  static open(opts: LiveOptions): LiveSource {
    return new LiveSource(opts.device, opts);
  }

  /** Whatever libpcap has now. */
  private drain(): void {
    if (this.closed) return;
    const r = this.session.dispatch(this.buf, this.header);
    if (r === -1 && this.failure === null) {
      this.failure = new TcpflowError('LIVE', `${this.name}: libpcap stopped reading (the interface went down or away)`, EXIT.INPUT);
      this.notify();
    }
  }

  private onPacket(): void {
    this.captured++;
    const caplen = Math.min(this.hdr[2], LIVE_SNAPLEN);
    let stage = this.stages[this.tail];
    let at = this.used[this.tail];
    if (at + caplen > stage.data.length || stage.count === stage.offset.length) {
      const next = (this.tail + 1) % STAGES;
      // The next stage is free only when empty and not the head (still waiting to be handed on).
      if (next === this.head || this.stages[next].count > 0) {
        this.backlogDropped++;
        return;
      }
      this.tail = next;
      stage = this.stages[next];
      at = 0;
      this.notify(); // a full stage is ready
    }
    const i = stage.count++;
    this.buf.copy(stage.data, at, 0, caplen);
    stage.offset[i] = at;
    stage.caplen[i] = caplen;
    stage.origlen[i] = this.hdr[3];
    stage.sec[i] = this.hdr[0];
    stage.usec[i] = this.hdr[1];
    stage.linktype[i] = this.firstInterface.linktype;
    this.used[this.tail] = at + caplen;
    if (this.timer === null) this.timer = setTimeout(() => { this.timer = null; this.flushDue = true; this.notify(); }, FLUSH_MS);
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  async fill(chunk: Chunk): Promise<number | null> {
    for (;;) {
      const h = this.head;
      const stage = this.stages[h];
      const complete = h !== this.tail;
      if (stage.count > 0 && (complete || this.flushDue || this.stopped || this.failure !== null)) {
        const n = stage.count;
        const bytes = this.used[h];
        chunk.data.set(stage.data.subarray(0, bytes));
        chunk.offset.set(stage.offset.subarray(0, n));
        chunk.caplen.set(stage.caplen.subarray(0, n));
        chunk.origlen.set(stage.origlen.subarray(0, n));
        chunk.sec.set(stage.sec.subarray(0, n));
        chunk.usec.set(stage.usec.subarray(0, n));
        chunk.linktype.set(stage.linktype.subarray(0, n));
        chunk.count = n;
        stage.count = 0;
        this.used[h] = 0;
        if (complete) this.head = (h + 1) % STAGES;
        else this.flushDue = false;
        return n;
      }
      if (this.failure !== null) throw this.failure;
      if (this.stopped) return null;
      await new Promise<void>((resolve) => { this.wake = resolve; });
    }
  }

  /** Stop reading (a signal): what libpcap still holds is taken, then fill() runs dry. */
  stop(): void {
    if (this.stopped) return;
    this.drain();
    this.final = this.readStats();
    this.stopped = true;
    this.notify();
  }

  /** Counters so far (the final ones once stopped). */
  stats(): CaptureStats {
    return this.final ?? this.readStats();
  }

  private readStats(): CaptureStats {
    let s = { ps_recv: 0, ps_drop: 0, ps_ifdrop: 0 };
    try {
      if (!this.closed) s = this.session.stats();
    } catch {
      // the handle is gone: counters unknown
    }
    return { interface: this.name, captured: this.captured, received: s.ps_recv, dropped: s.ps_drop, ifdropped: s.ps_ifdrop, backlogDropped: this.backlogDropped };
  }

  close(): void {
    if (this.closed) return;
    this.final ??= this.readStats();
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    release(this.session);
  }
}
