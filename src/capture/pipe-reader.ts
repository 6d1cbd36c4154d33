import type { Worker } from 'node:worker_threads';

/**
 * The thread's code (a script of its own, not a module of the bundle: it needs only
 * Node's fs). Each request fills dst[off, off + len) of a SharedArrayBuffer from the
 * descriptor, to the end or the end of input, in blocking reads (a pipe that someone made
 * non-blocking is polled every 2 ms, as FdInput.read does); `stop` is looked at between reads.
 */
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { fd, stop } = workerData;
const nap = new Int32Array(new SharedArrayBuffer(4));
parentPort.on('message', ({ buffer, off, len }) => {
  const dst = new Uint8Array(buffer);
  let got = 0;
  try {
    while (got < len && Atomics.load(stop, 0) === 0) {
      let n;
      try {
        n = fs.readSync(fd, dst, off + got, len - got, null);
      } catch (e) {
        if (e.code !== 'EAGAIN') throw e;
        Atomics.wait(nap, 0, 0, 2);
        continue;
      }
      if (n === 0) break;
      got += n;
    }
    parentPort.postMessage({ got, code: null, message: null });
  } catch (e) {
    parentPort.postMessage({ got, code: e.code ?? null, message: String(e.message ?? e) });
  }
});
`;

interface Answer {
  got: number;
  code: string | null;
  message: string | null;
}

/**
 * Reads a pipe on a thread of its own, into shared memory, while the caller goes on: a
 * pipe holds 64 KiB, so reading only when the next chunk is wanted kept its writer
 * waiting while the chunk before was processed. The thread starts at the first read (an
 * input read in one chunk never starts it). Its reads block: a run that ends early (an
 * error, a signal) while the thread waits on a pipe whose writer neither writes nor closes
 * exits once the writer does one or the other (Node joins its threads at exit), as a run
 * blocked in its own read of the pipe would.
 */
export class PipeReader {
  private worker: Worker | null = null;
  private readonly stop = new Int32Array(new SharedArrayBuffer(4));
  private pending: { resolve: (n: number) => void; reject: (e: NodeJS.ErrnoException) => void } | null = null;

  /** `fd`: a pipe's descriptor, open until close() has settled. */
  constructor(private readonly fd: number) {}

  /**
   * dst[off, off + len) filled from the pipe: resolves to the number of bytes read (fewer
   * only at the end of input). `dst` must lie in a SharedArrayBuffer. One read at a time.
   */
  read(dst: Uint8Array, off: number, len: number): Promise<number> {
    if (this.pending !== null) throw new Error('internal: a pipe read while one is in flight');
    const worker = this.worker ??= this.boot();
    return new Promise<number>((resolve, reject) => {
      this.pending = { resolve, reject };
      worker.ref();
      worker.postMessage({ buffer: dst.buffer, off: dst.byteOffset + off, len });
    });
  }

  private boot(): Worker {
    // Loaded here: a run that reads no pipe does not pay for it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Worker: Thread } = require('node:worker_threads') as typeof import('node:worker_threads');
    const worker = new Thread(THREAD, { eval: true, workerData: { fd: this.fd, stop: this.stop } });
    worker.on('message', (a: Answer) => {
      const p = this.pending;
      this.pending = null;
      worker.unref();
      if (p === null) return;
      if (a.message === null) p.resolve(a.got);
      else p.reject(Object.assign(new Error(a.message), { code: a.code ?? undefined }));
    });
    worker.on('error', (e: Error) => {
      const p = this.pending;
      this.pending = null;
      p?.reject(e);
    });
    return worker;
  }

  /** Ends the thread; a read in flight settles as the end of input. Settles once the thread has stopped reading. */
  close(): Promise<void> {
    Atomics.store(this.stop, 0, 1);
    const p = this.pending;
    this.pending = null;
    p?.resolve(0);
    const worker = this.worker;
    this.worker = null;
    return worker === null ? Promise.resolve() : worker.terminate().then(() => {}, () => {});
  }
}
