/**
 * Compressed captures (spec §5: tcpflow pipes .gz, .bz2, .xz ... through the command-line
 * tools): the format is recognised by its magic bytes, whatever the name, and the file
 * is decompressed as a stream (a bounded buffer ahead of the reader, never the whole
 * file), under a cap on the decompressed size and on the expansion ratio.
 *
 * gzip: node:zlib. zstd: fzstd (pure JavaScript). xz: xz-decompress (xz-embedded in
 * WebAssembly). bzip2: unbzip2-stream (pure JavaScript). Speeds are in the README.
 */
import * as fs from 'node:fs';
import type { Readable, Transform } from 'node:stream';
import { TcpflowError } from '../errors';
import { NOT_YET, type ByteInput } from './reader';
import { BufferQueue } from './buffer-queue';
import { strerror } from '../util/strerror';

export type Compression = 'gzip' | 'bzip2' | 'xz' | 'zstd';

/** Bytes needed to recognise every format below. */
export const MAGIC_BYTES = 6;

/** The compression format whose magic bytes `head` starts with, or null. */
export function detectCompression(head: Uint8Array): Compression | null {
  const b = head;
  if (b.length >= 3 && b[0] === 0x1f && b[1] === 0x8b && b[2] === 8) return 'gzip';
  if (b.length >= 4 && b[0] === 0x42 && b[1] === 0x5a && b[2] === 0x68 && b[3] >= 0x31 && b[3] <= 0x39) return 'bzip2';
  if (b.length >= 6 && b[0] === 0xfd && b[1] === 0x37 && b[2] === 0x7a && b[3] === 0x58 && b[4] === 0x5a && b[5] === 0) return 'xz';
  if (b.length >= 4 && b[0] === 0x28 && b[1] === 0xb5 && b[2] === 0x2f && b[3] === 0xfd) return 'zstd';
  return null;
}

/** The decompression bound (hostile input: a small file must not become an endless capture). */
export interface DecompressLimits {
  /** Decompressed bytes allowed per input file. */
  maxBytes: number;
  /** Decompressed bytes allowed per compressed byte read (past the first RATIO_SLACK bytes). */
  maxRatio: number;
}

/** 1 TiB per file: far above any real capture file, far below what a bomb can claim. */
export const DEFAULT_MAX_DECOMPRESSED = 2 ** 40;
/** Captures compress 2-20 times; gzip cannot exceed ~1,032. */
export const DEFAULT_MAX_RATIO = 1000;
/** Decompressed bytes always allowed, whatever the ratio (headers, tiny files). */
const RATIO_SLACK = 1 << 20;
/** Decompressed bytes buffered ahead of the reader before the decompressor is paused. */
const AHEAD = 8 << 20;

/**
 * node:stream and node:zlib, loaded by the first compressed input: a run without one does
 * not pay for loading them (~1 ms of a small run's start-up, README Performance).
 */
function nodeStream(): typeof import('node:stream') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('node:stream') as typeof import('node:stream');
}

/** zstd through fzstd's push decoder. */
function zstdTransform(): Transform {
  // Loaded on first use: most runs read no compressed input.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fzstd = require('fzstd') as typeof import('fzstd');
  const step = (chunk: Uint8Array, final: boolean, done: (e?: Error) => void): void => {
    try {
      decoder.push(chunk, final);
      done();
    } catch (e) {
      done(e as Error);
    }
  };
  const out: Transform = new (nodeStream().Transform)({
    transform: (chunk: Buffer, _enc, done) => step(chunk, false, done),
    flush: (done) => step(new Uint8Array(0), true, done),
  });
  // Called by push() only, once `out` exists.
  const decoder = new fzstd.Decompress((chunk) => { if (chunk.length > 0) out.push(chunk); });
  return out;
}

function decompressor(kind: Compression, file: Readable): Readable {
  switch (kind) {
    case 'gzip':
      // Concatenated members (pigz, `cat a.gz b.gz`) are read as one stream.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return file.pipe((require('node:zlib') as typeof import('node:zlib')).createGunzip({ chunkSize: 256 << 10 }));
    case 'zstd':
      return file.pipe(zstdTransform());
    case 'bzip2': {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const unbzip2 = require('unbzip2-stream') as () => NodeJS.ReadWriteStream;
      // An old-style (`through`) stream: wrapped for pause/resume and backpressure.
      const bz = file.pipe(unbzip2());
      const out = new (nodeStream().Readable)({ highWaterMark: 1 << 20 }).wrap(bz);
      bz.on('error', (e: Error) => out.destroy(e));
      return out;
    }
    case 'xz': {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { XzReadableStream } = require('xz-decompress') as typeof import('xz-decompress');
      const { Readable: R } = nodeStream();
      const web = R.toWeb(file) as unknown as ReadableStream<Uint8Array>;
      return R.fromWeb(new XzReadableStream(web) as unknown as import('node:stream/web').ReadableStream<Uint8Array>);
    }
  }
}

