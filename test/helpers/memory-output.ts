/**
 * An in-memory FlowOutput for reassembly tests: every flow file is a growable byte
 * array (writes past the end leave zero-filled holes, as a sparse file reads), names
 * come from the real Template with tcpflow's disk-style counter (the first count whose
 * name is not taken yet), and closed flows are recorded in close order.
 */
import type { Flow } from '../../src/flow/flow';
import type { FlowOutput, SavedFlow } from '../../src/flow/tcpdemux';
import { DEFAULT_TEMPLATE, Template } from '../../src/output/template';

/** A sparse-file look-alike. */
export class MemFile {
  private buf = new Uint8Array(64);
  length = 0;

  write(pos: number, data: Uint8Array): void {
    if (data.length === 0) return; // like pwrite(2): writing nothing does not extend a file
    const end = pos + data.length;
    if (end > this.buf.length) {
      const nb = new Uint8Array(Math.max(end, this.buf.length * 2));
      nb.set(this.buf.subarray(0, this.length));
      this.buf = nb;
    }
    // A write past the end leaves a hole; the buffer is zeroed there already, except
    // for bytes a shift or an earlier longer content may have left, so clear them.
    if (pos > this.length) this.buf.fill(0, this.length, pos);
    this.buf.set(data, pos);
    if (end > this.length) this.length = end;
  }

  /** Move everything up by `shift`, zero-filling the front; nothing at or past `limit` (-1: none). */
  shiftUp(shift: number, limit = -1): void {
    const all = this.bytes();
    const old = limit < 0 ? all : all.subarray(0, Math.max(0, Math.min(all.length, limit - shift)));
    const length = old.length > 0 ? old.length + shift : limit < 0 ? shift : Math.min(shift, limit);
    this.buf = new Uint8Array(Math.max(64, length));
    this.buf.set(old, shift);
    this.length = length;
  }

  /** [pos, pos+len) as a read would return it (short at the end). */
  read(pos: number, len: number): Uint8Array {
    if (pos >= this.length) return new Uint8Array(0);
    return this.buf.slice(pos, Math.min(this.length, pos + len));
  }

  bytes(): Uint8Array {
    return this.buf.slice(0, this.length);
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

export class MemoryOutput implements FlowOutput {
  readonly template: Template;
  /** Every file created, by name, in creation order. */
  readonly files = new Map<string, MemFile>();
  readonly closedFlows: ClosedRecord[] = [];
  /** Calls to open(), in order, by file name after the call. */
  readonly opens: string[] = [];
  readonly shifts: { name: string; shift: number }[] = [];
  touches = 0;
  savedChecks = 0;

  constructor(template: string = DEFAULT_TEMPLATE, private readonly prefix = '') {
    this.template = new Template(template);
  }

  open(flow: Flow): void {
    if (flow.file.path === null) {
      for (let count = 0; ; count++) {
        const name = this.prefix + this.template.expand(flow, count);
        if (count > 100000) throw new Error(`template ${this.template.source} never yields a free name`);
        if (!this.files.has(name)) {
          this.files.set(name, new MemFile());
          flow.file.path = name;
          break;
        }
      }
    }
    this.opens.push(flow.file.path);
  }

  private fileOf(flow: Flow): MemFile {
    const p = flow.file.path;
    const f = p === null ? undefined : this.files.get(p);
    if (f === undefined) throw new Error(`write to a flow without a file (${flow.key})`);
    return f;
  }

  write(flow: Flow, pos: number, data: Uint8Array, off: number, len: number): void {
    if (len < 0 || off < 0 || off + len > data.length) throw new Error(`bad write range ${off}+${len}/${data.length}`);
    if (pos < 0) throw new Error(`negative write position ${pos}`);
    this.fileOf(flow).write(pos, data.slice(off, off + len));
  }

  shiftUp(flow: Flow, shift: number, limit: number): void {
    if (!(shift > 0)) throw new Error(`bad shift ${shift}`);
    this.fileOf(flow).shiftUp(shift, limit);
    this.shifts.push({ name: flow.file.path as string, shift });
  }

  touch(_flow: Flow): void {
    this.touches++;
  }

  savedEquals(saved: SavedFlow, pos: number, data: Uint8Array, off: number, len: number): boolean {
    this.savedChecks++;
    if (saved.path === null) return false;
    const f = this.files.get(saved.path);
    if (f === undefined) return false;
    const got = f.read(pos, len);
    if (got.length !== len) return false;
    for (let i = 0; i < len; i++) if (got[i] !== data[off + i]) return false;
    return true;
  }

  closed(flow: Flow, closePacket: number): void {
    const name = flow.file.path;
    const f = name === null ? undefined : this.files.get(name);
    this.closedFlows.push({ flow, name, closePacket, data: f ? f.bytes() : null });
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
