/**
 * One range of a capture file read into a chunk by two threads at once: the reader thread
 * (src/capture/read-worker.ts) claims pieces from the front, the main thread, when it would
 * otherwise wait for the chunk, from the back (src/capture/read-thread.ts). Each piece is
 * read with its own positioned read; a piece is claimed with a compare-and-swap on its state,
 * which carries the table's generation so that a claim meant for an earlier range fails.
 * Reading the page cache from two threads at once is about twice as fast as from one.
 */
import * as fs from 'node:fs';
import { TcpflowError } from '../errors';
import { strerror } from '../util/strerror';
import type { PositionedInput } from './reader';

const MAX_PIECES = 32;
/** Smaller pieces cost more system calls than the sharing gains. */
const MIN_PIECE = 256 * 1024;
const GEN = 0, SLOT = 1, OFF = 2, LEN = 3, COUNT = 4, PIECE = 5, STATE = 8, GOT = STATE + MAX_PIECES;
const POS = (GOT + MAX_PIECES) >> 1;   // Float64 index, after the Int32 fields
const FREE = 0, CLAIMED = 1, DONE = 2;
export const PIECE_TABLE_BYTES = (GOT + MAX_PIECES) * 4 + 8;

/** The range being read into one chunk, in shared memory. */
export class PieceTable {
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;

  constructor(sab: SharedArrayBuffer, byteOffset: number) {
    this.i32 = new Int32Array(sab, byteOffset, GOT + MAX_PIECES + 2);
    this.f64 = new Float64Array(sab, byteOffset, POS + 1);
    this.i32[SLOT] = -1;
  }

  /** Reader thread: file bytes [pos, pos + len) are to go to chunk `slot`'s bytes at `off`. Returns the generation. */
  publish(slot: number, off: number, len: number, pos: number): number {
    const i = this.i32;
    const gen = (i[GEN] + 1) & 0x1fffffff;
    const piece = Math.max(MIN_PIECE, Math.ceil(len / MAX_PIECES));
    const count = Math.ceil(len / piece);
    this.f64[POS] = pos;
    i[OFF] = off;
    i[LEN] = len;
    i[PIECE] = piece;
    i[COUNT] = count;
    for (let p = 0; p < count; p++) {
      Atomics.store(i, GOT + p, 0);
      Atomics.store(i, STATE + p, gen * 4 + FREE);
    }
    i[SLOT] = slot;
    Atomics.store(i, GEN, gen);   // last: a helper that sees it sees the fields above
    return gen;
  }

  /** The chunk the current range goes to (-1: none yet), and its generation. */
  get slot(): number { return Atomics.load(this.i32, SLOT); }
  get gen(): number { return Atomics.load(this.i32, GEN); }

  /**
   * Claim and read the pieces of generation `gen` not claimed yet into `dst`, from the
   * front or the back, until a claim fails (the other thread has the rest) or `enough`
   * says so. A helper's
   * failed read gives its piece back, so that the reader thread reads it and reports the
   * error itself; the reader thread's throws.
   */
  readPieces(fd: number, dst: Uint8Array, gen: number, fromBack: boolean, path: string, enough?: () => boolean): void {
    const i = this.i32, count = i[COUNT], piece = i[PIECE], off = i[OFF], len = i[LEN], pos = this.f64[POS];
    for (let k = 0; k < count; k++) {
      if (enough?.() === true) return;
      const p = fromBack ? count - 1 - k : k;
      if (Atomics.compareExchange(i, STATE + p, gen * 4 + FREE, gen * 4 + CLAIMED) !== gen * 4 + FREE) return;
      const at = p * piece, want = Math.min(piece, len - at);
      let got: number;
      try {
        got = readAt(fd, dst, off + at, want, pos + at);
      } catch (err) {
        if (fromBack) {
          Atomics.store(i, STATE + p, gen * 4 + FREE);
          return;
        }
        Atomics.store(i, GOT + p, 0);
        Atomics.store(i, STATE + p, gen * 4 + DONE);
        throw new TcpflowError('INPUT_OPEN', `${path}: ${strerror(err)}`);
      }
      Atomics.store(i, GOT + p, got);
      Atomics.store(i, STATE + p, gen * 4 + DONE);
      Atomics.notify(i, STATE + p);
    }
  }

  /**
   * Reader thread, once it has claimed all it could: wait for the pieces the other thread
   * is reading; return the bytes read from the start of the range up to the first piece
   * that came back short (the end of the file as it was then: what follows is read again).
   */
  gather(gen: number): number {
    const i = this.i32, count = i[COUNT], piece = i[PIECE];
    let total = 0, whole = true;
    for (let p = 0; p < count; p++) {
      for (let s = Atomics.load(i, STATE + p); s !== gen * 4 + DONE; s = Atomics.load(i, STATE + p)) {
        // A piece still free here was given back by a helper whose read failed: the caller
        // reads the range again. Marked done: no claim of a stale generation can match it later.
        if (s === gen * 4 + FREE && Atomics.compareExchange(i, STATE + p, s, gen * 4 + DONE) === s) return -1;
        Atomics.wait(i, STATE + p, s, 1000);
      }
      const got = i[GOT + p];
      if (whole) total += got;
      if (got < Math.min(piece, i[LEN] - p * piece)) whole = false;
    }
    Atomics.store(i, SLOT, -1);
    return total;
  }
}

