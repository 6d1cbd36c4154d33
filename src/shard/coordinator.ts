import { allocChunk, Chunk } from '../capture/chunk';
import type { PacketSource } from '../capture/source';
import { newDecodedPacket } from '../decode/packet';
import { TcpflowError, EXIT, type ErrorInfo } from '../errors';
import { dispatch } from './dispatch';
import { evenSplit, type BucketSplit } from './bucket-split';
import { ShardHasher } from './hash';
import { FragmentReassembler, type FragmentCounts } from './ip-fragments';
import type { FromWorker, Release, ToWorker, WorkerCheckpoint, WorkerConfig, WorkerResult } from './protocol';
import type { WorkerHost, WorkerLink } from './hosts';
import type { ConsoleBatch } from '../output/console-output';
import type { PcapDump } from '../output/pcap-file';
import { NetvizCollector } from '../netviz/collector';
import { LINKTYPE } from '../decode/link';
import { Verdict } from '../decode/packet';

/**
 * What one chunk still owes in packet order (console text, -w records, open-file
 * changes), waiting for every worker that got records from it.
 */
interface PendingChunk {
  slot: number;
  remaining: number;
  batches: ConsoleBatch[];
  /** -w: records the coordinator could not decode, then the workers' rejects, per list ascending. */
  unprocessed: Int32Array[];
  /** The workers' open-file changes (Release.openFiles). */
  openFiles: Int32Array[];
  /** -w: records rewritten to reassembled datagrams, with their original index entries (dispatch.ts). */
  restore: Int32Array | null;
  /** Global number of the record after the chunk's last. */
  end: number;
}

/** Output that must follow packet order across workers. */
export interface OrderedOutput {
  /** Console modes: text to print (already rendered by the workers). */
  print: ((text: string) => void) | null;
  /** -w: the file for packets that were not processed. */
  unprocessed: PcapDump | null;
  /**
   * Reports: after each release, worker `w`'s spill file holds `bytes` of whole records
   * (Release.spilled) and it will close no flow before packet `through`.
   */
  spilled?: (w: number, bytes: number, through: number) => void;
}

export interface FeedResult {
  /** Link types met in the input that cannot be decoded (their records are skipped). */
  unknownLinkTypes: number[];
  /** What was wrong with the input (records before it were processed), or null. */
  error: TcpflowError | null;
}

/** What the workers say at the end, and what the coordinator adds up over the run. */
export interface RunTotals {
  results: WorkerResult[];
  /** -e netviz: the counts of the packets no worker got. */
  netviz: NetvizCollector['counts'] | null;
  /** The most flow files open at once over the run, all workers together, packet by packet. */
  maxOpenFiles: number;
  /** What the IP fragment reassembler did. */
  fragments: FragmentCounts;
}

/**
 * The coordinator side of the pipeline: reads records from a source into a ring of
 * shared chunks, dispatches each chunk's records to the workers (one message per chunk
 * and worker), and puts what must follow packet order back in order. A slot is reused
 * once every worker that got records from it has released it; with all slots in flight
 * reading waits, so memory stays at slots × chunk size whatever the input size.
 */
export class Coordinator {
  private readonly slots: Chunk[];
  private readonly free: number[];
  private links: WorkerLink[] = [];
  private results: Promise<WorkerResult | null>[] = [];
  private settle: ((r: WorkerResult | null) => void)[] = [];
  private waiter: (() => void) | null = null;
  private failure: TcpflowError | null = null;
  private readonly decoded = newDecodedPacket();
  /** Global number of the next record (over all inputs). */
  private packetNo = 0;
  /** Chunks in dispatch order, handled once complete, oldest first. */
  private readonly slotSeq: Int32Array;
  /** Per slot, its record lists (recordLists). */
  private readonly lists: Int32Array[][] = [];
  private readonly pending = new Map<number, PendingChunk>();
  private nextSeq = 0;
  private nextToWrite = 0;
  /** Flow files open now and at most, all workers together (from the releases, in packet order). */
  private openFiles = 0;
  private maxOpenFiles = 0;
  /** -w records skipped because their link type differs from the -w file's. */
  unprocessedSkipped = 0;
  /**
   * -S tcp_timeout: every worker gets every chunk, its own records or none, since each
   * record's time may close idle flows anywhere.
   */
  private everyWorker = false;
  /** Flows open in each worker, as of its latest release (progress). */
  private readonly flowsOpen: number[] = [];
  /** Chunks sent to each worker and not released yet. */
  private readonly unreleased: number[] = [];
  /** -e netviz: counts of the packets no worker gets. */
  private netviz: NetvizCollector | null = null;
  private tdelta = 0;
  private readonly countOther = (i: number, verdict: Verdict, decoded: boolean): void => {
    const chunk = this.currentChunk as Chunk, off = chunk.offset[i], lt = chunk.linktype[i];
    const ethernet = decoded && (lt === LINKTYPE.EN10MB || lt === LINKTYPE.IEEE802) ? off : -1;
    (this.netviz as NetvizCollector).other(chunk.data, this.decoded, verdict === Verdict.NOT_PROCESSED, off + chunk.caplen[i], ethernet,
      (chunk.sec[i] + this.tdelta) * 1e6 + chunk.usec[i], chunk.origlen[i]);
  };
  private currentChunk: Chunk | null = null;
  /** Workers' answers awaited by checkpoint(), and its way out when the run fails meanwhile. */
  private readonly checkpoints: ((c: WorkerCheckpoint | null) => void)[] = [];
  private readonly readies: (() => void)[] = [];
  private onFailure: (() => void) | null = null;
  /** Worker threads that said they have booted, and what waits for all of them (whenBooted). */
  private booted = 0;
  private onBooted: (() => void) | null = null;

