/**
 * Opening a capture: format detection, the file/stdin/memory byte source, and the chunk
 * filling loop shared by the pcap and pcapng parsers.
 *
 * Records are read straight into the caller's chunk (one large read per fill); a
 * record cut by the end of the buffer is copied to a small private carry buffer and
 * put back at the start of the next fill, so each byte is read once and at most one
 * partial record per fill is copied twice.
 */
import * as fs from 'fs';
import type { Chunk } from './chunk';
import { TcpflowError } from '../errors';
import { openPcap } from './pcap';
import { openPcapng } from './pcapng';
import { strerror } from '../util/strerror';

export interface Truncation {
  /** File offset of the record (pcap) or block (pcapng) the file ends in. */
  offset: number;
  /** Bytes of `what` the record needed. */
  wanted: number;
  /** Bytes of it present in the file. */
  got: number;
  what: string;
}

export interface CaptureReader {
  readonly path: string;          // as given ('-' = stdin)
  readonly format: 'pcap' | 'pcapng';
  /** Link type and snapshot length of the first interface, once known (pcapng: after its first IDB). */
  readonly firstInterface: CaptureInterface | null;
  /** Fill `chunk` (chunk.input, and the index arrays from position 0) with as many whole records as fit; set chunk.count; return chunk.count. 0 means end of file. */
  fill(chunk: Chunk): number;
  /** After fill() returned 0: set if the file ended inside a record/block. */
  readonly truncation: Truncation | null;
  /**
   * After fill() returned 0: the file's size when opened, if it ended before that (it
   * was truncated while being read); else null.
   */
  readonly shrankFrom: number | null;
  /** Capture bytes consumed so far, and the capture's size (0 when not a regular file, or compressed). */
  readonly bytesRead: number;
  readonly size: number;
  /** Bytes of the file itself read so far, and its size (0 when unknown): what progress counts (compressed inputs: the compressed bytes). */
  readonly fileProgress: { done: number; total: number };
  /**
   * After fill() returned 0: a promise that settles once more input may be there (a
   * decompressing input that has not produced the next bytes yet), else null (end of input).
   */
  more(): Promise<void> | null;
  /** File offset of chunk.input[0] as of the last fill (the fuzzer checks records against the file). */
  readonly base: number;
  /**
   * After a fill that returned records: start reading what follows into `chunk` in the
   * background where the input can (a regular file), so the next fill(chunk) finds it
   * there; `chunk` must not be touched before ready() has settled.
   */
  readAhead(chunk: Chunk): void;
  /** Settles once a read ahead has landed (null when none is in flight): fill() must wait for it. */
  ready(): Promise<void> | null;
  close(): void;
}

export interface CaptureInterface {
  linktype: number;
  /** 0 when the file does not limit it. */
  snaplen: number;
  /** pcap only: the file's 24-byte header as it is (-w copies it when it can, like tcpflow). */
  fileHeader?: Uint8Array;
}

/** A record format: indexes whole records found in a buffer. */
export interface RecordParser {
  readonly format: 'pcap' | 'pcapng';
  readonly firstInterface: CaptureInterface | null;
  /**
   * Index the records in chunk.input[pos, end) into the chunk from chunk.count on,
   * stopping at `max` records or at the first record not wholly inside the range;
   * update chunk.count and return the offset just past the last record consumed.
   * `base` is the file offset of chunk.input[0] (for error messages).
   * Must throw (INPUT_CORRUPT) rather than wait for a record longer than chunk.input,
   * with chunk.count covering the good records indexed before the bad one.
   */
  parse(chunk: Chunk, view: DataView, pos: number, end: number, base: number, max: number): number;
  /** Describe the incomplete record at [pos, end) at end of file. */
  incomplete(view: DataView, pos: number, end: number, base: number): Truncation;
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/**
 * Where a Source's bytes come from: a file descriptor, memory (tests, the fuzzer), or a
 * decompressor (src/capture/decompress.ts).
 */
export interface ByteInput {
  /**
   * Read up to `len` bytes into dst[off...]; 0 at end of input; NOT_YET when the input
   * has no bytes ready now (an asynchronous producer): `more()` says when to try again.
   */
  read(dst: Uint8Array, off: number, len: number): number;
  /** Size of a regular file or buffer, else 0 (also for decompressed input: it is not known). */
  size(): number;
  /** Bytes of the underlying file read so far and its size, for progress. */
  fileProgress(): { done: number; total: number };
  /** Settles when a read may return bytes again (only asked after NOT_YET). */
  more?(): Promise<void>;
  /**
   * Inputs that can read in the background (regular files: a thread of libuv's pool):
   * read up to `len` bytes into dst[off...] while the caller goes on; resolves to the
   * number read (0 at end of input). No other read may start before it settles.
   */
  readonly readAhead?: (dst: Uint8Array, off: number, len: number) => Promise<number>;
  close(): void;
}

/** ByteInput.read: nothing ready yet, not the end. */
export const NOT_YET = -1;

class FdInput implements ByteInput {
  private done = 0;
  /** A background read in flight (the descriptor is closed only after it). */
  private inFlight: Promise<unknown> | null = null;
  readonly readAhead?: (dst: Uint8Array, off: number, len: number) => Promise<number>;

