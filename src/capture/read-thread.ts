/**
 * A large capture file read with a second thread: the reader thread (read-worker.ts) reads
 * each chunk's bytes and walks its records while the main thread dispatches and processes
 * the chunk before it; a main thread that would wait for a chunk reads pieces of it itself
 * (pieces.ts). Until the thread has started (~30-80 ms) the main thread reads as before,
 * then hands over at a record boundary. Same records, same errors as the main thread's
 * reader (the thread runs that reader): only the chunks' boundaries may differ.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { Chunk } from './chunk';
import { END, FAILED, ReadControl, STOP } from './pieces';
import type { CaptureInterface, CaptureReader } from './reader';
import type { ReaderData, ReadFailure, ToReader } from './read-worker';
import { captureSource, type PacketSource, TruncatedInput } from './source';
import { EXIT, TcpflowError } from '../errors';
import { BUNDLED, DIST_ROOT } from '../util/dist';

/** Files smaller than this are read by the main thread alone: the thread's start-up would cost more than it saves. */
export const READ_THREAD_MIN_BYTES = 64 * 1024 * 1024;

const WORKER_FILE = path.join(DIST_ROOT, BUNDLED ? 'bundle/read-worker.js' : 'src/capture/read-worker.js');

export class ThreadedFileSource implements PacketSource {
  private readonly seq: PacketSource;
  private readonly control = new ReadControl();
  private readonly worker: Worker;
  private readonly port: MessageChannel['port1'];
  private readonly ids = new Map<Chunk, number>();
  private readonly chunkOf: Chunk[] = [];
  private readonly helpFd: number;
  /** Posted chunks whose results are not read yet, oldest first, and the number of the next command. */
  private readonly posted: Chunk[] = [];
  private nextCommand = 0;
  private nextResult = 0;
  private lastTaken: Chunk | null = null;
  private isThreaded = false;
  private ended = false;
  private dead: Error | null = null;
  private done = 0;
  private closed = false;

  constructor(private readonly reader: CaptureReader, private readonly size: number) {
    this.seq = captureSource(reader);
    this.helpFd = fs.openSync(reader.path, 'r');
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const data: ReaderData = { path: reader.path, control: this.control.sab, port: port2 };
    this.worker = new Worker(WORKER_FILE, { workerData: data, transferList: [port2] });
    this.worker.unref();
    this.worker.on('error', (e) => { this.dead = e; });
    this.worker.on('exit', () => { this.dead ??= new Error('the reader thread ended'); });
  }

  /** Whether the thread reads now (it has taken over from the main thread). */
  get threaded(): boolean { return this.isThreaded; }

  /** Resolves once the thread could take over at the next fill (false: it cannot, it failed). */
  async started(): Promise<boolean> {
    while (this.control.ready === 0 && this.dead === null) await new Promise((resolve) => setTimeout(resolve, 1));
    return this.control.ready === 1 && this.dead === null;
  }

  get name(): string { return this.reader.path; }
  get firstInterface(): CaptureInterface | null { return this.reader.firstInterface; }
  get progress(): { done: number; total: number } {
    return this.isThreaded ? { done: this.done, total: this.size } : this.reader.fileProgress;
  }

  async fill(chunk: Chunk, next?: Chunk): Promise<number | null> {
    if (this.ended) return null;
    if (!this.isThreaded) return this.fillHere(chunk, next);
    if (this.posted.length === 0) this.post(chunk);
    // Named before this chunk is waited for: the thread reads it next, and this thread may help.
    if (next !== undefined && this.posted.length === 1 && this.posted[0] !== next) this.post(next);
    const n = await this.take();
    // The caller may fill another chunk than the one it named ahead (PacketSource.fill).
    if (n !== null && this.lastTaken !== chunk) copyRecords(this.lastTaken as Chunk, chunk);
    return n;
  }

