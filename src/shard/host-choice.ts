import * as fs from 'node:fs';
import { allocChunk, type Chunk } from '../capture/chunk';
import { detectCompression, sniff } from '../capture/decompress';
import { openCaptureBuffer, peekedStdin } from '../capture/reader';
import { filesUnder } from '../capture/inputs';

/**
 * Inputs up to this many bytes are processed without worker threads: the worker
 * sessions run in the coordinator's thread (InProcessHost), which gives the same files and
 * reports (the same sessions, fed the same chunks) without booting threads. Starting two
 * threads costs ~300 ms of CPU each (a Node isolate plus the worker's modules), about what
 * one thread takes to process this much input on the default mode (README, Performance).
 */
export const IN_PROCESS_MAX_BYTES = 8 * 1024 * 1024;

/** What the host choice looks at. */
export interface HostInputs {
  /** Worker sessions of the run (the plan's workers). */
  workers: number;
  /** --workers given on the command line: threads, always (that many). */
  workersGiven: boolean;
  /** A live capture: its size is unknown. */
  live: boolean;
  /** -e js: each worker thread loads its own instance of the module (README), state and all. */
  plugin: boolean;
  /** Bytes of the inputs, or null when one cannot be sized beforehand (stdin, a directory, a compressed file). */
  bytes: number | null;
  /** The one input is standard input, read as it comes (never decompressed, no filter child): its size is unknown, its records' is not (meanRecord). */
  stdin: boolean;
  /** -FX: no flow files. */
  reportOnly: boolean;
  /**
   * Mean bytes of the first input's first records (meanRecordBytes; null: unknown), read
   * only when the choice depends on it: it costs a read of the input's first MiB.
   */
  meanRecord: () => number | null;
  /** Scanners read the flows' content (md5, sha256, http): more work per byte in the sessions. */
  scanning: boolean;
}

/**
 * Where the worker sessions run: all on threads of their own; all in the main thread
 * (InProcessHost); or the last one in the main thread beside threads for the others
 * (MixedHost), the main session owning `mainWeight` times a thread's share of the flow
 * buckets (the others 1 each).
 */
export type HostChoice = { kind: 'threads' | 'main' } | { kind: 'mixed'; mainWeight: number };

/**
 * Records at least this large on average over the first MiB: full-size segments, long
 * transfers, where reading is a larger part of the work. -FX of such input runs its one
 * worker session in the main thread. Measured on the
 * benchmark captures (perf, CPU per thread): on bulk.pcap (786 bytes a record in its first
 * MiB, 1,034 over the whole: 100 flows) the worker thread did half of the coordinator's
 * work, and its start-up as much again; on the first 200 MB of many.pcap (376 bytes a
 * record, a flow per 12 packets) it did 1.8 times the coordinator's (flow creation and
 * records), which the main thread would do after its own.
 */
export const LONG_FLOW_MEAN_RECORD = 550;

/**
 * The coordinator's work (reading, the record walk, hashing and dispatch, the report's
 * record merge) as a fraction of the worker sessions' work, measured per thread (perf) on
 * the benchmark captures with two worker threads: bulk.pcap (long flows, records of 786
 * bytes on average in its first MiB) 0.29-0.36; the first 200 MB of many.pcap (376 bytes:
 * a flow per 12 packets) 0.27-0.28, conc.pcap (366 bytes, 30,000 flows open) 0.19-0.26.
 * Scanners that read the content make the sessions' part larger: -e md5 0.19 on bulk and
 * 0.17 on many's 200 MB, -e http 0.16 on http-many-60k.pcap.
 */
export const COORDINATOR_SHARE_LONG = 0.33;
export const COORDINATOR_SHARE_SCANNED = 0.17;

/**
 * The main session's weight (a thread's is 1) that gives every CPU the same work when the
 * main thread also coordinates: with `cpus` CPUs, sessions' work S and the coordinator's
 * c·S, the main session takes a fraction x of S with c·S + x·S = (1 - x)·S / (cpus - 1),
 * so x = (1 - c·(cpus - 1)) / cpus. Zero or less: the coordinator alone fills a CPU.
 */
export function mainWeight(cpus: number, coordinatorShare: number): number {
  const x = (1 - coordinatorShare * (cpus - 1)) / cpus;
  return x <= 0 ? 0 : (x * (cpus - 1)) / (1 - x);
}

/**
 * The smallest main weight worth a session in the main thread: below it the main session
 * would own about two buckets of 64 and the threads do nearly all the work anyway.
 */
export const MIN_MAIN_WEIGHT = 0.1;

