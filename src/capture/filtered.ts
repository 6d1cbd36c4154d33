/**
 * A capture file seen through a filter expression: libpcap selects the records in a child
 * process (filter-child.ts) and our zero-copy reader parses what it selected from the pipe.
 * node_pcap has no pcap_compile/pcap_offline_filter to run per record, and its offline
 * session reads a whole file in one synchronous call; a child keeps memory bounded (the
 * pipe is the back-pressure) and the filter exactly libpcap's. The file is opened by our
 * own reader first, so a missing or damaged file gets the same message as without a filter;
 * a compressed one is decompressed by us into the child's standard input.
 */
import type { ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { allocChunk, type Chunk } from './chunk';
import { type ByteInput, type CaptureInterface, type CaptureReader, NOT_YET, openCaptureInput } from './reader';
import { openFileSource, openInput, type PacketSource } from './source';
import { checkFilter, libpcap } from './libpcap';
import { DecompressedInput, type DecompressLimits, detectCompression, sniff } from './decompress';
import { EXIT, TcpflowError } from '../errors';
import { DIST_ROOT } from '../util/dist';
import { BufferQueue } from './buffer-queue';

/** Bytes of the child's output held here at most before it is made to wait. */
const HIGH_WATER = 16 * 1024 * 1024;

/** The child's output, queued as it arrives; read() is only called once enough is queued. */
class QueuedInput implements ByteInput {
  private readonly queue = new BufferQueue();
  total = 0;
  ended = false;
  private wake: (() => void) | null = null;

  constructor(private readonly stream: NodeJS.ReadableStream) {
    stream.on('data', (b: Buffer) => {
      this.queue.push(b);
      this.total += b.length;
      if (this.queue.queued >= HIGH_WATER) stream.pause();
      this.notify();
    });
    stream.on('end', () => { this.ended = true; this.notify(); });
    stream.on('error', () => { this.ended = true; this.notify(); });
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  get queued(): number { return this.queue.queued; }

  /** Resolves once `bytes` are queued or the stream has ended. */
  async want(bytes: number): Promise<void> {
    while (this.queue.queued < bytes && !this.ended) {
      this.stream.resume();
      await new Promise<void>((resolve) => { this.wake = resolve; });
    }
  }

  read(dst: Uint8Array, off: number, len: number): number {
    const n = this.queue.read(dst, off, len);
    if (this.queue.queued < HIGH_WATER / 2) this.stream.resume();
    return n;
  }

  size(): number { return 0; }
  /** The capture's own size is unknown here: only what the child has selected so far. */
  fileProgress(): { done: number; total: number } { return { done: this.total, total: 0 }; }
  close(): void {}
}

/**
 * A compressed capture's decompressed bytes into the child's standard input (libpcap knows
 * no compression), as the child takes them: memory stays at the decompressor's look-ahead
 * plus the pipe. Resolves with the decompressor's error (corrupt data, a bound exceeded),
 * or null once every byte was handed on (or the child stopped reading).
 */
async function pump(input: DecompressedInput, stdin: Writable): Promise<TcpflowError | null> {
  let gone = false;
  // Room in the pipe again, or the child is gone.
  const drained = (): Promise<void> => new Promise((resolve) => {
    const done = (): void => { stdin.off('drain', done); stdin.off('close', done); resolve(); };
    stdin.on('drain', done);
    stdin.on('close', done);
  });
  // The child exits early on an expression its link type refuses: its message says why.
  stdin.on('error', () => { gone = true; });
  stdin.once('close', () => { gone = true; });
  try {
    while (!gone) {
      const piece = Buffer.allocUnsafe(1 << 20);
      const n = input.read(piece, 0, piece.length);
      if (n === NOT_YET) { await input.more(); continue; }
      if (n === 0) break;
      if (!stdin.write(piece.subarray(0, n))) await drained();
    }
    return null;
  } catch (e) {
    return e instanceof TcpflowError ? e : new TcpflowError('INPUT_CORRUPT', String(e), EXIT.INPUT);
  } finally {
    stdin.end();
  }
}

class FilteredSource implements PacketSource {
  private reader: CaptureReader | null = null;
  private readonly input: QueuedInput;
  private readonly exited: Promise<{ code: number | null; stderr: string }>;
  private done = false;
  /** A compressed file: the decompressor feeding the child, and how that ended. */
  private readonly feeding: Promise<TcpflowError | null>;

  constructor(readonly name: string, private readonly child: ChildProcess, private readonly opened: CaptureInterface | null,
    private readonly decompressed: { input: DecompressedInput; limits: DecompressLimits } | null = null) {
    this.feeding = decompressed === null ? Promise.resolve(null) : pump(decompressed.input, child.stdin as Writable);
    this.input = new QueuedInput(child.stdout as NodeJS.ReadableStream);
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => { stderr += b.toString(); });
    this.exited = new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
  }

  get firstInterface(): CaptureInterface | null {
    return this.opened ?? this.reader?.firstInterface ?? null;
  }

  get progress(): { done: number; total: number } {
    return { done: this.input.total, total: 0 };
  }

  async fill(chunk: Chunk): Promise<number | null> {
    if (this.done) return null;
    if (this.reader === null) {
      await this.input.want(24);
      if (this.input.queued === 0) return this.end();
      this.reader = openCaptureInput(this.name, this.input);
    }
    await this.input.want(chunk.data.length);
    const n = this.reader.fill(chunk);
    return n > 0 ? n : this.end();
  }

  /** The child's verdict once its output is read to the end. */
  private async end(): Promise<null> {
    this.done = true;
    const { code, stderr } = await this.exited;
    // The decompressor's own message first (where the data went bad, a bound), as without a filter.
    const fed = await this.feeding;
    if (fed !== null) throw fed;
    const message = stderr.trim().split('\n')[0] ?? '';
    if (code === 2) throw new TcpflowError('FILTER', message || `${this.name}: libpcap cannot read it`, EXIT.INPUT);
    if (code === 3) throw await damaged(this.name, this.decompressed?.limits ?? null);
    if (code !== 0) throw new TcpflowError('INPUT_CORRUPT', `${this.name}: the filter process failed (${message || `exit status ${code}`})`, EXIT.INPUT);
    return null;
  }

  close(): void {
    this.reader?.close();
    this.decompressed?.input.close();
    if (this.child.exitCode === null) this.child.kill();
  }
}

/**
 * libpcap stopped inside `file`: our reader says where and why (it reads the file again,
 * only in this case); standard input cannot be read twice.
 */
async function damaged(file: string, limits: DecompressLimits | null): Promise<TcpflowError> {
  const generic = new TcpflowError('INPUT_CORRUPT', `${file}: libpcap stopped reading before the end (damaged or truncated capture); packets before it are kept`, EXIT.INPUT);
  if (file === '-' || !fs.statSync(file, { throwIfNoEntry: false })?.isFile()) return generic;
  let source: PacketSource;
  try {
    source = limits === null ? openFileSource(file) : await openInput(file, limits);
  } catch (e) {
    return e instanceof TcpflowError ? e : generic;
  }
  const scratch = allocChunk(1 << 20, 16384);
  try {
    while (await source.fill(scratch) !== null);
    return generic;
  } catch (e) {
    return e instanceof TcpflowError ? e : generic;
  } finally {
    source.close();
  }
}

/**
 * `file` ('-': stdin) filtered by `filter`. Throws, before any record is read, what
 * reading the file without a filter would throw, or libpcap's message for an expression
 * it cannot compile for this file's link type. A compressed file (gzip, bzip2, xz, zstd)
 * is decompressed here, within `limits`, into the child's standard input.
 */
export async function openFilteredSource(file: string, filter: string, limits: DecompressLimits): Promise<PacketSource> {
  const pcap = libpcap('a filter expression');
  const head = file === '-' ? null : sniff(file);
  const kind = head === null ? null : detectCompression(head);
  let opened: CaptureInterface | null = null;
  let decompressed: { input: DecompressedInput; limits: DecompressLimits } | null = null;
  if (kind !== null) {
    // Our reader looks at the decompressed capture first (its messages for what is not one),
    // then a second decompressor feeds the child.
    const own = await openInput(file, limits);
    opened = own.firstInterface;
    own.close();
    decompressed = { input: new DecompressedInput(file, kind, limits), limits };
  } else if (file !== '-' && (fs.statSync(file, { throwIfNoEntry: false })?.isFile() ?? true)) {
    // Only a regular file can be read twice: a pipe (`-r <(zcat x.gz)`) goes to libpcap untouched.
    const own = openFileSource(file);
    opened = own.firstInterface;
    own.close();
    checkFilter(pcap, file, filter);
  }
  // node:child_process loaded when a filter is used: it is ~1 ms of every run's start-up (net, dgram ...).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { spawn } = require('node:child_process') as typeof import('node:child_process');
  const child = spawn(process.execPath, [path.join(DIST_ROOT, 'src/capture/filter-child.js'), decompressed !== null ? '-' : file, filter], {
    stdio: [file === '-' ? 'inherit' : decompressed !== null ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  return new FilteredSource(file, child, opened, decompressed);
}