  private constructor(private readonly host: WorkerHost, private readonly hasher: ShardHasher,
    slots: Chunk[], private readonly ordered: OrderedOutput, private readonly fragments: FragmentReassembler,
    private readonly split: BucketSplit) {
    this.slots = slots;
    this.free = this.slots.map((_, i) => i);
    this.slotSeq = new Int32Array(slots.length);
  }

  /**
   * Start `workers` workers on `host`. Console text and -w records go out in packet order
   * (workers render text and find rejects; the order is restored here, chunk by chunk).
   * `reuse` hands in a chunk ring and a hasher made earlier (the fuzzer's, kept across runs),
   * and the IP fragment reassembler (one with a debug log, or other limits); `split`, which
   * worker owns which flow buckets (src/shard/bucket-split.ts: by default an equal share
   * each).
   */
  static async start(host: WorkerHost, workers: number, config: Omit<WorkerConfig, 'index' | 'spillPath'>,
    spillPath: (i: number) => string | null, ordered: OrderedOutput = { print: null, unprocessed: null },
    reuse: { slots?: Chunk[]; hasher?: ShardHasher; fragments?: FragmentReassembler; split?: BucketSplit } = {}): Promise<Coordinator> {
    const split = reuse.split ?? evenSplit(workers);
    if (split.sessions !== workers) throw new RangeError(`a split of ${split.sessions} sessions for ${workers} workers`);
    // Workers + 3: one being read, one read ahead, the rest in flight to workers.
    const slots = reuse.slots ?? Array.from({ length: workers + 3 }, () => allocChunk());
    const c = new Coordinator(host, reuse.hasher ?? ShardHasher.create(config.shard), slots, ordered, reuse.fragments ?? new FragmentReassembler(), split);
    c.everyWorker = config.tcpTimeout > 0;
    for (let i = 0; i < workers; i++) {
      c.results.push(new Promise((resolve) => c.settle.push(resolve)));
    }
    if (config.netviz !== null) c.netviz = new NetvizCollector(config.netviz.maxAddresses);
    c.tdelta = config.tdelta;
    c.links = host.start(workers, c.slots, (i) => ({ ...config, index: i, spillPath: spillPath(i) }), {
      message: (i, m) => c.onMessage(i, m),
      // A worker that dies (crash, kill) never sends its result: stop feeding at once.
      died: (i, e) => {
        c.fail(workerError(i, workers, e));
        c.settle[i](null);
      },
    });
    return c;
  }

  get error(): TcpflowError | null {
    return this.failure;
  }

  /** Flows open in the workers, as of their latest releases. */
  get openFlows(): number {
    return this.flowsOpen.reduce((a, b) => a + b, 0);
  }

