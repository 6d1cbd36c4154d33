import * as fs from 'node:fs';
import { detectCompression, sniff } from '../capture/decompress';

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
   * -FX: no flow files. The one worker then only decodes and tracks flows, less work per
   * packet than the coordinator's read and dispatch, so a thread for it only adds its
   * start-up and a hand-off per chunk: in the main thread whatever the input's size.
   */
  reportOnly: boolean;
}

/** Worker threads, or the sessions in the coordinator's thread (small inputs, -FX). */
export function useThreads(i: HostInputs): boolean {
  if (i.workersGiven || i.live || i.plugin) return true;
  return !i.reportOnly && !smallInput(i.bytes);
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
