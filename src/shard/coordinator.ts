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
import type { PcapDump } from '../output/pcap-file';

/**
 * What one chunk still owes in packet order (console text, -w records), waiting for every
 * worker that got records from it.
 */
interface PendingChunk {
  slot: number;
  remaining: number;
  batches: ConsoleBatch[];
  /** -w: records the coordinator could not decode, then the workers' rejects, per list ascending. */
  unprocessed: Int32Array[];
}

/** Output that must follow packet order across workers. */
export interface OrderedOutput {
  /** Console modes: text to print (already rendered by the workers). */
  print: ((text: string) => void) | null;
  /** -w: the file for packets that were not processed. */
  unprocessed: PcapDump | null;
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
  /** Ordered output: chunks in dispatch order, written once complete, oldest first. */
  private readonly slotSeq: Int32Array;
  private readonly pending = new Map<number, PendingChunk>();
  private nextSeq = 0;
  private nextToWrite = 0;
  private print: ((text: string) => void) | null = null;
  private dump: PcapDump | null = null;
  /** -w records skipped because their link type differs from the -w file's. */
  unprocessedSkipped = 0;

  private constructor(private readonly pool: Piscina, private readonly hasher: ShardHasher, slotCount: number) {
    this.slots = Array.from({ length: slotCount }, () => allocChunk());
    this.free = this.slots.map((_, i) => i);
    this.refs = new Int32Array(slotCount);
    this.slotSeq = new Int32Array(slotCount);
  }

  /**
   * Spawn the workers. Console text and -w records go out in packet order (workers
   * render text and find rejects; the order is restored here, chunk by chunk).
   */
  static async start(workers: number, config: Omit<WorkerConfig, 'index' | 'fragmentPath'>,
    fragmentPath: (i: number) => string | null, ordered: OrderedOutput = { print: null, unprocessed: null }): Promise<Coordinator> {
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
    c.print = ordered.print;
    c.dump = ordered.unprocessed;
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
      const dump = this.dump;
      if (dump !== null && !dump.hasHeader) {
        dump.writeHeader(reader.firstInterface, chunk.linktype[0]);
      }
      let own: Int32Array | null = null, owned = 0;
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
        } else if (v === Verdict.NOT_PROCESSED && dump !== null) {
          (own ??= new Int32Array(count))[owned++] = i;
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
      if (this.print !== null || dump !== null) {
        this.pending.set(seq, { slot, remaining: this.refs[slot], batches: [], unprocessed: own !== null ? [own.subarray(0, owned)] : [] });
        this.flushOrdered();
      } else if (this.refs[slot] === 0) {
        this.free.push(slot);
      }
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
      const pending = this.pending.get(this.slotSeq[m.slot]);
      --this.refs[m.slot];
      if (pending !== undefined) {
        if (m.console !== null) pending.batches.push(m.console);
        if (m.unprocessed !== null) pending.unprocessed.push(m.unprocessed);
        if (--pending.remaining === 0) this.flushOrdered();
      } else if (this.refs[m.slot] === 0) {
        this.release(m.slot);
      }
    } else {
      this.fail(new TcpflowError(m.code as TcpflowError['code'], m.message, m.exitCode));
    }
  }

  private release(slot: number): void {
    this.free.push(slot);
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /**
   * Write out every complete chunk at the head of the queue, merging the workers' parts by
   * packet number, then give its slot back (-w reads the records from it).
   */
  private flushOrdered(): void {
    for (let p = this.pending.get(this.nextToWrite); p !== undefined && p.remaining === 0; p = this.pending.get(this.nextToWrite)) {
      this.pending.delete(this.nextToWrite++);
      try {
        if (this.print !== null) this.printChunk(p, this.print);
        if (this.dump !== null) this.dumpChunk(p, this.dump);
      } catch (e) {
        this.fail(e instanceof TcpflowError ? e : new TcpflowError('OUTPUT', String(e), EXIT.OUTPUT));
      }
      this.release(p.slot);
    }
  }

  /** -w: the chunk's unprocessed records in packet order. */
  private dumpChunk(p: PendingChunk, dump: PcapDump): void {
    if (p.unprocessed.length === 0 || this.failure !== null) return;
    const chunk = this.slots[p.slot];
    const lists = p.unprocessed;
    inPacketOrder(lists, (b, k) => {
      const i = lists[b][k];
      if (chunk.linktype[i] !== dump.linktype) this.unprocessedSkipped++;
      else dump.append(chunk.data, chunk.offset[i], chunk.caplen[i], chunk.origlen[i], chunk.sec[i], chunk.usec[i]);
    });
  }

  /** Console text of one chunk. */
  private printChunk(p: PendingChunk, print: (text: string) => void): void {
    let out = '';
    inPacketOrder(p.batches.map((b) => b.packets), (b, k) => { out += p.batches[b].text[k]; });
    if (out.length > 0) print(out);
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

/**
 * Visit the items of several ascending lists of packet numbers in one ascending order
 * (a k-way merge over a handful of lists: one per worker).
 */
function inPacketOrder(lists: readonly ArrayLike<number>[], visit: (list: number, index: number) => void): void {
  const at = lists.map(() => 0);
  for (;;) {
    let best = -1;
    for (let b = 0; b < lists.length; b++) {
      if (at[b] < lists[b].length && (best < 0 || lists[b][at[b]] < lists[best][at[best]])) best = b;
    }
    if (best < 0) return;
    visit(best, at[best]++);
  }
}

/** A rejected task: the worker thread itself died (its own errors come back in its result). */
function workerError(e: unknown): TcpflowError {
  const msg = e instanceof Error ? e.message : String(e);
  return new TcpflowError('WORKER', `a worker thread failed: ${msg}`, EXIT.WORKER);
}