  /** Read every record of `source` and hand them out; the source's own error ends it. */
  async feed(source: PacketSource, finishing: boolean, stop: () => boolean, onChunk?: (packets: number) => void): Promise<FeedResult> {
    const unknown = new Set<number>();
    const shards = this.links.length;
    let error: TcpflowError | null = null;
    // The slot the source may be reading into ahead (-1: none held).
    let ahead = -1;
    try {
      while (!stop() && this.failure === null) {
        // A free slot to fill now, and a second one if free for the source to read the next
        // records into while these are dispatched (then the read ahead's slot is the next one
        // filled). Waiting for two left the main thread idle whenever the workers held all
        // slots but one, though it could read and dispatch the next chunk itself: with a
        // session in the main thread (bulk) that was 6 % of the run's time, 3.5 % on many
        // (README, Performance: session 14).
        const slot = ahead >= 0 ? ahead : await this.acquire();
        if (slot < 0) break;
        ahead = this.free.length > 0 ? this.free.pop() as number : -1;
        const chunk = this.slots[slot];
        let count: number | null;
        try {
          count = await source.fill(chunk, ahead >= 0 ? this.slots[ahead] : undefined);
        } catch (e) {
          this.free.push(slot);
          if (!(e instanceof TcpflowError)) throw e;
          error = e;
          break;
        }
        if (count === null) { this.free.push(slot); break; }
        if (count === 0) { this.free.push(slot); continue; }
        this.dispatchChunk(source, chunk, slot, count, shards, finishing, unknown);
        onChunk?.(this.packetNo);
      }
    } finally {
      if (ahead >= 0) {
        // Its memory is reused only once the read into it has landed.
        await source.settle?.();
        this.release(ahead);
      }
    }
    return { unknownLinkTypes: [...unknown], error };
  }

  /** Hand one chunk's records out to the workers. */
  private dispatchChunk(source: PacketSource, chunk: Chunk, slot: number, count: number, shards: number, finishing: boolean,
    unknown: Set<number>): void {
    const dump = this.ordered.unprocessed;
    if (dump !== null && !dump.hasHeader) dump.writeHeader(source.firstInterface, chunk.linktype[0]);
    this.currentChunk = chunk;
    const out = dispatch(chunk, this.split, this.hasher, this.decoded, this.fragments, this.netviz === null ? null : this.countOther,
      this.recordLists(slot, chunk, shards));
    for (const lt of out.unknownLinkTypes) unknown.add(lt);
    const base = this.packetNo;
    this.packetNo += count;
    const seq = this.nextSeq++;
    this.slotSeq[slot] = seq;
    let remaining = 0;
    for (let w = 0; w < shards; w++) if (out.sizes[w] > 0 || this.everyWorker) remaining++;
    const own = dump !== null && out.unprocessed !== null ? [out.unprocessed.subarray(0, out.unprocessedCount)] : [];
    this.pending.set(seq, { slot, remaining, batches: [], unprocessed: own, openFiles: [], restore: out.restore, end: base + count });
    for (let w = 0; w < shards; w++) {
      if (out.sizes[w] === 0 && !this.everyWorker) continue;
      const records = out.lists[w];
      this.unreleased[w] = (this.unreleased[w] ?? 0) + 1;
      this.links[w].send({ type: 'chunk', slot, records, count: out.sizes[w], base, finishing, size: count }, []);
    }
    if (remaining === 0 && dump === null) this.free.push(slot); // no worker has records of it
    this.flushOrdered();
  }

  /**
   * The slot's record lists, one per worker, in shared memory: a list goes out with its
   * chunk without a copy and comes back free with the slot. Transferring a list instead
   * detaches its buffer, and V8 then drops every optimised function that reads a typed
   * array (its ArrayBufferDetaching protector: parse, dispatch, the hash) to recompile them
   * with detach checks, in each thread that detached one.
   */
  private recordLists(slot: number, chunk: Chunk, shards: number): Int32Array[] {
    const records = chunk.offset.length;
    let lists = this.lists[slot];
    if (lists === undefined || lists.length !== shards || lists[0].length < records) {
      lists = this.lists[slot] = Array.from({ length: shards }, () => new Int32Array(new SharedArrayBuffer(records * 4)));
    }
    return lists;
  }

  /**
   * Tell every worker the input is over and collect their results. A worker's result is
   * the last message on its port, after all its releases: everything it owed has arrived.
   */
  async finish(): Promise<RunTotals> {
    this.fragments.finish();
    for (const link of this.links) link.send({ type: 'end' } satisfies ToWorker, []);
    const settled = await Promise.all(this.results);
    for (const link of this.links) link.close();
    await this.host.destroy();
    const results: WorkerResult[] = [];
    for (const [i, r] of settled.entries()) {
      if (r === null) continue; // the worker died: already failed
      results.push(r);
      if (r.error !== null) this.fail(fromInfo(r.error, i));
    }
    return { results, netviz: this.netviz?.counts ?? null, maxOpenFiles: this.maxOpenFiles, fragments: this.fragments.counts };
  }

