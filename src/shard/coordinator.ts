import * as path from 'node:path';
import { MessageChannel, MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { allocChunk, Chunk } from '../capture/chunk';
import type { CaptureReader } from '../capture/reader';
import { decodeFrame, isSupportedLinkType } from '../decode/link';
import { newDecodedPacket, Verdict } from '../decode/packet';
import { TcpflowError, EXIT } from '../errors';
import { ShardHasher } from './hash';
import { BUCKET_SHIFT, FromWorker, ToWorker, WorkerConfig, WorkerResult } from './protocol';
import type { ConsoleBatch } from '../output/console-output';

/** Console output of one chunk, waiting for every worker that got records from it. */
interface PendingConsole {
  remaining: number;
  batches: ConsoleBatch[];
}

export interface FeedResult {
  /** Link types met in the file that cannot be decoded (their records are skipped). */
  unknownLinkTypes: number[];
}

/**
 * The coordinator side of the pipeline: reads capture records into a ring of shared
 * chunks, decodes each just far enough to find its connection, and sends every worker
 * one message per chunk listing its records. A slot is reused once every worker that
 * got records from it has released it; with all slots in flight reading waits, so
 * memory stays at slots × chunk size whatever the input size.
 */
export class Coordinator {
  private readonly slots: Chunk[];
  private readonly free: number[];
  private readonly refs: Int32Array;
  private readonly ports: MessagePort[] = [];
  private readonly tasks: Promise<WorkerResult>[] = [];
  private waiter: (() => void) | null = null;
  private failure: TcpflowError | null = null;
  private readonly decoded = newDecodedPacket();
  /** Global number of the next record (over all inputs). */
  private packetNo = 0;
  /** Console modes: chunks in dispatch order, printed once complete, oldest first. */
  private readonly slotSeq: Int32Array;
  private readonly console = new Map<number, PendingConsole>();
  private nextSeq = 0;
  private nextToPrint = 0;
  private print: ((text: string) => void) | null = null;

  private constructor(private readonly pool: Piscina, private readonly hasher: ShardHasher, slotCount: number) {
    this.slots = Array.from({ length: slotCount }, () => allocChunk());
    this.free = this.slots.map((_, i) => i);
    this.refs = new Int32Array(slotCount);
    this.slotSeq = new Int32Array(slotCount);
  }

  /**
   * Spawn the workers. `print` receives console-mode text in packet order (the workers
   * render it; the order is restored here, chunk by chunk).
   */
  static async start(workers: number, config: Omit<WorkerConfig, 'index' | 'fragmentPath'>,
    fragmentPath: (i: number) => string | null, print: ((text: string) => void) | null = null): Promise<Coordinator> {
    const pool = new Piscina({
      filename: path.resolve(__dirname, '../../workers/flow-worker.js'),
      minThreads: workers,
      maxThreads: workers,
      concurrentTasksPerWorker: 1,
      idleTimeout: Infinity,
      // Tasks are long-lived and event driven: the worker's event loop must keep running.
      atomics: 'disabled',
    });
    const c = new Coordinator(pool, await ShardHasher.create(), Math.max(3, workers + 2));
    c.print = print;
    for (let i = 0; i < workers; i++) {
      const { port1, port2 } = new MessageChannel();
      port1.on('message', (m: FromWorker) => c.onMessage(m));
      c.ports.push(port1);
      const task = pool.run({ port: port2, slots: c.slots, config: { ...config, index: i, fragmentPath: fragmentPath(i) } },
        { transferList: [port2] }) as Promise<WorkerResult>;
      // A worker thread that dies (crash, kill) rejects its task: stop feeding at once.
      task.catch((e: unknown) => c.fail(workerError(e)));
      c.tasks.push(task);
    }
    return c;
  }

  get error(): TcpflowError | null {
    return this.failure;
  }

  /** Read every record of `reader` and hand them out. */
  async feed(reader: CaptureReader, finishing: boolean, stop: () => boolean, onChunk?: (packets: number) => void): Promise<FeedResult> {
    const unknown = new Set<number>();
    const shards = this.ports.length;
    const d = this.decoded;
    while (!stop() && this.failure === null) {
      const slot = await this.acquire();
      if (slot < 0) break;
      const chunk = this.slots[slot];
      let count: number;
      try {
        count = reader.fill(chunk);
      } catch (e) {
        this.free.push(slot);
        throw e;
      }
      if (count === 0) { this.free.push(slot); break; }
      const lists = Array.from({ length: shards }, () => new Int32Array(count));
      const sizes = new Int32Array(shards);
      let lastType = -1, lastOk = false;
      for (let i = 0; i < count; i++) {
        const lt = chunk.linktype[i];
        if (lt !== lastType) {
          lastType = lt;
          lastOk = isSupportedLinkType(lt);
          if (!lastOk) unknown.add(lt);
        }
        if (!lastOk) continue;
        const v = decodeFrame(chunk.data, chunk.offset[i], chunk.caplen[i], lt, d);
        if (v === Verdict.TCP) {
          // A bucket always goes to the same worker: its packet order is the same for any count.
          const b = this.hasher.bucketOf(chunk.data, d);
          const w = b % shards;
          lists[w][sizes[w]++] = i | (b << BUCKET_SHIFT);
        }
      }
      const base = this.packetNo;
      this.packetNo += count;
      const seq = this.nextSeq++;
      this.slotSeq[slot] = seq;
      for (let w = 0; w < shards; w++) {
        if (sizes[w] === 0) continue;
        this.refs[slot]++;
        const msg: ToWorker = { type: 'chunk', slot, records: lists[w], count: sizes[w], base, finishing };
        this.ports[w].postMessage(msg, [lists[w].buffer]);
      }
      if (this.print !== null) this.console.set(seq, { remaining: this.refs[slot], batches: [] });
      if (this.refs[slot] === 0) this.free.push(slot);
      this.flushConsole();
      onChunk?.(this.packetNo);
    }
    return { unknownLinkTypes: [...unknown] };
  }

  /** Tell every worker the input is over and collect their results. */
  async finish(): Promise<WorkerResult[]> {
    for (const p of this.ports) p.postMessage({ type: 'end' } satisfies ToWorker);
    const settled = await Promise.allSettled(this.tasks);
    // Results come over piscina's channel, releases over ours: let the last releases
    // (and the console text they carry) arrive before the ports close.
    for (let i = 0; i < 1000 && this.refs.some((r) => r > 0); i++) await new Promise((r) => setImmediate(r));
    for (const p of this.ports) p.close();
    await this.pool.destroy();
    const results: WorkerResult[] = [];
    for (const s of settled) {
      if (s.status === 'rejected') {
        this.fail(workerError(s.reason));
        continue;
      }
      results.push(s.value);
      const e = s.value.error;
      if (e !== null) this.fail(new TcpflowError(e.code as TcpflowError['code'], e.message, e.exitCode));
    }
    return results;
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'release') {
      const pending = this.console.get(this.slotSeq[m.slot]);
      if (pending !== undefined) {
        if (m.console !== null) pending.batches.push(m.console);
        if (--pending.remaining === 0) this.flushConsole();
      }
      if (--this.refs[m.slot] === 0) {
        this.free.push(m.slot);
        const w = this.waiter;
        this.waiter = null;
        w?.();
      }
    } else {
      this.fail(new TcpflowError(m.code as TcpflowError['code'], m.message, m.exitCode));
    }
  }

  /** Print every complete chunk at the head of the queue, merging workers by packet number. */
  private flushConsole(): void {
    for (let p = this.console.get(this.nextToPrint); p !== undefined && p.remaining === 0; p = this.console.get(this.nextToPrint)) {
      this.console.delete(this.nextToPrint++);
      const at = p.batches.map(() => 0);
      let out = '';
      for (;;) {
        let best = -1;
        for (let b = 0; b < p.batches.length; b++) {
          if (at[b] < p.batches[b].packets.length &&
            (best < 0 || p.batches[b].packets[at[b]] < p.batches[best].packets[at[best]])) best = b;
        }
        if (best < 0) break;
        out += p.batches[best].text[at[best]++];
      }
      if (out.length > 0) this.print?.(out);
    }
  }

  private fail(e: TcpflowError): void {
    if (this.failure === null) this.failure = e;
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** A free slot, or -1 once the run has failed. */
  private async acquire(): Promise<number> {
    while (this.free.length === 0 && this.failure === null) {
      await new Promise<void>((resolve) => { this.waiter = resolve; });
    }
    return this.failure === null ? (this.free.pop() as number) : -1;
  }
}

/** A rejected task: the worker thread itself died (its own errors come back in its result). */
function workerError(e: unknown): TcpflowError {
  const msg = e instanceof Error ? e.message : String(e);
  return new TcpflowError('WORKER', `a worker thread failed: ${msg}`, EXIT.WORKER);
}
