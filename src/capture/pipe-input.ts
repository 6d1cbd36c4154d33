import * as fs from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { TcpflowError } from '../errors';
import { strerror } from '../util/strerror';
import { NOT_YET, type ByteInput } from './reader';

/** Control words shared with the thread: bytes written and read (32-bit counters that wrap), the end, stop, a reader waiting. */
const WRITTEN = 0, READ = 1, END = 2, STOP = 3, WAITING = 4;
/** END: 1 the end of input, 2 a read failed (the thread's message says why). */
const AT_END = 1, FAILED = 2;
/**
 * Bytes read through libuv's pool before the thread takes over: a small input never boots
 * it (a thread's start took ~40 ms, most of a small run through a pipe), a large one pays
 * a main-thread callback per read (≤ 64 KiB from a pipe) only for its first MiB.
 */
const POOL_BYTES = 1 << 20;

/**
 * The thread's code (a script of its own, not a module of the bundle: it needs only Node's
 * fs). It reads the descriptor into a ring of shared memory as long as there is room
 * (blocking reads; a pipe that someone made non-blocking is polled every 2 ms), and wakes
 * the reader when it waits. It never touches memory but the ring, so a reader that stops
 * waiting need not wait for it.
 */
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { fd, ring, control } = workerData;
const data = new Uint8Array(ring), c = new Int32Array(control), size = data.length;
const nap = new Int32Array(new SharedArrayBuffer(4));
const wake = (m) => { if (Atomics.exchange(c, ${WAITING}, 0) === 1 || m !== null) parentPort.postMessage(m); };
for (;;) {
  if (Atomics.load(c, ${STOP}) !== 0) break;
  const w = Atomics.load(c, ${WRITTEN}), r = Atomics.load(c, ${READ});
  const free = size - ((w - r) | 0);
  if (free === 0) { Atomics.wait(c, ${READ}, r); continue; }
  const at = w & (size - 1);
  let n;
  try {
    n = fs.readSync(fd, data, at, Math.min(free, size - at), null);
  } catch (e) {
    if (e.code === 'EAGAIN') { Atomics.wait(nap, 0, 0, 2); continue; }
    Atomics.store(c, ${END}, ${FAILED});
    wake({ code: e.code ?? null, message: String(e.message ?? e) });
    break;
  }
  if (n === 0) { Atomics.store(c, ${END}, ${AT_END}); wake(null); break; }
  Atomics.store(c, ${WRITTEN}, (w + n) | 0);
  wake(null);
}
`;

/** Pipes being read: a signal interrupts every wait on them (interruptPipes). */
const reading = new Set<PipeInput>();
/** Named pipes being opened (open(2) waits for a writer): a signal ends the wait. */
const opening = new Set<() => void>();

/**
 * A named pipe opened for reading without blocking this thread (libuv's pool waits in
 * open(2) until a writer opens it): its descriptor, or null when interruptPipes() came
 * first (a descriptor opened later is closed).
 */
export function openFifo(path: string): Promise<number | null> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const stop = (): void => {
      settled = true;
      opening.delete(stop);
      resolve(null);
    };
    opening.add(stop);
    fs.open(path, 'r', (err, fd) => {
      if (settled) {
        if (err === null) fs.close(fd, () => {});
        return;
      }
      settled = true;
      opening.delete(stop);
      if (err !== null) reject(err);
      else resolve(fd);
    });
  });
}

/**
 * A signal's orderly stop: no wait on a pipe goes on (a writer that neither writes nor
 * closes would hold the run): every PipeInput's more() and peek() settle now and from now
 * on, and its reader ends its input after the records already whole (Source.more); a
 * named pipe still waiting for its writer is not opened (openFifo).
 */
export function interruptPipes(): void {
  for (const p of reading) p.interrupt();
  for (const stop of [...opening]) stop();
}

/**
 * A pipe (standard input, a FIFO named with -r; a socket as stdin) read into a ring of
 * shared memory, its first MiB through libuv's pool, then by a thread of its own, and
 * handed out as it comes: read() gives what is there (NOT_YET when nothing is: more()
 * settles once there is), so the run never blocks in a read of its own. A pipe holds 64
 * KiB: reading only when the next chunk was wanted kept its writer waiting while the chunk
 * before was processed. A signal's orderly stop interrupts the wait (interrupt()): a run
 * reading a pipe whose writer neither writes nor closes still stops at once, its reports
 * complete; a read blocked meanwhile ends with the process (src/util/exit.ts) or once the
 * writer writes or closes.
 */
export class PipeInput implements ByteInput {
  private readonly ring: Uint8Array;
  /**
   * The ring as a Buffer, to copy out of: TypedArray.set between shared memory runs V8's
   * relaxed_memmove (word by word, safe against racing threads), 12 % of the main thread's
   * samples through a pipe of bulk.pcap; Buffer.copy is a memmove.
   */
  private readonly ringBuffer: Buffer;
  private readonly control = new Int32Array(new SharedArrayBuffer(5 * 4));
  private worker: Worker | null = null;
  /** Reading has started: libuv's pool's reads, then (worker set) the thread's. */
  private started = false;
  private poolBytes = 0;
  /** A pool read in flight; the ring full (the next one waits for read()). */
  private poolReading = false;
  private poolStalled = false;
  /** Bytes handed out (the thread's READ word, wrapping as it does). */
  private taken = 0;
  private done = 0;
  private waiters: (() => void)[] = [];
  private failure: { code: string | null; message: string } | null = null;
  private stopped = false;
  private closed = false;

  /**
   * `fd`: the pipe, read from now on by the thread; closed after it when `owned`.
   * `ringBytes`: a power of two (the most read ahead of the run).
   */
  constructor(readonly path: string, private readonly fd: number, private readonly owned: boolean, ringBytes = 4 << 20) {
    if (ringBytes <= 0 || (ringBytes & (ringBytes - 1)) !== 0) throw new RangeError(`ring of ${ringBytes} bytes: not a power of two`);
    this.ring = new Uint8Array(new SharedArrayBuffer(ringBytes));
    this.ringBuffer = Buffer.from(this.ring.buffer);
    reading.add(this);
  }

  /** interrupt() was called: nothing more will be waited for. */
  get interrupted(): boolean {
    return this.stopped;
  }

  private get available(): number {
    return (Atomics.load(this.control, WRITTEN) - this.taken) | 0;
  }

  read(dst: Uint8Array, off: number, len: number): number {
    this.start();
    const n = Math.min(len, this.available);
    if (n > 0) {
      this.copyOut(Buffer.from(dst.buffer, dst.byteOffset, dst.byteLength), off, n);
      this.taken = (this.taken + n) | 0;
      this.done += n;
      Atomics.store(this.control, READ, this.taken);
      Atomics.notify(this.control, READ);
      if (this.poolStalled) {
        this.poolStalled = false;
        this.readByPool();
      }
      return n;
    }
    if (this.failure !== null) {
      throw new TcpflowError('INPUT_OPEN', `${this.path}: ${strerror(Object.assign(new Error(this.failure.message), { code: this.failure.code ?? undefined }))}`);
    }
    return Atomics.load(this.control, END) === AT_END ? 0 : NOT_YET;
  }

  /** Settles once there are bytes, the end (or a failure), or the wait was interrupted. */
  more(): Promise<void> {
    return this.past(0);
  }

  /** Settles once more than `seen` bytes are there, the end (or a failure), or the wait was interrupted. */
  private past(seen: number): Promise<void> {
    this.start();
    if (this.beyond(seen)) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      // A pool read in flight keeps the event loop alive by itself.
      this.worker?.ref();
      Atomics.store(this.control, WAITING, 1);
      // The thread may have written between the look above and the flag: look again.
      if (this.beyond(seen)) this.wake();
    });
  }

  /**
   * The first `max` bytes without taking them (fewer at the end of input, after `waitMs`,
   * or when the wait was interrupted): what the run looks at before it reads
   * (src/shard/host-choice.ts).
   */
  async peek(max: number, waitMs = Infinity): Promise<Uint8Array> {
    if (max > this.ring.length) throw new RangeError(`a look at ${max} bytes: the ring holds ${this.ring.length}`);
    this.start();
    const deadline = Date.now() + waitMs;
    while (this.available < max && Atomics.load(this.control, END) !== AT_END && this.failure === null && !this.stopped) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      const timer = Number.isFinite(left) ? setTimeout(() => this.wake(), left) : null;
      await this.past(this.available);
      if (timer !== null) clearTimeout(timer);
    }
    const out = Buffer.alloc(Math.min(max, this.available));
    this.copyOut(out, 0, out.length);
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  }

  /** Stop waiting: more() and peek() settle now and from now on (read() still hands out what is there). */
  interrupt(): void {
    this.stopped = true;
    this.wake();
  }

  size(): number {
    return 0;
  }

  fileProgress(): { done: number; total: number } {
    return { done: this.done, total: 0 };
  }

  /** Ends the reading, without waiting for the thread (blocked in a read of a quiet pipe, it ends with the process). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    reading.delete(this);
    this.interrupt();
    Atomics.store(this.control, STOP, 1);
    Atomics.notify(this.control, READ);
    const worker = this.worker;
    this.worker = null;
    if (worker === null) {
      // A pool read in flight closes it when it lands.
      if (this.owned && !this.poolReading) closeQuietly(this.fd);
      return;
    }
    worker.unref();
    // The descriptor stays open until the thread is done with it: its number could go to another file.
    void worker.terminate().then(() => { if (this.owned) closeQuietly(this.fd); }, () => {});
  }

  /** The next `n` bytes of the ring (not taken) into out[off...]. */
  private copyOut(out: Buffer, off: number, n: number): void {
    const size = this.ring.length, at = this.taken & (size - 1), first = Math.min(n, size - at);
    this.ringBuffer.copy(out, off, at, at + first);
    if (first < n) this.ringBuffer.copy(out, off + first, 0, n - first);
  }

  /** Something new for read() or peek() to say: more than `seen` bytes, the end, a failure whose message has arrived (the thread sends it), or an interrupted wait. */
  private beyond(seen: number): boolean {
    return this.stopped || this.available > seen || Atomics.load(this.control, END) === AT_END || this.failure !== null;
  }

  private wake(): void {
    const waiting = this.waiters;
    if (waiting.length === 0) return;
    this.waiters = [];
    Atomics.store(this.control, WAITING, 0);
    this.worker?.unref();
    for (const w of waiting) w();
  }

  /** Reading starts at the first look at the pipe. */
  private start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.readByPool();
  }

  /** The next read through libuv's pool into the ring's free room; the thread takes over after POOL_BYTES. */
  private readByPool(): void {
    if (this.closed || this.poolReading) return;
    const size = this.ring.length, w = Atomics.load(this.control, WRITTEN), free = size - ((w - this.taken) | 0);
    if (free === 0) {
      this.poolStalled = true;
      return;
    }
    const at = w & (size - 1);
    this.poolReading = true;
    fs.read(this.fd, this.ring, at, Math.min(free, size - at), null, (err, n) => {
      this.poolReading = false;
      if (this.closed) {
        if (this.owned) closeQuietly(this.fd);
        return;
      }
      if (err !== null) {
        if (err.code === 'EAGAIN') {
          setTimeout(() => this.readByPool(), 2);
          return;
        }
        this.failure = { code: err.code ?? null, message: err.message };
        Atomics.store(this.control, END, FAILED);
      } else if (n === 0) Atomics.store(this.control, END, AT_END);
      else {
        Atomics.store(this.control, WRITTEN, (w + n) | 0);
        this.poolBytes += n;
        if (this.poolBytes >= POOL_BYTES) this.startThread();
        else this.readByPool();
      }
      this.wake();
    });
  }

  /** The thread goes on from where the pool's reads stopped (none is in flight). */
  private startThread(): void {
    // Loaded here: a run that reads no pipe does not pay for it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Worker: Thread } = require('node:worker_threads') as typeof import('node:worker_threads');
    const worker = new Thread(THREAD, { eval: true, workerData: { fd: this.fd, ring: this.ring.buffer, control: this.control.buffer } });
    worker.unref();
    worker.on('message', (m: { code: string | null; message: string } | null) => {
      if (m !== null) this.failure = m;
      this.wake();
    });
    worker.on('error', (e: Error) => {
      this.failure = { code: null, message: e.message };
      Atomics.store(this.control, END, FAILED);
      this.wake();
    });
    this.worker = worker;
  }
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // Already gone.
  }
}
