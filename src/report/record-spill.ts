import * as fs from 'node:fs';
import { strerror } from '../util/strerror';
import { freeSpace } from '../util/disk';
import { decodeRecord, encodeRecord, type FlowRecord, type RecordOutput } from './flow-record';

/**
 * Per-worker spill file of flow records, one line each (encodeRecord), tagged with its
 * sort key (the packet that closed the flow, then the packet that created it). A worker closes
 * flows in increasing key order, so each file is sorted and the coordinator merges them
 * in one streaming pass and renders them: memory stays flat however many flows there are.
 *
 * When a spill write fails (a full disk), the file keeps the whole records written
 * before, and every later record is held in memory instead (up to HOLD_LIMIT, then only
 * counted) and travels back with the worker's result: a full disk costs no report
 * records as long as the report itself can still be written.
 */
const FLUSH_AT = 256 * 1024;
/** Flows still open at the end of input sort after every flow closed during the run. */
export const END_OF_INPUT = Number.MAX_SAFE_INTEGER;
/** Characters of records one worker holds in memory after its spill file failed (~64 MiB). */
export const HOLD_LIMIT = 64 * 1024 * 1024;
/** Free space below which spill lines are padded to the room their records take in the reports. */
const LOW_WATER = 64 * 1024 * 1024;

/**
 * Bytes the enabled reports need for one record, at most, from the length of its spill
 * line (the same values; the rest is markup and escaping): perChar × length + perRecord.
 */
export interface RecordRoom {
  perChar: number;
  perRecord: number;
}

/** Padding: a line that starts with a space (a record's line starts with its close packet). */
const SPACE = 0x20;

/** What a writer could not spill: its records after the spill file's last good one. */
export interface HeldRecords {
  /** The spill file these records follow (null: there is none, every record is held). */
  path: string | null;
  /** Bytes of whole records in the spill file; anything after them is a torn write. */
  spilled: number;
  /** The records held in memory, in the spill file's format and order. */
  text: string;
  /** Records neither spilled nor held (beyond HOLD_LIMIT). */
  dropped: number;
  /** Why spilling stopped, naming the spill file. */
  error: string;
}

interface Held {
  text: string[];
  size: number;
  dropped: number;
  error: string;
}

/**
 * A worker's spill. On a file system that is running out of space, each record's line is
 * followed by padding up to the room its record takes in the reports (`room`): the spill
 * then takes as much disk as the reports will need, and deleting it at the end makes room
 * for them, however full the flow files leave the disk.
 */
export class RecordSpill implements RecordOutput {
  private fd = -1;
  /**
   * Lines not yet written, as bytes: encoded as they come, rather than kept as one
   * growing string whose thousands of pieces would outlive young-generation GCs.
   */
  private buf = Buffer.allocUnsafe(FLUSH_AT);
  private bufLen = 0;
  private bufCount = 0;
  private spilled = 0;
  private held: Held | null = null;
  private holdLimit: number;
  private readonly room: RecordRoom | null;
  private padding = false;
  count = 0;

  /** `path` null: no spill file, every record is held in memory (in-process runs, the fuzzer). */
  constructor(readonly path: string | null, opts: { room?: RecordRoom; holdLimit?: number } = {}) {
    this.holdLimit = opts.holdLimit ?? HOLD_LIMIT;
    this.room = opts.room ?? null;
    if (path === null) {
      this.held = { text: [], size: 0, dropped: 0, error: '' };
      this.holdLimit = Infinity;
      return;
    }
    try {
      this.fd = fs.openSync(path, 'w', 0o600);
    } catch (e) {
      this.stopSpilling(e);
    }
    this.checkSpace();
  }

  add(closePacket: number, firstPacket: number, record: FlowRecord): void {
    const close = closePacket === Infinity ? END_OF_INPUT : closePacket;
    const line = `${close} ${firstPacket} ${encodeRecord(record)}\n`;
    this.append(line);
    if (this.padding) {
      const room = this.room as RecordRoom;
      const pad = room.perChar * line.length + room.perRecord - line.length;
      if (pad > 1) this.append(' '.repeat(pad - 1) + '\n');
    }
    this.count++;
    this.bufCount++;
  }