  constructor(private readonly path: string, private readonly fd: number, private readonly owned: boolean) {
    // Pipes and terminals keep the blocking reads: only a file's reads are sure to end.
    if (isRegularFile(fd)) this.readAhead = (dst, off, len) => this.readInBackground(dst, off, len);
  }

  private readInBackground(dst: Uint8Array, off: number, len: number): Promise<number> {
    const read = new Promise<number>((resolve, reject) => {
      fs.read(this.fd, dst, off, len, null, (err, n) => {
        this.inFlight = null;
        if (err !== null) reject(new TcpflowError('INPUT_OPEN', `${this.path}: ${strerror(err)}`));
        else {
          this.done += n;
          resolve(n);
        }
      });
    });
    this.inFlight = read;
    return read;
  }

  read(dst: Uint8Array, off: number, len: number): number {
    for (;;) {
      try {
        const n = fs.readSync(this.fd, dst, off, len, null);
        this.done += n;
        return n;
      } catch (err) {
        // A non-blocking stdin (pipe set O_NONBLOCK by someone else) has no data yet.
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
          Atomics.wait(sleepCell, 0, 0, 2);
          continue;
        }
        throw new TcpflowError('INPUT_OPEN', `${this.path}: ${strerror(err)}`);
      }
    }
  }

  size(): number {
    try {
      const st = fs.fstatSync(this.fd);
      return st.isFile() ? st.size : 0;
    } catch {
      return 0;
    }
  }

  fileProgress(): { done: number; total: number } {
    return { done: this.done, total: this.size() };
  }

  close(): void {
    if (!this.owned) return;
    // Closing under a read in flight could hand its descriptor number to another file.
    if (this.inFlight !== null) void this.inFlight.catch(() => {}).then(() => fs.closeSync(this.fd));
    else fs.closeSync(this.fd);
  }
}

function isRegularFile(fd: number): boolean {
  try {
    return fs.fstatSync(fd).isFile();
  } catch {
    return false;
  }
}

class BufferInput implements ByteInput {
  private pos = 0;

  constructor(private readonly bytes: Uint8Array) {}

  read(dst: Uint8Array, off: number, len: number): number {
    const n = Math.min(len, this.bytes.length - this.pos);
    dst.set(this.bytes.subarray(this.pos, this.pos + n), off);
    this.pos += n;
    return n;
  }

  size(): number {
    return this.bytes.length;
  }

  fileProgress(): { done: number; total: number } {
    return { done: this.pos, total: this.bytes.length };
  }

  close(): void {}
}

/** Sequential bytes from a file, stdin or memory, with room to push back a partial record. */
export class Source {
  /** True once a read returned end of file. */
  eof = false;
  /** True when the last load() stopped because the input had nothing ready (not the end). */
  starved = false;
  /** File offset of chunk.data[0] after the last load(). */
  base = 0;
  private readPos = 0;                 // file offset of the next byte from the input
  private carry = new Uint8Array(0);
  private carryLen = 0;
  private closed = false;
  /** A read ahead (readAhead()) into `data`: its bytes start with `carried` carried ones; `got` < 0 until it lands. */
  private ahead: { data: Uint8Array; carried: number; got: number; error: unknown; landed: Promise<void> } | null = null;

  constructor(readonly path: string, private readonly input: ByteInput) {}

  get bytesRead(): number { return this.readPos; }

  /** Size of a regular file, else 0. */
  size(): number {
    return this.input.size();
  }

  fileProgress(): { done: number; total: number } {
    return this.input.fileProgress();
  }

  /** After a starved load(): settles when the input may have bytes again. */
  more(): Promise<void> | null {
    return this.starved && !this.eof && this.input.more !== undefined ? this.input.more() : null;
  }