/**
 * The decompressed bytes of a file, as a ByteInput: a decompressor runs ahead of the
 * reader by at most AHEAD bytes; read() hands out what is there (NOT_YET when nothing
 * is), more() waits for the next piece. A decompression error, a truncated file or a
 * bound exceeded is thrown by the read after the last good byte.
 */
export class DecompressedInput implements ByteInput {
  private readonly queue = new BufferQueue();
  private produced = 0;    // decompressed bytes so far
  private ended = false;
  private failure: TcpflowError | null = null;
  private waiter: (() => void) | null = null;
  private readonly file: fs.ReadStream;
  private readonly out: Readable;
  private readonly fileSize: number;

  constructor(private readonly path: string, readonly kind: Compression, private readonly limits: DecompressLimits) {
    let fd: number;
    try {
      fd = fs.openSync(path, 'r');
      this.fileSize = fs.fstatSync(fd).size;
    } catch (e) {
      throw new TcpflowError('INPUT_OPEN', `${path}: ${strerror(e)}`);
    }
    this.file = fs.createReadStream('', { fd, highWaterMark: 1 << 20 });
    this.file.on('error', (e) => this.fail(new TcpflowError('INPUT_OPEN', `${path}: ${strerror(e)}`)));
    this.out = decompressor(kind, this.file);
    this.out.on('data', (b: Buffer) => this.onData(b));
    this.out.on('end', () => { this.ended = true; this.wake(); });
    this.out.on('error', (e: Error) => this.fail(new TcpflowError('INPUT_CORRUPT',
      `${path}: ${kind} data corrupt or truncated after ${this.produced} decompressed bytes (${e.message.replace(/\s+/g, ' ')}); packets before it are kept`)));
  }

  /** Resolves once `n` bytes are buffered, or at the end or an error (the open sniffs the capture's header). */
  async waitFor(n: number): Promise<void> {
    while (this.queue.queued < n && !this.ended && this.failure === null) await this.more();
  }

  read(dst: Uint8Array, off: number, len: number): number {
    const got = this.queue.read(dst, off, len);
    if (this.queue.queued < AHEAD && this.out.isPaused() && this.failure === null) this.out.resume();
    if (got > 0) return got;
    if (this.failure !== null) throw this.failure;
    return this.ended ? 0 : NOT_YET;
  }

  more(): Promise<void> {
    return new Promise((resolve) => { this.waiter = resolve; });
  }

  size(): number {
    return 0;
  }

  fileProgress(): { done: number; total: number } {
    return { done: this.file.bytesRead, total: this.fileSize };
  }

  close(): void {
    this.out.destroy();
    this.file.destroy();
  }

  private onData(b: Buffer): void {
    this.produced += b.length;
    const { maxBytes, maxRatio } = this.limits;
    if (this.produced > maxBytes) {
      this.fail(new TcpflowError('INPUT_CORRUPT', `${this.path}: decompresses to more than ${maxBytes} bytes ` +
        `(-S decompress_max_bytes=${maxBytes}); packets before it are kept`));
      return;
    }
    if (this.produced > RATIO_SLACK && this.produced > maxRatio * this.file.bytesRead) {
      this.fail(new TcpflowError('INPUT_CORRUPT', `${this.path}: decompresses to more than ${maxRatio} times its ` +
        `compressed size (${this.produced} bytes from ${this.file.bytesRead}; -S decompress_max_ratio=${maxRatio}); ` +
        'a decompression bomb? packets before it are kept'));
      return;
    }
    this.queue.push(b);
    if (this.queue.queued >= AHEAD) this.out.pause();
    this.wake();
  }

  private fail(e: TcpflowError): void {
    if (this.failure === null) this.failure = e;
    this.out.pause();
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }
}

/**
 * The first bytes of a regular file (fewer when it is shorter), to recognise its format;
 * null for anything else (a pipe or a device is not read ahead: the bytes would be lost).
 * A FIFO is not even opened: opening one waits for its writer, and closing it again can
 * leave the writer with no reader for a moment (SIGPIPE: it dies, and the run's own open
 * then waits for ever).
 */
export function sniff(path: string): Uint8Array | null {
  let fd: number;
  try {
    if (!fs.statSync(path).isFile()) return null;
    fd = fs.openSync(path, 'r');
  } catch (e) {
    throw new TcpflowError('INPUT_OPEN', `${path}: ${strerror(e)}`);
  }
  try {
    if (!fs.fstatSync(fd).isFile()) return null;
    const head = new Uint8Array(MAGIC_BYTES);
    let got = 0;
    while (got < MAGIC_BYTES) {
      const n = fs.readSync(fd, head, got, MAGIC_BYTES - got, got);
      if (n === 0) break;
      got += n;
    }
    return head.subarray(0, got);
  } catch (e) {
    throw new TcpflowError('INPUT_OPEN', `${path}: ${strerror(e)}`);
  } finally {
    fs.closeSync(fd);
  }
}