  private onMessage(worker: number, m: FromWorker): void {
    if (m.type === 'release') {
      this.flowsOpen[worker] = m.openFlows;
      const left = --this.unreleased[worker];
      // Chunks reach a worker in packet order, and it closes flows only at its chunks'
      // packets: none before the end of this one, or before any chunk not yet sent to it.
      if (this.ordered.spilled !== undefined && m.spilled >= 0) {
        this.ordered.spilled(worker, m.spilled, left === 0 ? this.packetNo : (this.pending.get(this.slotSeq[m.slot]) as PendingChunk).end);
      }
      this.onRelease(m);
    }
    else if (m.type === 'result') this.settle[worker](m.result);
    else if (m.type === 'checkpointed') this.checkpoints[worker]?.(m.checkpoint);
    else if (m.type === 'ready') this.readies[worker]?.();
    else if (m.type === 'booted') {
      if (++this.booted === this.threads) this.onBooted?.();
    }
    else this.fail(fromInfo(m, worker));
  }

  /**
   * --resume, after an input: every worker's checkpoint (src/resume/journal.ts), taken once
   * it has processed every chunk sent before; null if a worker could not take one.
   */
  async checkpoint(seq: number): Promise<WorkerCheckpoint[] | null> {
    if (this.failure !== null) return null;
    const all = await this.askEvery<WorkerCheckpoint | null>({ type: 'checkpoint', seq }, this.checkpoints);
    return all === null || all.some((c) => c === null) || this.failure !== null ? null : all as WorkerCheckpoint[];
  }

  /**
   * `f` runs once every worker thread has booted, without waiting for them here; never
   * when every worker runs in this thread (InProcessHost), nor when a thread dies first.
   */
  whenBooted(f: () => void): void {
    if (this.threads === 0) return;
    if (this.booted === this.threads) f();
    else this.onBooted = f;
  }

  /** Workers on threads of their own. */
  private get threads(): number {
    return this.links.reduce((n, l) => n + (l.thread ? 1 : 0), 0);
  }

  /** Every worker has booted (false: one died meanwhile; the run's error says why). */
  async ready(): Promise<boolean> {
    if (this.failure !== null) return false;
    const all = await this.askEvery<void>({ type: 'ready' }, this.readies);
    return all !== null && this.failure === null;
  }

  /** `msg` to every worker, and each one's answer (registered in `waiting` by worker); null: a worker died meanwhile. */
  private async askEvery<T>(msg: ToWorker, waiting: ((answer: T) => void)[]): Promise<T[] | null> {
    const answers = this.links.map((_, i) => new Promise<T>((resolve) => { waiting[i] = resolve; }));
    for (const link of this.links) link.send(msg, []);
    // A worker that dies never answers: the run's failure ends the wait.
    const died = new Promise<null>((resolve) => { this.onFailure = () => resolve(null); });
    const all = await Promise.race([Promise.all(answers), died]);
    waiting.length = 0;
    this.onFailure = null;
    return all;
  }

  /** Packets read so far, over all inputs (global packet numbers continue from here). */
  get packets(): number {
    return this.packetNo;
  }

  /** A resumed run: go on with the packet numbers, and the most open files, of the run it resumes. */
  continueFrom(packetNo: number, maxOpenFiles: number): void {
    this.packetNo = packetNo;
    this.maxOpenFiles = maxOpenFiles;
  }

  /** IP fragment counts as the end of input would give them now (datagrams still pending: incomplete). */
  get fragmentsSoFar(): FragmentCounts {
    const f = this.fragments;
    return { ...f.counts, incomplete: f.counts.incomplete + f.pendingDatagrams };
  }

  /** The most flow files open at once so far. */
  get maxOpen(): number {
    return this.maxOpenFiles;
  }

  private onRelease(m: Release): void {
    const pending = this.pending.get(this.slotSeq[m.slot]) as PendingChunk;
    if (m.console !== null) pending.batches.push(m.console);
    if (m.unprocessed !== null) pending.unprocessed.push(m.unprocessed);
    if (m.openFiles !== null) pending.openFiles.push(m.openFiles);
    if (--pending.remaining > 0) return;
    // Only -w reads the chunk's records in packet order: otherwise its slot can be reused
    // now, whatever chunks before it still wait for a worker.
    if (this.ordered.unprocessed === null) this.release(m.slot);
    this.flushOrdered();
  }