/**
 * Threads, the main thread, or both (HostChoice). Sessions run in the main thread for
 * small inputs and -FX of long flows; beside threads when the run has one session per CPU
 * (--workers not given) of inputs of plain capture files: one isolate fewer to boot,
 * compile and collect, and the main thread's spare time goes to flows (README,
 * Performance). --workers given, a live capture (its reading must not wait for flows),
 * -e js (every thread loads its own instance), inputs of unknown size (compressed: the
 * main thread decompresses some formats itself) run threads; standard input alone goes by
 * its records' size as a file does (its first MiB, read before: reader.ts peekStdin). Short flows
 * (records under LONG_FLOW_MEAN_RECORD on average) keep threads. The model (mainWeight) is
 * measured on 2 CPUs; it gives the main session a smaller share on more, and threads only
 * from 4 CPUs (7 with scanners).
 */
export function chooseHost(i: HostInputs): HostChoice {
  if (i.workersGiven || i.live || i.plugin) return { kind: 'threads' };
  if (smallInput(i.bytes)) return { kind: 'main' };
  if ((i.bytes === null && !i.stdin) || (!i.reportOnly && i.workers < 2)) return { kind: 'threads' };
  const mean = i.meanRecord();
  if (i.reportOnly && mean !== null && mean >= LONG_FLOW_MEAN_RECORD) return { kind: 'main' };
  // Short flows keep threads: on conc.pcap (30,000 flows open) the main session cost ~5 %
  // of wall time (README, Two cores: session 9).
  if (i.workers < 2 || mean === null || mean < LONG_FLOW_MEAN_RECORD) return { kind: 'threads' };
  // Without --workers there is one session per CPU (cli/options.ts).
  const weight = mainWeight(i.workers, i.scanning ? COORDINATOR_SHARE_SCANNED : COORDINATOR_SHARE_LONG);
  return weight < MIN_MAIN_WEIGHT ? { kind: 'threads' } : { kind: 'mixed', mainWeight: weight };
}

/** Mean bytes of a record (its header included) over a chunk's first `count` records; null for fewer than two. */
export function meanRecordOf(chunk: Chunk, count: number): number | null {
  // From one record's data to the next one's: a record with its header, in any format.
  return count > 1 ? (chunk.offset[count - 1] - chunk.offset[0]) / (count - 1) : null;
}

/**
 * Mean bytes of a record (its header included) over the first MiB of a plain capture
 * file (of a directory: its first file by name); null when it cannot be read as one
 * (compressed, not a capture: the run says why later), or holds fewer than two
 * records. Read with a positional read: the descriptor's offset stays at 0, so nothing
 * watching the file takes this look for the run's reading (test/oracle/faults.test.ts).
 * Standard input ('-'): its first MiB, looked at before (src/run.ts: peekStdin) and kept for the run's reading of it.
 */
export function meanRecordBytes(path: string): number | null {
  if (path === '-') return meanRecordOfHead('-', peekedStdin() ?? new Uint8Array(0));
  try {
    const first = fs.statSync(path).isDirectory() ? filesUnder(path)[0] : path;
    if (first === undefined) return null;
    const head = new Uint8Array(1 << 20);
    const fd = fs.openSync(first, 'r');
    let n: number;
    try {
      n = fs.readSync(fd, head, 0, head.length, 0);
    } finally {
      fs.closeSync(fd);
    }
    return meanRecordOfHead(first, head.subarray(0, n));
  } catch {
    return null;
  }
}

/** meanRecordBytes of a capture's first bytes `head`; null when they are no capture. */
function meanRecordOfHead(name: string, head: Uint8Array): number | null {
  try {
    const reader = openCaptureBuffer(name, head);
    try {
      const chunk = allocChunk(1 << 20, 16384);
      return meanRecordOf(chunk, reader.fill(chunk));
    } finally {
      reader.close();
    }
  } catch {
    return null;
  }
}

/**
 * Inputs small enough for their report records to stay in memory when the sessions run
 * in the main thread; larger ones spill them to files, as threads do.
 */
export function smallInput(bytes: number | null): boolean {
  return bytes !== null && bytes <= IN_PROCESS_MAX_BYTES;
}

/**
 * Total bytes of `paths` when every one is a plain (uncompressed) regular file or a
 * directory of such files (src/capture/inputs.ts: every file below it); null otherwise. A
 * file that cannot be opened counts as nothing: its error comes when it is read.
 */
export function plainInputBytes(paths: readonly string[]): number | null {
  let total = 0;
  for (const p of paths) {
    if (p === '-') return null;
    const st = fs.statSync(p, { throwIfNoEntry: false });
    if (st === undefined) continue;
    if (st.isDirectory()) {
      const inside = plainInputBytes(filesUnder(p));
      if (inside === null) return null;
      total += inside;
      continue;
    }
    if (!st.isFile()) return null;
    let head: Uint8Array | null;
    try {
      head = sniff(p);
    } catch {
      continue;
    }
    if (head !== null && detectCompression(head) !== null) return null;
    total += st.size;
  }
  return total;
}