  static open(path: string): Source {
    if (path === '-') return new Source(path, new FdInput(path, 0, false));
    try {
      return new Source(path, new FdInput(path, fs.openSync(path, 'r'), true));
    } catch (err) {
      throw new TcpflowError('INPUT_OPEN', `${path}: ${strerror(err)}`);
    }
  }

  /** The bytes of a capture already in memory; `name` stands for the path in messages. */
  static fromBuffer(name: string, bytes: Uint8Array): Source {
    return new Source(name, new BufferInput(bytes));
  }

  /** Read up to `len` bytes into dst[off...]; fewer only at end of file, or when the input has nothing ready (`starved`). */
  readFull(dst: Uint8Array, off: number, len: number): number {
    let got = 0;
    this.starved = false;
    while (got < len && !this.eof) {
      const n = this.input.read(dst, off + got, len - got);
      if (n === NOT_YET) {
        this.starved = true;
        break;
      }
      if (n === 0) this.eof = true;
      got += n;
    }
    this.readPos += got;
    return got;
  }

  /**
   * Start loading `data` in the background (an input that can: regular files), as
   * load(data) would, so that the next load() finds its bytes there. Until ready() has
   * settled, `data` must not be touched.
   */
  readAhead(data: Uint8Array): void {
    const c = this.carryLen;
    if (this.ahead !== null || this.eof || this.closed || this.input.readAhead === undefined || c >= data.length) return;
    if (c > 0) data.set(this.carry.subarray(0, c), 0);
    this.carryLen = 0;
    const a = { data, carried: c, got: -1, error: null as unknown, landed: Promise.resolve() };
    a.landed = this.input.readAhead(data, c, data.length - c).then((n) => { a.got = n; }, (e: unknown) => { a.got = 0; a.error = e; });
    this.ahead = a;
  }

  /** Settles once a read ahead has landed; null when none is in flight. */
  ready(): Promise<void> | null {
    return this.ahead !== null && this.ahead.got < 0 ? this.ahead.landed : null;
  }

  /** Put carried bytes at the start of `data`, fill the rest from the file; return the end. */
  load(data: Uint8Array): number {
    if (this.ahead !== null) return this.loadAhead(data);
    const c = this.carryLen;
    this.base = this.readPos - c;
    if (c > 0) data.set(this.carry.subarray(0, c), 0);
    this.carryLen = 0;
    return c + this.readFull(data, c, data.length - c);
  }

  /** load() when a read ahead was started: its bytes (moved if it went elsewhere), then the rest as usual. */
  private loadAhead(data: Uint8Array): number {
    const a = this.ahead as NonNullable<Source['ahead']>;
    if (a.got < 0) throw new Error('internal: load() before the read ahead landed');
    this.ahead = null;
    this.base = this.readPos - a.carried;
    this.starved = false;
    if (a.error !== null) throw a.error;
    this.readPos += a.got;
    if (a.got === 0) this.eof = true;
    let end = a.carried + a.got;
    if (a.data !== data) {
      // Not the buffer read into: keep what does not fit for the next load.
      const fit = Math.min(end, data.length);
      data.set(a.data.subarray(0, fit), 0);
      if (fit < end) this.keep(a.data, fit, end);
      end = fit;
    }
    // A short read that is not the end of the file: the rest read as usual.
    if (a.got > 0 && end < data.length && this.carryLen === 0) end += this.readFull(data, end, data.length - end);
    return end;
  }

  /** Keep data[from, to) to be returned first by the next load(). */
  keep(data: Uint8Array, from: number, to: number): void {
    const n = to - from;
    if (n > this.carry.length) this.carry = new Uint8Array(Math.max(n, 2 * this.carry.length, 65536));
    this.carry.set(data.subarray(from, to), 0);
    this.carryLen = n;
  }

  /** Push back bytes just read (they must be the last bytes read), e.g. a sniffed header. */
  unread(bytes: Uint8Array): void {
    this.keep(bytes, 0, bytes.length);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.input.close();
  }
}

class Reader implements CaptureReader {
  truncation: Truncation | null = null;
  shrankFrom: number | null = null;
  private done = false;
  private failed: unknown = null;
  private viewData: Uint8Array | null = null;
  private view: DataView | null = null;

  constructor(private readonly src: Source, private readonly parser: RecordParser) {
    this.size = src.size();
  }

  readonly size: number;