/** A positioned read that goes on after short reads until `len` bytes or the end of the file. */
function readAt(fd: number, dst: Uint8Array, off: number, len: number, pos: number): number {
  let got = 0;
  while (got < len) {
    const n = fs.readSync(fd, dst, off + got, len - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/**
 * The reader thread's input: a regular file read at positions of its own (a reader takes
 * over at any record boundary: Source.seek); a read ahead is published as a piece table
 * the main thread may help with, and lands when the reader thread calls finish().
 */
export class PieceInput implements PositionedInput {
  private pos = 0;
  private done = 0;
  /** The chunk (its id) the next read ahead goes to: set by the reader thread before it asks for one. */
  slot = -1;
  private ahead: { dst: Uint8Array; off: number; len: number; gen: number; resolve: (n: number) => void; reject: (e: unknown) => void } | null = null;
  readonly readAhead = (dst: Uint8Array, off: number, len: number): Promise<number> => new Promise<number>((resolve, reject) => {
    this.ahead = { dst, off, len, gen: this.table.publish(this.slot, off, len, this.pos), resolve, reject };
  });

  constructor(private readonly path: string, private readonly fd: number, private readonly table: PieceTable) {}

  /** Whether a read ahead is waiting for finish(). */
  get reading(): boolean {
    return this.ahead !== null;
  }

  /** Read this thread's share of the pending read ahead, wait for the other thread's, and land it. */
  finish(): void {
    const a = this.ahead;
    if (a === null) return;
    this.ahead = null;
    let n: number;
    try {
      this.table.readPieces(this.fd, a.dst, a.gen, false, this.path);
      n = this.table.gather(a.gen);
      // A helper could not read a piece: read the whole range here (its error, if any, is ours).
      if (n < 0) n = readAt(this.fd, a.dst, a.off, a.len, this.pos);
    } catch (e) {
      a.reject(e instanceof TcpflowError ? e : new TcpflowError('INPUT_OPEN', `${this.path}: ${strerror(e)}`));
      return;
    }
    this.pos += n;
    this.done += n;
    a.resolve(n);
  }

  read(dst: Uint8Array, off: number, len: number): number {
    let n: number;
    try {
      n = fs.readSync(this.fd, dst, off, len, this.pos);
    } catch (err) {
      throw new TcpflowError('INPUT_OPEN', `${this.path}: ${strerror(err)}`);
    }
    this.pos += n;
    this.done += n;
    return n;
  }

  seek(offset: number): void {
    this.pos = offset;
    this.done = offset;
  }

  size(): number {
    try {
      return fs.fstatSync(this.fd).size;
    } catch {
      return 0;
    }
  }

  fileProgress(): { done: number; total: number } {
    return { done: this.done, total: this.size() };
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** What a chunk's fill came to in the reader thread: records, the end of the input, or an error (sent on the port). */
export const END = -1, FAILED = -2;
/** A command that stops the reader thread. */
export const STOP = -1;
const READY = 0, CMD_SEQ = 1, RES_SEQ = 2, CMD = 4, RES = 8, RES_DONE = 8, RING = 4;
const TABLE_AT = 128;

/**
 * The reader thread's shared control block: whether it has started, the chunks it is to
 * fill, in order (a ring of commands), and what each fill came to (a ring of results), beside
 * the piece table. Commands and results are read in the order they were written, at most
 * RING apart (the main thread waits for each result before it posts two commands more).
 */
export class ReadControl {
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  readonly table: PieceTable;

  constructor(readonly sab = new SharedArrayBuffer(TABLE_AT + PIECE_TABLE_BYTES)) {
    this.i32 = new Int32Array(sab, 0, TABLE_AT >> 2);
    this.f64 = new Float64Array(sab, 0, TABLE_AT >> 3);
    this.table = new PieceTable(sab, TABLE_AT);
  }

  /** Reader thread: 1 once it can take commands, -1 if it could not open the file. */
  setReady(state: 1 | -1): void {
    Atomics.store(this.i32, READY, state);
    Atomics.notify(this.i32, READY);
  }

  get ready(): number { return Atomics.load(this.i32, READY); }

  /** Main thread: command number `seq` (counted from 0) is `slot` (or STOP). */
  post(seq: number, slot: number): void {
    this.i32[CMD + (seq % RING)] = slot;
    Atomics.store(this.i32, CMD_SEQ, seq + 1);
    Atomics.notify(this.i32, CMD_SEQ);
  }

  /** Reader thread: command number `seq`, once posted. */
  command(seq: number): number {
    for (let s = Atomics.load(this.i32, CMD_SEQ); s <= seq; s = Atomics.load(this.i32, CMD_SEQ)) Atomics.wait(this.i32, CMD_SEQ, s);
    return this.i32[CMD + (seq % RING)];
  }

  /** Reader thread: command number `seq` if it has been posted, else undefined. */
  peek(seq: number): number | undefined {
    return Atomics.load(this.i32, CMD_SEQ) > seq ? this.i32[CMD + (seq % RING)] : undefined;
  }

  /** Reader thread: result number `seq` (END, FAILED or records), with the bytes of the file read so far. */
  answer(seq: number, result: number, done: number): void {
    this.i32[RES + (seq % RING)] = result;
    this.f64[RES_DONE + (seq % RING)] = done;
    Atomics.store(this.i32, RES_SEQ, seq + 1);
    Atomics.notify(this.i32, RES_SEQ);
  }

  /** Main thread: whether result `seq` is in; waits up to `ms` for it. */
  answered(seq: number, ms: number): boolean {
    const s = Atomics.load(this.i32, RES_SEQ);
    if (s > seq) return true;
    if (ms > 0) Atomics.wait(this.i32, RES_SEQ, s, ms);
    return Atomics.load(this.i32, RES_SEQ) > seq;
  }

  result(seq: number): { result: number; done: number } {
    return { result: this.i32[RES + (seq % RING)], done: this.f64[RES_DONE + (seq % RING)] };
  }
}
