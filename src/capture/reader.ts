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
import { BufferQueue } from './buffer-queue';
import { openFifo, PipeInput } from './pipe-input';

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
  /**
   * Fill `chunk` (chunk.input, and the index arrays from position 0) with as many whole
   * records as fit; set chunk.count; return chunk.count. 0 means end of file, unless more()
   * says otherwise. `next`: where the input may read ahead in the background (a regular
   * file) once this chunk's bytes are in, before they are parsed, so the next fill(next)
   * finds them there; `next` must not be touched before ready() has settled.
   */
  fill(chunk: Chunk, next?: Chunk): number;
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
   * decompressing input that has not produced the next bytes yet, or a read ahead that
   * holds the rest of a record), else null (end of input).
   */
  more(): Promise<void> | null;
  /** File offset of chunk.input[0] as of the last fill (the fuzzer checks records against the file). */
  readonly base: number;
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
  /** A producer that may wait without end (a quiet pipe) was told to stop waiting (interruptPipes): its input ends with what it has. */
  readonly interrupted?: boolean;
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

/**
 * Room a read ahead leaves at the start of its buffer (a quarter of smaller buffers) for
 * the record cut by the end of the buffer before it: larger ones are moved (Source.loadAhead).
 */
const AHEAD_ROOM = 64 * 1024;

/**
 * Standard input's first bytes when something had to look at them before the run read it
 * (peekStdin); the first read of '-' returns them first (a pipe keeps them in its ring).
 */
let stdinHead: Uint8Array | null = null;
/** Standard input when it is a pipe or a socket, once looked at (peekStdin): its reading goes on in it. */
let stdinPipe: PipeInput | null = null;

/** Standard input as a pipe or a socket for the run's reading of '-': the one looked at first (its ring holds those bytes), or a new one. */
function takeStdinPipe(): PipeInput {
  const pipe = stdinPipe ?? new PipeInput('-', 0, false);
  stdinPipe = null;
  stdinHead = null;
  return pipe;
}

/**
 * Up to `max` bytes from the start of standard input (fewer at its end), kept: the run's
 * reading of '-' gets them first. Only for a pipe, a socket or a regular file (a terminal
 * would wait for its user); empty for others, or when stdin cannot be read (the run's own
 * read says why). Settles once they have come; for a pipe or a socket, also after
 * `pipeWaitMs` or once interruptPipes() is called (a signal), with whatever has come.
 */
export async function peekStdin(max: number, pipeWaitMs = Infinity): Promise<Uint8Array> {
  if (stdinHead !== null) return stdinHead;
  const kind = fileKind(0);
  if (kind === 'stream') {
    stdinPipe ??= new PipeInput('-', 0, false);
    return (stdinHead = await stdinPipe.peek(max, pipeWaitMs));
  }
  const head = new Uint8Array(max);
  let got = 0;
  try {
    if (kind === 'file') {
      const input = new FdInput('-', 0, false);
      try {
        for (let n = -1; got < max && n !== 0; got += n) n = input.read(head, got, max - got);
      } finally {
        input.close();
      }
    }
  } catch {
    // Left to the run's read of '-'.
  }
  return (stdinHead = head.subarray(0, got));
}

/** Standard input's first bytes if something looked at them (peekStdin) and the run has not read them yet. */
export function peekedStdin(): Uint8Array | null {
  return stdinHead;
}

class FdInput implements ByteInput {
  private done = 0;
  /** A background read in flight (the descriptor is closed only after it). */
  private inFlight: Promise<unknown> | null = null;
  readonly readAhead?: (dst: Uint8Array, off: number, len: number) => Promise<number>;