  /** The main thread's own reader, until the thread can take over, which it does after this chunk. */
  private async fillHere(chunk: Chunk, next: Chunk | undefined): Promise<number | null> {
    const takeOver = this.control.ready === 1 && this.dead === null;
    const n = await this.seq.fill(chunk, takeOver ? undefined : next);
    if (n === null) {
      this.ended = true;
      return null;
    }
    const h = takeOver ? this.reader.handoff() : null;
    if (h !== null) {
      this.send({ type: 'start', handoff: h, size: this.size });
      this.isThreaded = true;
      this.done = h.offset;
      if (next !== undefined) this.post(next);
    }
    return n;
  }

  private send(m: ToReader): void {
    this.port.postMessage(m);
  }

  private post(chunk: Chunk): void {
    let id = this.ids.get(chunk);
    if (id === undefined) {
      id = this.ids.size;
      this.ids.set(chunk, id);
      this.chunkOf[id] = chunk;
      this.send({ type: 'chunk', id, chunk });
    }
    this.posted.push(chunk);
    this.control.post(this.nextCommand++, id);
  }

  /** The oldest posted chunk's result; while it is not in, read pieces of it here. */
  private async take(): Promise<number | null> {
    const chunk = this.posted[0];
    const seq = this.nextResult;
    const table = this.control.table;
    const enough = () => this.control.answered(seq, 0);
    for (let waited = 0; !this.control.answered(seq, 0);) {
      const gen = table.gen;
      // The pieces of this chunk, or of the next one while this one is walked.
      const into = this.chunkOf[table.slot];
      if (into !== undefined && this.posted.includes(into)) table.readPieces(this.helpFd, into.input, gen, true, this.reader.path, enough);
      if (this.control.answered(seq, 5)) break;
      // A thread that died cannot say so while this one waits: let its events in now and then.
      if ((waited += 5) % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
      if (this.dead !== null) {
        this.ended = true;
        throw new TcpflowError('WORKER', `${this.reader.path}: the reader thread failed: ${this.dead.message}`, EXIT.WORKER);
      }
    }
    this.lastTaken = this.posted.shift() as Chunk;
    this.nextResult++;
    const { result, done } = this.control.result(seq);
    this.done = done;
    if (result === END) {
      this.ended = true;
      return null;
    }
    if (result === FAILED) throw this.failure(seq);
    chunk.count = result;
    return result;
  }

  private failure(seq: number): TcpflowError {
    const m = receiveMessageOnPort(this.port)?.message as ReadFailure | undefined;
    if (m === undefined || m.seq !== seq) return new TcpflowError('WORKER', `${this.reader.path}: the reader thread lost an error`, EXIT.WORKER);
    if (m.code === 'INTERNAL') throw new Error(m.message);
    // The reader ends after a truncation (later fills say null), and keeps failing after any other error.
    if (m.code === 'INPUT_TRUNCATED') {
      this.ended = true;
      return new TruncatedInput(m.message, m.truncation ?? null);
    }
    return new TcpflowError(m.code as TcpflowError['code'], m.message, m.exitCode);
  }

  /** Once the reader thread is done with every chunk named to it (their results wait for fill). */
  async settle(): Promise<void> {
    if (!this.isThreaded) return this.seq.settle?.();
    for (let waited = 0; !this.control.answered(this.nextCommand - 1, 5) && this.dead === null;) {
      if ((waited += 5) % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.control.post(this.nextCommand++, STOP);
    void this.worker.terminate();
    this.seq.close();
    fs.closeSync(this.helpFd);
  }
}

/** A chunk's records and the bytes they lie in, copied to another chunk. */
function copyRecords(from: Chunk, to: Chunk): void {
  const n = from.count;
  let end = 0;
  for (let i = 0; i < n; i++) end = Math.max(end, from.offset[i] + from.caplen[i]);
  to.data.set(from.data.subarray(0, end));
  for (const k of ['offset', 'caplen', 'origlen', 'usec', 'linktype', 'sec'] as const) to[k].set(from[k].subarray(0, n));
  to.count = n;
}
