import * as fs from 'node:fs';
import { allocChunk } from '../capture/chunk';
import { detectCompression, sniff } from '../capture/decompress';
import { openCapture } from '../capture/reader';

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
  /** --workers given on the command line: threads, always (that many). */
  workersGiven: boolean;
  /** A live capture: its size is unknown. */
  live: boolean;
  /** -e js: each worker thread loads its own instance of the module (README), state and all. */
  plugin: boolean;
  /** Bytes of the inputs, or null when one cannot be sized beforehand (stdin, a directory, a compressed file). */
  bytes: number | null;
  /**
   * -FX: no flow files, and the mean size of the first input's first records (null:
   * unknown), else null. See useThreads.
   */
  reportOnly: { meanRecord: number | null } | null;
}

/**
 * -FX with records at least this large on average over the first MiB (full-size segments:
 * long transfers) runs its one worker session in the main thread. Measured on the
 * benchmark captures (perf, CPU per thread): on bulk.pcap (786 bytes a record in its first
 * MiB, 1,034 over the whole: 100 flows) the worker thread did half of the coordinator's
 * work, and its start-up as much again; on the first 200 MB of many.pcap (376 bytes a
 * record, a flow per 12 packets) it did 1.8 times the coordinator's (flow creation and
 * records), which the main thread would do after its own.
 */
export const IN_PROCESS_FX_MEAN_RECORD = 550;

/** Worker threads, or the sessions in the coordinator's thread (small inputs, -FX of long flows). */
export function useThreads(i: HostInputs): boolean {
  if (i.workersGiven || i.live || i.plugin) return true;
  if (smallInput(i.bytes)) return false;
  const mean = i.reportOnly?.meanRecord ?? null;
  return mean === null || mean < IN_PROCESS_FX_MEAN_RECORD;
}

/**
 * Mean bytes of a record (its header included) over the first MiB of a plain capture
 * file; null when it cannot be read as one (stdin, compressed, not a capture: the run
 * says why later), or holds fewer than two records.
 */
export function meanRecordBytes(path: string): number | null {
  try {
    const reader = openCapture(path);
    try {
      const chunk = allocChunk(1 << 20, 16384);
      const n = reader.fill(chunk);
      // From one record's data to the next one's: a record with its header, in any format.
      return n > 1 ? (chunk.offset[n - 1] - chunk.offset[0]) / (n - 1) : null;
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
 * Total bytes of `paths` when every one is a plain (uncompressed) regular file; null
 * otherwise. A file that cannot be opened counts as nothing: its error comes when it is read.
 */
export function plainInputBytes(paths: readonly string[]): number | null {
  let total = 0;
  for (const p of paths) {
    if (p === '-') return null;
    const st = fs.statSync(p, { throwIfNoEntry: false });
    if (st === undefined) continue;
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