  private release(slot: number): void {
    this.free.push(slot);
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /**
   * Handle every complete chunk at the head of the queue, merging the workers' parts by
   * packet number; with -w, which reads the records from it, give its slot back then.
   */
  private flushOrdered(): void {
    for (let p = this.pending.get(this.nextToWrite); p !== undefined && p.remaining === 0; p = this.pending.get(this.nextToWrite)) {
      this.pending.delete(this.nextToWrite++);
      if (p.openFiles.length > 0) this.countOpenFiles(p.openFiles);
      try {
        const { print, unprocessed } = this.ordered;
        if (print !== null) this.printChunk(p, print);
        if (unprocessed !== null) this.dumpChunk(p, unprocessed);
      } catch (e) {
        this.fail(e instanceof TcpflowError ? e : new TcpflowError('OUTPUT', String(e), EXIT.OUTPUT));
      }
      if (this.ordered.unprocessed !== null) this.release(p.slot);
    }
  }

  /** Every worker's open-file changes of one chunk, in packet order (a packet belongs to one worker). */
  private countOpenFiles(lists: Int32Array[]): void {
    inPacketOrder(lists, (w, k) => {
      const l = lists[w];
      this.maxOpenFiles = Math.max(this.maxOpenFiles, this.openFiles + l[k + 1]);
      this.openFiles += l[k + 2];
    }, 3, true);
  }

  /** -w: the chunk's unprocessed records in packet order. */
  private dumpChunk(p: PendingChunk, dump: PcapDump): void {
    if (p.unprocessed.length === 0 || this.failure !== null) return;
    const chunk = this.slots[p.slot];
    const lists = p.unprocessed;
    const restore = p.restore;
    let r = 0;
    inPacketOrder(lists, (b, k) => {
      const i = lists[b][k];
      // A fragment that completed a datagram: its record now describes the datagram; -w wants the fragment.
      while (restore !== null && r < restore.length && restore[r] < i) r += 5;
      if (restore !== null && restore[r] === i) {
        if (restore[r + 4] !== dump.linktype) this.unprocessedSkipped++;
        else dump.append(chunk.data, restore[r + 1], restore[r + 2], restore[r + 3], chunk.sec[i], chunk.usec[i]);
      } else if (chunk.linktype[i] !== dump.linktype) this.unprocessedSkipped++;
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
    this.onFailure?.();
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** A free slot once there is one, or -1 once the run has failed. */
  private async acquire(): Promise<number> {
    while (this.free.length === 0 && this.failure === null) {
      await new Promise<void>((resolve) => { this.waiter = resolve; });
    }
    return this.failure === null ? (this.free.pop() as number) : -1;
  }
}

/**
 * Visit the items of several ascending lists of packet numbers in one ascending order
 * (a k-way merge over a handful of lists: one per worker). With `stride` n, items are
 * n entries long and start with their packet number. `risesLast`: of open-file items
 * (stride 3) at one packet, those that only close files come first: idle flows are closed
 * before the packet is processed (-S tcp_timeout), wherever they are.
 */
function inPacketOrder(lists: readonly ArrayLike<number>[], visit: (list: number, index: number) => void, stride = 1, risesLast = false): void {
  const at = lists.map(() => 0);
  const before = (b: number, best: number): boolean => {
    const x = lists[b][at[b]], y = lists[best][at[best]];
    return x < y || (x === y && risesLast && lists[b][at[b] + 1] === 0 && lists[best][at[best] + 1] !== 0);
  };
  for (;;) {
    let best = -1;
    for (let b = 0; b < lists.length; b++) {
      if (at[b] < lists[b].length && (best < 0 || before(b, best))) best = b;
    }
    if (best < 0) return;
    visit(best, at[best]);
    at[best] += stride;
  }
}

/** An error a worker reported; its own bugs say which worker. */
function fromInfo(e: ErrorInfo, worker: number): TcpflowError {
  const message = e.code === 'WORKER' ? e.message.replace(/^internal error in worker:/, `internal error in worker thread ${worker}:`) : e.message;
  return new TcpflowError(e.code as TcpflowError['code'], message, e.exitCode);
}

/**
 * A worker thread that died (its own errors come back in its result): which one, and why,
 * as the thread's error says it (an exception nothing caught, with where it was thrown; a
 * module that did not load; its exit code).
 */
export function workerError(worker: number, workers: number, e: unknown): TcpflowError {
  let why = String(e);
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    const exited = /^worker exited with code: (\d+)$/.exec(e.message);
    const at = /\n\s+at (?:.*? \()?([^()\n]+:\d+:\d+)\)?/.exec(e.stack ?? '')?.[1];
    why = exited !== null ? `it exited with code ${exited[1]}`
      : `${e.name}: ${e.message.split('\n')[0]}${code !== undefined ? ` (${code})` : ''}${at !== undefined && !at.startsWith('[worker eval]') ? ` at ${at}` : ''}`;
  }
  return new TcpflowError('WORKER', `worker thread ${worker} of ${workers} failed: ${why}`, EXIT.WORKER);
}