  private append(text: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    const most = 3 * text.length;
    if (this.bufLen + most > this.buf.length) {
      this.flush();
      if (most > this.buf.length) this.buf = Buffer.allocUnsafe(most);
    }
    this.bufLen += this.buf.write(text, this.bufLen);
  }

  private checkSpace(): void {
    this.padding = this.room !== null && this.held === null && this.path !== null && freeSpace(this.path) < LOW_WATER;
  }

  flush(): void {
    const n = this.bufLen;
    if (n === 0) return;
    if (this.held === null) {
      try {
        // A short write (the disk filling up): go on from where it stopped.
        for (let off = 0; off < n;) off += fs.writeSync(this.fd, this.buf, off, n - off);
        this.spilled += n;
        this.bufLen = 0;
        this.bufCount = 0;
        this.checkSpace();
        return;
      } catch (e) {
        this.stopSpilling(e);
      }
    }
    // Records held in memory take no disk: no padding for them.
    const text = this.buf.toString('utf8', 0, n).replace(/^ +\n/gm, '');
    // Once one batch is dropped every later one is too: the report then misses a tail of
    // records, never records in the middle.
    const h = this.held as Held;
    if (h.dropped === 0 && h.size + text.length <= this.holdLimit) {
      h.text.push(text);
      h.size += text.length;
    } else {
      h.dropped += this.bufCount;
    }
    this.bufLen = 0;
    this.bufCount = 0;
  }

  /**
   * --resume checkpoints: flush and sync the spill file; the bytes of whole records in it,
   * or -1 when records are held in memory instead (they would not survive a crash).
   */
  sync(): number {
    this.flush();
    if (this.held !== null || this.padding) return -1;
    try {
      fs.fsyncSync(this.fd);
    } catch (e) {
      this.stopSpilling(e);
      return -1;
    }
    return this.spilled;
  }

  /** Flush and close the spill file. A failed spill does not throw (see heldRecords()). */
  close(): void {
    this.flush();
    if (this.fd >= 0) {
      const fd = this.fd;
      this.fd = -1;
      fs.closeSync(fd);
    }
  }

  /** After close(): the records that did not reach the spill file, or null if all did. */
  heldRecords(): HeldRecords | null {
    const h = this.held;
    if (h === null) return null;
    return { path: this.path, spilled: this.spilled, text: h.text.join(''), dropped: h.dropped, error: h.error };
  }

  private stopSpilling(e: unknown): void {
    this.held = { text: [], size: 0, dropped: 0, error: `${this.path}: ${strerror(e)}` };
    this.padding = false;
    // Give the torn tail's space back; the reader stops at `spilled` whatever happens here.
    if (this.fd >= 0) {
      try { fs.ftruncateSync(this.fd, this.spilled); } catch { /* best effort */ }
    }
  }
}

/** One worker's records for the merge: the first `limit` bytes of `path` (if any), then `tail`. */
export interface SpillSource {
  path: string | null;
  limit: number;
  tail: Buffer | null;
}

/** The spill files, each followed by the records its writer held in memory. */
export function spillSources(paths: readonly string[], held: readonly HeldRecords[] = []): SpillSource[] {
  const heldBy = new Map<string | null, HeldRecords>();
  const memory: SpillSource[] = [];
  for (const h of held) {
    if (h.path === null) memory.push({ path: null, limit: 0, tail: Buffer.from(h.text) });
    else heldBy.set(h.path, h);
  }
  return [...new Set([...paths, ...heldBy.keys()])].map((p): SpillSource => {
    const h = heldBy.get(p);
    return h === undefined ? { path: p, limit: Infinity, tail: null } : { path: p, limit: h.spilled, tail: Buffer.from(h.text) };
  }).concat(memory);
}

/** Bytes of records the sources hold. */
export function sourceBytes(sources: readonly SpillSource[]): number {
  let n = 0;
  for (const s of sources) {
    if (s.path !== null && s.limit > 0) {
      try { n += Math.min(fs.statSync(s.path).size, s.limit); } catch { /* no file: nothing spilled */ }
    }
    n += s.tail?.length ?? 0;
  }
  return n;
}

