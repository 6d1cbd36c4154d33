import { CHUNK_RECORDS, type Chunk } from '../capture/chunk';
import type { ConsoleOptions } from '../../cli/options';
import type { ConsoleBatch } from '../output/console-output';
import type { MessagePort } from 'node:worker_threads';
import type { HeldFragments } from '../report/fragments';

/** Settings every worker gets once, with its task. */
export interface WorkerConfig {
  index: number;
  outdir: string;
  template: string;
  maxOpenFiles: number;
  maxSeek: number;
  maxBytes: number;
  md5: boolean;
  findx: boolean;
  storing: boolean;
  tdelta: number;
  savedWindow: number;
  /** Open flows allowed per flow bucket (-S max_flows / FLOW_BUCKETS, rounded up). */
  maxFlowsPerBucket: number;
  /** Where this worker spills its rendered report records, or null without a report. */
  fragmentPath: string | null;
  debugLevel: number;
  /** Console modes: print instead of storing. */
  console: ConsoleOptions | null;
  /** -w: report the records the flow table rejects (tcpflow's "SYN TO IGNORE"). */
  unprocessed: boolean;
  /** -K: per-flow pcaps instead of reassembly. */
  keepPcaps: boolean;
}

export interface WorkerTask {
  port: MessagePort;
  slots: Chunk[];
  config: WorkerConfig;
}

/**
 * Each entry of a chunk message's `records` is `index | (bucket << BUCKET_SHIFT)`: the
 * record's index in the chunk and its flow bucket, which the worker needs for the
 * open-flow cap; packing it costs no extra message or allocation.
 */
export const BUCKET_SHIFT = 17;
export const RECORD_MASK = (1 << BUCKET_SHIFT) - 1;
if (CHUNK_RECORDS > RECORD_MASK + 1) throw new Error('chunk record indexes do not fit below BUCKET_SHIFT');

/** Coordinator → worker. */
export type ToWorker =
  | { type: 'chunk'; slot: number; records: Int32Array; count: number; base: number; finishing: boolean }
  | { type: 'end' };

/** Worker → coordinator. */
export type FromWorker =
  | { type: 'release'; slot: number; console: ConsoleBatch | null; unprocessed: Int32Array | null }
  | { type: 'failed'; code: string; message: string; exitCode: number };

export interface WorkerResult {
  totalFlows: number;
  totalPackets: number;
  openAtEnd: number;
  maxOpen: number;
  flowsAtEnd: number;
  fileobjects: number;
  /** Report records this worker could not spill (full disk): they travel back here. */
  heldFragments: HeldFragments | null;
  /** Flows closed early because their bucket reached the open-flow cap (-S max_flows). */
  flowsPurged: number;
  error: { code: string; message: string; exitCode: number } | null;
}
