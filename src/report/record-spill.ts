import * as fs from 'node:fs';
import { strerror } from '../util/strerror';
import { freeSpace } from '../util/disk';
import { escapeField, FLOW_LINE_FIXED, writeFlowLine, type RecordOutput } from './flow-record';
import { SpillLine } from './spill-line';
import type { Flow } from '../flow/flow';
import { TextBatch } from '../util/text-batch';

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
export const LOW_WATER = 64 * 1024 * 1024;

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
  /** Lines not yet written. */
  private readonly buf = new TextBatch(FLUSH_AT);
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

  add(closePacket: number, firstPacket: number, record: string): void {
    const close = closePacket === Infinity ? END_OF_INPUT : closePacket;
    const line = `${close} ${firstPacket} ${record}\n`;
    this.append(line);
    this.added(line.length);
  }

  addFlow(closePacket: number, firstPacket: number, flow: Flow, filename: string | null, filePacket: number | undefined): void {
    const close = closePacket === Infinity ? END_OF_INPUT : closePacket;
    const name = filename === null ? '' : escapeField(filename);
    const need = FLOW_LINE_FIXED + 3 * name.length;
    if (!this.buf.room(need)) {
      this.flush();
      this.buf.room(need);
    }
    this.added(writeFlowLine(this.buf, close, firstPacket, flow, name, filePacket));
  }

  /** A line of `length` UTF-16 units was added: its padding, if the disk is low. */
  private added(length: number): void {
    if (this.padding) {
      const room = this.room as RecordRoom;
      const pad = room.perChar * length + room.perRecord - length;
      if (pad > 1) this.append(' '.repeat(pad - 1) + '\n');
    }
    this.count++;
    this.bufCount++;
  }

  private append(text: string): void {
    if (!this.buf.fits(text)) this.flush();
    this.buf.append(text);
  }

  private checkSpace(): void {
    this.padding = this.room !== null && this.held === null && this.path !== null && freeSpace(this.path) < LOW_WATER;
  }

  flush(): void {
    const { bytes, length: n } = this.buf;
    if (n === 0) return;
    if (this.held === null) {
      try {
        // A short write (the disk filling up): go on from where it stopped.
        for (let off = 0; off < n;) off += fs.writeSync(this.fd, bytes, off, n - off);
        this.spilled += n;
        this.buf.clear();
        this.bufCount = 0;
        this.checkSpace();
        return;
      } catch (e) {
        this.stopSpilling(e);
      }
    }
    // Records held in memory take no disk: no padding for them.
    const text = bytes.toString('utf8', 0, n).replace(/^ +\n/gm, '');
    // Once one batch is dropped every later one is too: the report then misses a tail of
    // records, never records in the middle.
    const h = this.held as Held;
    if (h.dropped === 0 && h.size + text.length <= this.holdLimit) {
      h.text.push(text);
      h.size += text.length;
    } else {
      h.dropped += this.bufCount;
    }
    this.buf.clear();
    this.bufCount = 0;
  }

  /**
   * After each chunk: flush, and the bytes of whole records in the spill file, which the
   * coordinator may merge while the run goes on; -1 once records are held in memory (they
   * come with the worker's result).
   */
  flushed(): number {
    if (this.held !== null) return -1;
    this.flush();
    return this.held === null ? this.spilled : -1;
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

const NEWLINE = Buffer.from('\n');
const EMPTY = Buffer.alloc(0);
const READ_SIZE = 1 << 20;

/**
 * Sequential reader of one worker's records: the first `limit` bytes of its spill file
 * (none if the path is null), then the records it held in memory. A live reader follows
 * a spill file its worker is still writing: `limit` grows as the worker says how much of
 * it is whole records, and the held records (if any) come once the worker has finished.
 */
class SpillReader {
  private fd = -1;
  private buf: Buffer = EMPTY;
  private pos = 0;
  /** Bytes of the file read into `buf` so far. */
  private read = 0;
  private limit: number;
  private tail: Buffer | null;
  /** Every record is in what may be read (false: the worker is still writing). */
  private complete: boolean;
  /** A live reader: its worker's later records all close at this packet or after. */
  through = 0;
  /** The next line, once loaded (next()): its keys and where it lies in `buf`. */
  loaded = false;
  /** Doubles from the start, as SpillLine's. */
  close = Number.MAX_SAFE_INTEGER;
  first = Number.MAX_SAFE_INTEGER;
  /** The loaded line: buf[lineStart, lineEnd) (nextLine()). */
  private lineStart = 0;
  private lineEnd = 0;

  /** The loaded line's parse (each reader its own: the merge compares the readers' keys). */
  private readonly line = new SpillLine();

  constructor(private readonly path: string | null, src: SpillSource | null) {
    this.limit = src?.limit ?? 0;
    this.tail = src?.tail ?? null;
    this.complete = src !== null;
  }

  /** A live reader's worker has spilled `limit` bytes of whole records, and will close no flow before packet `through`. */
  grow(limit: number, through: number): void {
    if (limit > this.limit) this.limit = limit;
    if (through > this.through) this.through = through;
  }

  /** The worker has finished: its records are the file's first `limit` bytes (Infinity: all), then `tail`. */
  finish(limit: number, tail: Buffer | null): void {
    this.limit = Math.max(this.limit, limit);
    this.tail = tail;
    this.complete = true;
  }

  /** The worker is still writing: more records may come. */
  get live(): boolean {
    return !this.complete;
  }

  /**
   * Load the next line's keys into close/first if there is one to read now; false when
   * there is none (yet: a live reader's worker may spill more). The line stays where it
   * is until the next call (take()).
   */
  next(): boolean {
    if (!this.nextLine()) return false;
    this.line.load(this.buf, this.lineStart, this.lineEnd);
    this.close = this.line.close;
    this.first = this.line.first;
    return this.loaded = true;
  }

  /** The loaded line, which is no longer loaded: valid until next() is called again. */
  take(): SpillLine {
    this.loaded = false;
    return this.line;
  }

  /** The next record's line (lineStart, lineEnd: without its newline), padding skipped; false when there is none to read now. */
  private nextLine(): boolean {
    for (;;) {
      const nl = this.indexOfNewline();
      if (nl < 0) {
        if (this.complete) this.closeFile();
        return false;
      }
      const start = this.pos;
      this.pos = nl + 1;
      if (this.buf[start] !== SPACE) {
        this.lineStart = start;
        this.lineEnd = nl;
        return true;
      }
    }
  }

  /** The end of the next line; -1 at the end of what can be read, which must end with a whole line once complete. */
  private indexOfNewline(): number {
    for (;;) {
      const nl = this.buf.indexOf(10, this.pos);
      if (nl >= 0) return nl;
      const got = this.more();
      if (got === null) {
        if (this.complete && this.pos < this.buf.length) throw new Error('report spill file is truncated');
        return -1;
      }
      this.buf = this.pos < this.buf.length ? Buffer.concat([this.buf.subarray(this.pos), got]) : got;
      this.pos = 0;
    }
  }

  /** More bytes: from the file up to the limit, then (once complete) the tail; null when none. */
  private more(): Buffer | null {
    if (this.read < this.limit && this.path !== null) {
      if (this.fd < 0) {
        try {
          this.fd = fs.openSync(this.path, 'r');
        } catch (e) {
          // A worker that could not create its spill file says so with its held records.
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || this.limit !== Infinity) throw e;
          this.limit = 0;
        }
      }
      if (this.fd >= 0) {
        const chunk = Buffer.allocUnsafe(Math.min(READ_SIZE, this.limit - this.read));
        const n = fs.readSync(this.fd, chunk, 0, chunk.length, this.read);
        if (n > 0) {
          this.read += n;
          return chunk.subarray(0, n);
        }
        // The end of the file: a complete reader's limit may be Infinity (all of it).
        if (this.complete) this.limit = this.read;
      }
    }
    if (!this.complete || this.tail === null) return null;
    const tail = this.tail;
    this.tail = null;
    this.closeFile();
    return tail;
  }

  /** Bytes still to read (the loaded record not counted). */
  remaining(): number {
    let file = 0;
    if (this.path !== null && this.read < this.limit) {
      try {
        file = Math.min(fs.statSync(this.path).size, this.limit) - this.read;
      } catch { /* no file: nothing spilled */ }
    }
    return file + (this.buf.length - this.pos) + (this.tail?.length ?? 0);
  }

  /**
   * A complete reader: read what is left into memory (padding left out) and close the
   * file, so that it can be deleted; the bytes loaded, or -1 when they would be more
   * than `limit` (then the reader goes on from where it was).
   */
  loadRest(limit: number): number {
    const { buf, pos, read, limit: fileLimit, tail } = this;
    const lines: Buffer[] = [];
    let total = 0;
    while (this.nextLine()) {
      total += this.lineEnd - this.lineStart + 1;
      if (total > limit) {
        Object.assign(this, { buf, pos, read, limit: fileLimit, tail });
        return -1;
      }
      lines.push(this.buf.subarray(this.lineStart, this.lineEnd), NEWLINE);
    }
    this.closeFile();
    this.buf = Buffer.concat(lines);
    this.pos = 0;
    this.read = this.limit = 0;
    return total;
  }

  closeFile(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}

/**
 * The workers' records merged into one stream in (close packet, first packet) order;
 * `close` is END_OF_INPUT for flows still open at the end. Each worker's records are
 * sorted, so a k-way merge streams them. While the workers run, the merge follows their
 * spill files (grow()): a record goes out once no worker can still spill one before it —
 * every other worker has a later record waiting, has finished, or will close no flow
 * before the packet that closed it. The rest goes out at finish(). The order is the
 * same however the workers' progress interleaves.
 */
export class RecordMerge {
  private readonly readers: SpillReader[];
  /** Each worker's reader while it runs (none once finished). */
  private live: SpillReader[];

  /**
   * `sources`: complete ones; `livePaths`: each worker's spill file (null: none), still
   * being written; `write` gets each line in order, valid during the call.
   */
  constructor(sources: readonly SpillSource[], private readonly livePaths: readonly (string | null)[],
    private readonly write: (line: SpillLine) => void) {
    this.live = livePaths.map((p) => new SpillReader(p, null));
    this.readers = [...sources.map((s) => new SpillReader(s.path, s)), ...this.live];
  }

  /** Live worker `w` has `bytes` of whole records in its spill file and will close no flow before packet `through`. */
  grow(w: number, bytes: number, through: number): void {
    this.live[w].grow(bytes, through);
  }

  /** The workers have finished, with the records some held in memory (a spill that failed, or none). */
  finish(held: readonly HeldRecords[]): void {
    const heldBy = new Map<string | null, HeldRecords>();
    const memory: HeldRecords[] = [];
    for (const h of held) {
      if (h.path === null) memory.push(h);
      else heldBy.set(h.path, h);
    }
    this.live.forEach((r, i) => {
      const p = this.livePaths[i];
      const h = p === null ? undefined : heldBy.get(p);
      if (h !== undefined) heldBy.delete(p);
      r.finish(p === null ? 0 : h === undefined ? Infinity : h.spilled, h === undefined ? null : Buffer.from(h.text));
    });
    for (const h of [...heldBy.values(), ...memory]) {
      this.readers.push(new SpillReader(h.path, { path: h.path, limit: h.path === null ? 0 : h.spilled, tail: Buffer.from(h.text) }));
    }
    this.live = [];
  }

  /**
   * Write every record that can go out now (all of them after finish()); returns how many.
   * `budget`: at most this many.
   */
  pump(budget = Infinity): number {
    const readers = this.readers;
    let n = 0;
    while (n < budget) {
      let best: SpillReader | null = null;
      // Live readers with nothing to read yet hold back every record closed from their `through` on.
      let bound = Infinity;
      for (let i = 0; i < readers.length; i++) {
        const r = readers[i];
        if (!r.loaded && !r.next()) {
          if (r.live) bound = Math.min(bound, r.through);
          continue;
        }
        if (best === null || r.close < best.close || (r.close === best.close && r.first < best.first)) best = r;
      }
      if (best === null || best.close >= bound) break;
      this.write(best.take());
      n++;
    }
    return n;
  }

  /** Bytes of records still to merge. */
  remaining(): number {
    let n = 0;
    for (const r of this.readers) n += r.remaining();
    return n;
  }

  /**
   * After finish(): read every record still to merge into memory, so that the spill files
   * can go before the report is written; false when they take more than `limit` bytes.
   */
  loadRest(limit: number): boolean {
    let left = limit;
    for (const r of this.readers) {
      const n = r.loadRest(left);
      if (n < 0) return false;
      left -= n;
    }
    return true;
  }
}
