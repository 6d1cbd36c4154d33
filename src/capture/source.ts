import type { Chunk } from './chunk';
import { type CaptureInterface, type CaptureReader, isPipe, openCapture, openCaptureBuffer, openCaptureInput, openPipeCapture, type Truncation } from './reader';
import { TcpflowError } from '../errors';
import { DecompressedInput, detectCompression, type DecompressLimits, sniff } from './decompress';

/**
 * Where packets come from, as the coordinator sees it: something that fills chunks with
 * records. A capture file, standard input or a capture in memory today; a live interface,
 * a filtered or decompressed capture are further sources behind the same seam.
 */
export interface PacketSource {
  /** What messages call the input ('-' for standard input). */
  readonly name: string;
  /** Link type and snapshot length of the first interface, once known (-w copies them). */
  readonly firstInterface: CaptureInterface | null;
  /**
   * Fill `chunk` (from record 0) with the next records: resolves to their number (0 is
   * possible for a source still waiting for packets), or null once the input is
   * exhausted. A problem with the input rejects with a TcpflowError once the records
   * before it have been handed out. `next`: the chunk the caller will fill next, which
   * the source may start reading into in the background while the caller works on
   * `chunk`; the caller leaves it alone until it passes it to fill() or settle() has
   * resolved.
   */
  fill(chunk: Chunk, next?: Chunk): Promise<number | null>;
  /** Resolves once nothing is being read into a `next` chunk any more. */
  settle?(): Promise<void>;
  /**
   * Optional, for progress: bytes of the input file consumed so far and its size (0 when
   * unknown); for a compressed file, compressed bytes.
   */
  readonly progress?: { readonly done: number; readonly total: number };
  close(): void;
}

/** A capture that ends inside a record (or was cut while being read): what the file lacks. */
export class TruncatedInput extends TcpflowError {
  constructor(message: string, readonly truncation: Truncation | null) {
    super('INPUT_TRUNCATED', message);
  }
}

/** A pcap or pcapng capture read by our own zero-copy reader, from a file, stdin or memory. */
class CaptureSource implements PacketSource {
  private ended = false;

  constructor(private readonly reader: CaptureReader) {}

  get name(): string { return this.reader.path; }
  get firstInterface(): CaptureInterface | null { return this.reader.firstInterface; }
  get progress(): { done: number; total: number } {
    return this.reader.fileProgress;
  }

  async fill(chunk: Chunk, next?: Chunk): Promise<number | null> {
    if (this.ended) return null;
    await this.reader.ready();
    // The next read goes on while these records are parsed and dispatched.
    let n = this.reader.fill(chunk, next);
    for (let more = this.reader.more(); n === 0 && more !== null; more = this.reader.more()) {
      await more;
      n = this.reader.fill(chunk, next);
    }
    if (n > 0) return n;
    this.ended = true;
    const r = this.reader;
    if (r.shrankFrom !== null) {
      // Someone else truncated the file under us: even at a record boundary it is not the capture it was.
      throw new TruncatedInput(`${r.path}: truncated while being read: ${r.shrankFrom} bytes when opened, only ${r.bytesRead} read; packets before it are kept`, r.truncation);
    }
    const t = r.truncation;
    if (t !== null) {
      throw new TruncatedInput(`${r.path}: truncated dump file; tried to read ${t.wanted} ${t.what}, only got ${t.got} (at byte ${t.offset}); packets before it are kept`, t);
    }
    return null;
  }

  async settle(): Promise<void> {
    await this.reader.ready();
  }

  close(): void {
    this.reader.close();
  }
}

/** The source of a reader already opened (tests and the fuzzer look at the reader too). */
export function captureSource(reader: CaptureReader): PacketSource {
  return new CaptureSource(reader);
}

/** A capture file, or standard input for '-'. Throws a TcpflowError naming it when it cannot be opened or is no capture. */
export function openFileSource(path: string): PacketSource {
  return new CaptureSource(openCapture(path));
}

/**
 * A capture file that may be compressed (gzip, bzip2, xz, zstd: recognised by its first
 * bytes, not its name), or standard input for '-' (read as it is). Rejects with a
 * TcpflowError naming the file when it cannot be opened or holds no capture.
 */
export async function openInput(path: string, limits: DecompressLimits): Promise<PacketSource> {
  if (isPipe(path)) return new CaptureSource(await openPipeCapture(path));
  const head = path === '-' ? null : sniff(path);
  const kind = head === null ? null : detectCompression(head);
  if (kind === null) return openFileSource(path);
  const input = new DecompressedInput(path, kind, limits);
  try {
    // The capture's own header must be there before its format can be told.
    await input.waitFor(24);
    return new CaptureSource(openCaptureInput(path, input));
  } catch (e) {
    input.close();
    if (e instanceof TcpflowError && e.code === 'INPUT_FORMAT') {
      throw new TcpflowError('INPUT_FORMAT', `${path}: unknown file format inside its ${kind} compression`);
    }
    throw e;
  }
}

/** A capture already in memory, read exactly as a file is; `name` stands for it in messages. */
export function memorySource(name: string, bytes: Uint8Array): PacketSource {
  return new CaptureSource(openCaptureBuffer(name, bytes));
}