/**
 * The same records read into memory (without padding), so that the spill files can go
 * before the report is written; null when they take more than `limit` bytes.
 */
export function loadSources(sources: readonly SpillSource[], limit: number): SpillSource[] | null {
  let total = 0;
  const out: SpillSource[] = [];
  for (const s of sources) {
    const lines: Buffer[] = [];
    const r = new SpillReader(s);
    for (let line = r.nextLine(); line !== null; line = r.nextLine()) {
      total += line.length + 1;
      if (total > limit) { r.closeFile(); return null; }
      lines.push(line, NEWLINE);
    }
    out.push({ path: null, limit: 0, tail: Buffer.concat(lines) });
  }
  return out;
}

const NEWLINE = Buffer.from('\n');

/**
 * Sequential reader of one worker's records: the first `limit` bytes of its spill file
 * (none if the path is null), then the records it held in memory.
 */
class SpillReader {
  private fd: number;
  private buf = Buffer.alloc(0);
  private pos = 0;
  private left: number;
  private tail: Buffer | null;
  close = 0;
  first = 0;
  /** The record, or null at the end (after next()). */
  record: FlowRecord | null = null;

  constructor(src: SpillSource) {
    this.fd = src.path !== null && src.limit > 0 ? fs.openSync(src.path, 'r') : -1;
    this.left = this.fd >= 0 ? src.limit : 0;
    this.tail = src.tail;
  }

  /** Load the next record into close/first/record; record is null at the end. */
  next(): void {
    const raw = this.nextLine();
    if (raw === null) { this.record = null; return; }
    const line = raw.toString('utf8');
    const a = line.indexOf(' '), b = line.indexOf(' ', a + 1);
    this.close = Number(line.slice(0, a));
    this.first = Number(line.slice(a + 1, b));
    this.record = decodeRecord(line.slice(b + 1));
  }

  /** The next record's line (without its newline), padding skipped; null at the end. */
  nextLine(): Buffer | null {
    for (;;) {
      const nl = this.indexOfNewline();
      if (nl < 0) { this.closeFile(); return null; }
      const start = this.pos;
      this.pos = nl + 1;
      if (this.buf[start] !== SPACE) return this.buf.subarray(start, nl);
    }
  }

  /** The end of the next line; -1 at the end of the records, which must end with a whole line. */
  private indexOfNewline(): number {
    for (;;) {
      const nl = this.buf.indexOf(10, this.pos);
      if (nl >= 0) return nl;
      if (!this.more()) {
        if (this.pos < this.buf.length) throw new Error('report spill file is truncated');
        return -1;
      }
    }
  }

  private more(): boolean {
    let got: Buffer | null = null;
    if (this.left > 0) {
      const chunk = Buffer.allocUnsafe(1 << 20);
      const n = fs.readSync(this.fd, chunk, 0, Math.min(chunk.length, this.left), null);
      if (n > 0) {
        this.left -= n;
        got = chunk.subarray(0, n);
      } else {
        this.left = 0;
      }
    }
    if (got === null) {
      if (this.tail === null) return false;
      this.closeFile();
      got = this.tail;
      this.tail = null;
    }
    this.buf = Buffer.concat([this.buf.subarray(this.pos), got]);
    this.pos = 0;
    return true;
  }

  closeFile(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}

/**
 * Merge the workers' records into `write`, in (close packet, first packet) order; `close`
 * is END_OF_INPUT for flows still open at the end.
 */
export function mergeRecords(sources: readonly SpillSource[], write: (record: FlowRecord, close: number, first: number) => void): void {
  const readers = sources.map((s) => new SpillReader(s)).filter((r) => { r.next(); return r.record !== null; });
  // Few workers: a linear scan for the minimum beats a heap.
  while (readers.length > 0) {
    let best = 0;
    for (let i = 1; i < readers.length; i++) {
      const a = readers[i], b = readers[best];
      if (a.close < b.close || (a.close === b.close && a.first < b.first)) best = i;
    }
    const r = readers[best];
    write(r.record as FlowRecord, r.close, r.first);
    r.next();
    if (r.record === null) readers.splice(best, 1);
  }
}