  get path(): string { return this.src.path; }
  get bytesRead(): number { return this.src.bytesRead; }
  get base(): number { return this.src.base; }
  get format(): 'pcap' | 'pcapng' { return this.parser.format; }
  get fileProgress(): { done: number; total: number } { return this.src.fileProgress(); }

  more(): Promise<void> | null {
    return this.done || this.failed ? null : this.src.more();
  }

  readAhead(chunk: Chunk): void {
    if (!this.done && !this.failed) this.src.readAhead(chunk.input);
  }

  ready(): Promise<void> | null {
    return this.src.ready();
  }
  get firstInterface(): CaptureInterface | null { return this.parser.firstInterface; }

  fill(chunk: Chunk): number {
    const data = chunk.input;
    const max = Math.min(chunk.offset.length, chunk.caplen.length, chunk.origlen.length,
      chunk.sec.length, chunk.usec.length, chunk.linktype.length);
    if (max < 1 || data.length < 128) throw new RangeError('capture chunk too small');
    if (this.viewData !== data) {
      this.viewData = data;
      this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    }
    const view = this.view as DataView;
    chunk.count = 0;
    // After an error the read position is lost: keep failing rather than resync on garbage.
    if (this.failed) throw this.failed;
    try {
      this.pump(chunk, view, max);
    } catch (err) {
      // Like libpcap, hand out the good records before the bad one; fail on the next call.
      this.failed = err;
      if (chunk.count > 0) return chunk.count;
      throw err;
    }
    return chunk.count;
  }

  private pump(chunk: Chunk, view: DataView, max: number): void {
    const data = chunk.input;
    // Loop because a buffer may hold only non-packet blocks (pcapng).
    while (chunk.count === 0 && !this.done) {
      const end = this.src.load(data);
      const base = this.src.base;
      const pos = this.parser.parse(chunk, view, 0, end, base, max);
      if (pos === end && this.src.eof) {
        this.ended();
      } else if (this.src.eof && chunk.count < max) {
        this.truncation = this.parser.incomplete(view, pos, end, base);
        this.ended();
      } else if (this.src.starved) {
        // The input has nothing more ready: hand out what is whole, come back for the rest.
        this.src.keep(data, pos, end);
        return;
      } else {
        // Parsers reject records larger than the buffer, so a full buffer always
        // yields progress; this guards against a parser bug looping forever.
        if (pos === 0 && chunk.count === 0) {
          throw new TcpflowError('INPUT_CORRUPT', `${this.path}: record at byte ${base} does not fit in the read buffer`);
        }
        this.src.keep(data, pos, end);
      }
    }
  }

  private ended(): void {
    this.done = true;
    // Someone else truncated the file under us: even at a record boundary it is not the
    // capture it was (a regular file only; pipes have no size).
    if (this.src.bytesRead < this.size) this.shrankFrom = this.size;
  }

  close(): void {
    this.done = true;
    this.src.close();
  }
}

const PCAP_MAGICS = new Set([0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1]);
const PCAPNG_SHB = 0x0a0d0d0a;

export function openCapture(path: string): CaptureReader {
  return openSource(Source.open(path));
}

/** A capture read from `input` (a decompressor, a filter's pipe); `path` names it in messages. */
export function openCaptureInput(path: string, input: ByteInput): CaptureReader {
  return openSource(new Source(path, input));
}

/**
 * A capture held in memory, parsed and chunked exactly as a file is (the fuzzer runs
 * the whole pipeline on it without touching the disk); `name` is used in messages.
 */
export function openCaptureBuffer(name: string, bytes: Uint8Array): CaptureReader {
  return openSource(Source.fromBuffer(name, bytes));
}

function openSource(src: Source): CaptureReader {
  const path = src.path;
  try {
    const head = new Uint8Array(4);
    const got = src.readFull(head, 0, 4);
    if (got < 4) {
      throw new TcpflowError('INPUT_TRUNCATED',
        `${path}: truncated dump file; tried to read 4 file header bytes, only got ${got}`);
    }
    const magic = new DataView(head.buffer).getUint32(0, false);
    let parser: RecordParser | null = null;
    if (PCAP_MAGICS.has(magic)) parser = openPcap(src, head);
    else if (magic === PCAPNG_SHB) parser = openPcapng(src, head);
    if (!parser) throw new TcpflowError('INPUT_FORMAT', `${path}: unknown file format`);
    return new Reader(src, parser);
  } catch (err) {
    src.close();
    throw err;
  }
}
