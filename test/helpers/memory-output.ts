/**
 * In-memory flow sinks for reassembly tests: every flow file is a sparse MemFile (writes
 * past the end leave zero-filled holes, as a sparse file reads), names come from the real
 * Template with tcpflow's disk-style counter (the first count whose name is not taken
 * yet), and closed flows are recorded in close order. As a FlowOutput it stands in for the
 * worker's whole flow end (demultiplexer tests); as a SinkFactory it stands in for the
 * flow files only (the fuzzer runs the real flow end, scanners and records around it).
 */
import type { Flow } from '../../src/flow/flow';
import type { FlowOutput, FlowSink, SinkFactory } from '../../src/flow/sink';
import { DEFAULT_TEMPLATE, Template } from '../../src/output/template';

const PAGE = 16384;

/**
 * A sparse-file look-alike: bytes live in pages of up to 16 KiB, only where something
 * was written, so a sequence jump of megabytes costs nothing (hostile input makes many).
 */
export class MemFile {
  private pages = new Map<number, Uint8Array>();
  length = 0;

  write(pos: number, data: Uint8Array): void {
    if (data.length === 0) return; // like pwrite(2): writing nothing does not extend a file
    for (let done = 0; done < data.length;) {
      const at = pos + done;
      const index = Math.floor(at / PAGE), off = at - index * PAGE;
      const n = Math.min(PAGE - off, data.length - done);
      let page = this.pages.get(index);
      if (page === undefined || page.length < off + n) {
        // Pages grow as needed: most flows are much smaller than a page.
        const grown = new Uint8Array(Math.min(PAGE, Math.max(off + n, 2 * (page?.length ?? 0), 256)));
        if (page !== undefined) grown.set(page);
        this.pages.set(index, (page = grown));
      }
      page.set(data.subarray(done, done + n), off);
      done += n;
    }
    if (pos + data.length > this.length) this.length = pos + data.length;
  }

  /** Move everything up by `shift`, zero-filling the front; nothing at or past `limit` (-1: none). */
  shiftUp(shift: number, limit = -1): void {
    const keep = limit < 0 ? this.length : Math.max(0, Math.min(this.length, limit - shift));
    const old = this.extents(0, keep);
    this.pages = new Map();
    const length = keep > 0 ? keep + shift : limit < 0 ? shift : Math.min(shift, limit);
    for (const [at, bytes] of old) this.write(at + shift, bytes);
    this.length = length;
  }

  /**
   * The stored (possibly non-zero) parts of [from, to), in order, as (position, bytes)
   * views; everything else reads as zeros.
   */
  extents(from = 0, to = this.length): [number, Uint8Array][] {
    const out: [number, Uint8Array][] = [];
    const indexes = [...this.pages.keys()].sort((x, y) => x - y);
    for (const index of indexes) {
      const start = Math.max(from, index * PAGE), end = Math.min(to, (index + 1) * PAGE);
      if (start >= end) continue;
      const page = this.pages.get(index) as Uint8Array;
      const a = start - index * PAGE, b = Math.min(end - index * PAGE, page.length);
      if (a < b) out.push([start, page.subarray(a, b)]);
    }
    return out;
  }

  /** [pos, pos+len) as a read would return it (short at the end). */
  read(pos: number, len: number): Uint8Array {
    if (pos >= this.length) return new Uint8Array(0);
    const end = Math.min(this.length, pos + len);
    const out = new Uint8Array(end - pos);
    for (const [at, bytes] of this.extents(pos, end)) out.set(bytes, at - pos);
    return out;
  }

  bytes(): Uint8Array {
    return this.read(0, this.length);
  }

  /** Same length and content (pages never written compare as zeros). */
  equals(other: MemFile): boolean {
    if (this.length !== other.length) return false;
    for (const index of new Set([...this.pages.keys(), ...other.pages.keys()])) {
      const a = this.pages.get(index), b = other.pages.get(index);
      const n = Math.max(a?.length ?? 0, b?.length ?? 0);
      for (let i = 0; i < n; i++) if ((a?.[i] ?? 0) !== (b?.[i] ?? 0)) return false;
    }
    return true;
  }
}

export interface ClosedRecord {
  flow: Flow;
  /** The file name, or null when no file was created. */
  name: string | null;
  closePacket: number;
  /** File content at close time (a copy). */
  data: Uint8Array | null;
}

/** One flow's file in memory. */
export class MemSink implements FlowSink {
  closed = false;

  constructor(protected readonly owner: MemoryOutput, readonly flow: Flow, readonly name: string, readonly file: MemFile) {}

  write(pos: number, data: Uint8Array, off: number, len: number): void {
    if (this.closed) throw new Error(`write to ${this.name} after its close`);
    if (len < 0 || off < 0 || off + len > data.length) throw new Error(`bad write range ${off}+${len}/${data.length}`);
    if (pos < 0) throw new Error(`negative write position ${pos}`);
    this.file.write(pos, data.subarray(off, off + len));
  }

  shiftUp(shift: number, limit: number): void {
    if (!(shift > 0)) throw new Error(`bad shift ${shift}`);
    this.file.shiftUp(shift, limit);
    this.owner.shifts.push({ name: this.name, shift });
  }

  read(pos: number, len: number): Uint8Array {
    if (this.closed) this.owner.savedChecks++;
    return this.file.read(pos, len);
  }

  close(): void {
    this.closed = true;
  }
}

export class MemoryOutput implements FlowOutput, SinkFactory {
  readonly template: Template;
  /** Every file created, by name, in creation order. */
  readonly files = new Map<string, MemFile>();
  readonly closedFlows: ClosedRecord[] = [];
  /** Sinks asked for, in order, by file name. */
  readonly opens: string[] = [];
  readonly shifts: { name: string; shift: number }[] = [];
  /** Reads of closed flows' content (straggler checks, or a scanner reading after the close). */
  savedChecks = 0;

  constructor(template: string = DEFAULT_TEMPLATE, private readonly prefix = '') {
    this.template = new Template(template);
  }

  /** A free name for the flow (tcpflow's disk-style counter). */
  protected claimName(flow: Flow): string {
    for (let count = 0; ; count++) {
      const name = this.prefix + this.template.expand(flow, count);
      if (count > 100000) throw new Error(`template ${this.template.source} never yields a free name`);
      if (!this.files.has(name)) return name;
    }
  }

  open(flow: Flow): FlowSink {
    const name = this.claimName(flow);
    const file = new MemFile();
    this.files.set(name, file);
    this.opens.push(name);
    return new MemSink(this, flow, name, file);
  }

  nameOf(): null {
    return null;
  }

  readClosed(name: string, pos: number, len: number): Uint8Array {
    this.savedChecks++;
    return this.files.get(name)?.read(pos, len) ?? new Uint8Array(0);
  }

  closed(flow: Flow, closePacket: number): void {
    const sink = flow.sink as MemSink | null;
    sink?.close();
    this.closedFlows.push({ flow, name: sink?.name ?? null, closePacket, data: sink !== null ? sink.file.bytes() : null });
  }

  /** The content of a file by name (throws if there is none). */
  content(name: string): Uint8Array {
    const f = this.files.get(name);
    if (f === undefined) throw new Error(`no file ${name}; have: ${[...this.files.keys()].join(', ')}`);
    return f.bytes();
  }

  /** Content as a latin1 string, holes as '\0'. */
  text(name: string): string {
    return Buffer.from(this.content(name)).toString('latin1');
  }

  names(): string[] {
    return [...this.files.keys()];
  }
}