  constructor(private readonly path: string, private readonly fd: number, private readonly owned: boolean) {
    // Pipes and sockets are read by PipeInput; terminals keep the blocking reads in this thread.
    if (fileKind(fd) === 'file') this.readAhead = (dst, off, len) => this.readInBackground(dst, off, len);
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

/** 'stream': a pipe or a socket (read as it comes, by PipeInput); 'other': a terminal, a device. */
function fileKind(fd: number): 'file' | 'stream' | 'other' {
  try {
    const st = fs.fstatSync(fd);
    return st.isFile() ? 'file' : st.isFIFO() || st.isSocket() ? 'stream' : 'other';
  } catch {
    return 'other';
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

/** `head`, then the bytes of `rest` (standard input after peekStdin). */
class PrefixedInput implements ByteInput {
  private pos = 0;
  readonly readAhead?: (dst: Uint8Array, off: number, len: number) => Promise<number>;

  constructor(private readonly head: Uint8Array, private readonly rest: ByteInput) {
    const ahead = rest.readAhead;
    if (ahead !== undefined) {
      this.readAhead = (dst, off, len) => (this.pos < this.head.length ? Promise.resolve(this.read(dst, off, len)) : ahead(dst, off, len));
    }
  }

  read(dst: Uint8Array, off: number, len: number): number {
    if (this.pos === this.head.length) return this.rest.read(dst, off, len);
    const n = Math.min(len, this.head.length - this.pos);
    dst.set(this.head.subarray(this.pos, this.pos + n), off);
    this.pos += n;
    return n;
  }

  size(): number {
    return this.rest.size();
  }

  fileProgress(): { done: number; total: number } {
    const p = this.rest.fileProgress();
    return { done: p.done + this.pos, total: p.total };
  }

  close(): void {
    this.rest.close();
  }
}

/** Sequential bytes from a file, stdin or memory, with room to push back a partial record. */
export class Source {
  /** True once a read returned end of file. */
  eof = false;
  /** True when the last load() stopped because the input had nothing ready (not the end). */
  starved = false;
  /** File offset of chunk.data[0] after the last load(). */
  base = 0;
  /** Where the bytes of the last load() start in its buffer (after a read ahead, past the room left for the carry). */
  start = 0;
  private readPos = 0;                 // file offset of the next byte from the input
  private carry = new Uint8Array(0);
  private carryLen = 0;
  /** Bytes read ahead that did not fit where they landed (Source.loadAhead): loaded after the carry, before more is read. */
  private readonly over = new BufferQueue();
  private closed = false;
  /** A read ahead (readAhead()) into data[at...]; `got` < 0 until it lands. */
  private ahead: { data: Uint8Array; at: number; got: number; error: unknown; landed: Promise<void> } | null = null;

  constructor(readonly path: string, private readonly input: ByteInput) {}

  get bytesRead(): number { return this.readPos; }

  /** Size of a regular file, else 0. */
  size(): number {
    return this.input.size();
  }

  fileProgress(): { done: number; total: number } {
    return this.input.fileProgress();
  }

  /** After a starved load(): settles when the input may have bytes again; null when it will not (its end, or a signal: interruptPipes). */
  more(): Promise<void> | null {
    if (this.ahead !== null) return this.ahead.landed;
    return this.starved && !this.eof && this.input.more !== undefined && this.input.interrupted !== true ? this.input.more() : null;
  }

  static open(path: string): Source {
    if (path === '-') {
      if (stdinPipe !== null || fileKind(0) === 'stream') return new Source(path, takeStdinPipe());
      const head = stdinHead;
      stdinHead = null;
      const input = new FdInput(path, 0, false);
      return new Source(path, head === null || head.length === 0 ? input : new PrefixedInput(head, input));
    }
    let fd: number;
    try {
      fd = fs.openSync(path, 'r');
    } catch (err) {
      throw new TcpflowError('INPUT_OPEN', `${path}: ${strerror(err)}`);
    }
    return new Source(path, fileKind(fd) === 'stream' ? new PipeInput(path, fd, true) : new FdInput(path, fd, true));
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
   * Start reading the input's next bytes into `data` in the background (an input that
   * can: regular files), so that the next load() finds them there. They go to data[at...],
   * past room for the record the current buffer ends in, which is only known once that
   * buffer is parsed: load() puts it just before them. Until ready() has settled, `data`
   * must not be touched, nor the input read otherwise.
   */
  readAhead(data: Uint8Array): void {
    if (this.ahead !== null || this.eof || this.closed || this.input.readAhead === undefined || this.over.queued > 0) return;
    const at = Math.min(AHEAD_ROOM, data.length >> 2);
    const a = { data, at, got: -1, error: null as unknown, landed: Promise.resolve() };
    a.landed = this.input.readAhead(data, at, data.length - at).then((n) => { a.got = n; }, (e: unknown) => { a.got = 0; a.error = e; });
    this.ahead = a;
  }

  /** Settles once a read ahead has landed; null when none is in flight. */
  ready(): Promise<void> | null {
    return this.ahead !== null && this.ahead.got < 0 ? this.ahead.landed : null;
  }

  /** A read ahead was started and its bytes are not loaded yet. */
  get reading(): boolean {
    return this.ahead !== null;
  }

  /**
   * Put the carried bytes and then the input's next ones in `data`; return where they end
   * (they start at `start`). `next`: read the bytes after these into it in the background.
   */
  load(data: Uint8Array, next?: Uint8Array): number {
    let end: number;
    if (this.ahead !== null) end = this.loadAhead(data);
    else {
      const c = this.carryLen;
      this.base = this.readPos - this.over.queued - c;
      this.start = 0;
      if (c > 0) data.set(this.carry.subarray(0, c), 0);
      this.carryLen = 0;
      end = c + this.over.read(data, c, data.length - c);
      if (end < data.length) end += this.readFull(data, end, data.length - end);
    }
    // Only now: a read in flight would race the reads above for the file position.
    if (next !== undefined) this.readAhead(next);
    return end;
  }

  /** load() when a read ahead was started: the carry before its bytes, or both moved to the start of `data`. */
  private loadAhead(data: Uint8Array): number {
    const a = this.ahead as NonNullable<Source['ahead']>;
    if (a.got < 0) throw new Error('internal: load() before the read ahead landed');
    this.ahead = null;
    this.starved = false;
    if (a.error !== null) throw a.error;
    const c = this.carryLen, first = this.readPos - c;
    if (a.got === 0) this.eof = true;
    this.carryLen = 0;
    let end: number, got = a.got;
    if (a.data === data && c <= a.at) {
      this.start = a.at - c;
      if (c > 0) data.set(this.carry.subarray(0, c), this.start);
      end = a.at + got;
    } else {
      // Read into another chunk, or a carry larger than the room: carry, then the bytes
      // read, from data[0]; those that do not fit come first in the next load.
      this.start = 0;
      end = Math.min(c + got, data.length);
      if (end - c < got) {
        this.over.push(Buffer.from(a.data.subarray(a.at + end - c, a.at + got)));
        got = end - c;
      }
      if (a.data === data) data.copyWithin(c, a.at, a.at + got);
      else data.set(a.data.subarray(a.at, a.at + got), c);
      if (c > 0) data.set(this.carry.subarray(0, c), 0);
    }
    this.readPos += a.got;
    this.base = first - this.start;
    // A short read that is not the end of the file: the rest read as usual.
    if (got > 0 && end < data.length) end += this.readFull(data, end, data.length - end);
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

  ready(): Promise<void> | null {
    return this.src.ready();
  }
  get firstInterface(): CaptureInterface | null { return this.parser.firstInterface; }

  fill(chunk: Chunk, next?: Chunk): number {
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
      this.pump(chunk, view, max, next);
    } catch (err) {
      // Like libpcap, hand out the good records before the bad one; fail on the next call.
      this.failed = err;
      if (chunk.count > 0) return chunk.count;
      throw err;
    }
    return chunk.count;
  }

  private pump(chunk: Chunk, view: DataView, max: number, next: Chunk | undefined): void {
    const data = chunk.input;
    // Loop because a buffer may hold only non-packet blocks (pcapng).
    while (chunk.count === 0 && !this.done) {
      const end = this.src.load(data, next?.input);
      const base = this.src.base;
      const pos = this.parser.parse(chunk, view, this.src.start, end, base, max);
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
        // Parsers reject records larger than the buffer, so a buffer full from its start
        // always yields progress; this guards against a parser bug looping forever.
        if (pos === 0 && chunk.count === 0) {
          throw new TcpflowError('INPUT_CORRUPT', `${this.path}: record at byte ${base} does not fit in the read buffer`);
        }
        this.src.keep(data, pos, end);
        // The bytes after these are being read into `next`: fill again once they land (more()).
        if (this.src.reading) return;
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

/** A capture file, or standard input ('-'). A pipe is opened with openPipeCapture (its first bytes must have come). */
export function openCapture(path: string): CaptureReader {
  return openSource(Source.open(path));
}

/** Standard input ('-') that is a pipe or a socket, or a file that is a pipe (a FIFO): read as it comes (PipeInput). */
export function isPipe(path: string): boolean {
  try {
    return path === '-' ? fileKind(0) === 'stream' : fs.statSync(path).isFIFO();
  } catch {
    return false;
  }
}

/**
 * A capture from a pipe (isPipe), opened once its first bytes have come (the format is
 * told from them) without blocking the thread meanwhile: a signal stops the wait
 * (interruptPipes).
 */
export async function openPipeCapture(path: string): Promise<CaptureReader> {
  let pipe: PipeInput;
  if (path === '-') pipe = takeStdinPipe();
  else {
    let fd: number | null;
    try {
      fd = await openFifo(path);
    } catch (err) {
      throw new TcpflowError('INPUT_OPEN', `${path}: ${strerror(err)}`);
    }
    if (fd === null) throw new TcpflowError('INPUT_TRUNCATED', `${path}: the run was stopped before a writer opened the pipe`);
    pipe = new PipeInput(path, fd, true);
  }
  if ((await pipe.peek(24)).length < 4 && pipe.interrupted) {
    pipe.close();
    throw new TcpflowError('INPUT_TRUNCATED', `${path}: the run was stopped before the capture's first bytes came`);
  }
  return openSource(new Source(path, pipe));
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
