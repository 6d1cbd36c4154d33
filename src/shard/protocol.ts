import { CHUNK_RECORDS, type Chunk } from '../capture/chunk';
import type { ConsoleOptions } from '../options';
import type { ConsoleBatch } from '../output/console-output';
import type { MessagePort } from 'node:worker_threads';
import type { HeldRecords, RecordRoom } from '../report/record-spill';
import type { ErrorInfo } from '../errors';
import type { ScannerSettings } from '../scanners/registry';
import type { HookConfig, HookStats } from '../hooks/flow-hooks';
import type { NetvizCounts } from '../netviz/collector';
import type { PluginSpec } from '../scanners/js-plugin';
import type { ShardSlice } from './slice';

/**
 * What a worker does with its flows' bytes: flow files, console text (-c/-C), nothing but
 * the report (-FX), or per-flow pcaps of the frames instead of reassembly (-K).
 */
export type FlowMode = 'files' | 'console' | 'report-only' | 'pcaps';

/** Settings every worker gets once, with its task. */
export interface WorkerConfig {
  index: number;
  mode: FlowMode;
  outdir: string;
  template: string;
  /** Descriptors this worker may keep open for flow files (its share of -f). */
  maxOpenFiles: number;
  maxSeek: number;
  maxBytes: number;
  /** Scanners run on every flow that stores bytes (names of src/scanners/registry.ts, and 'js'). */
  scanners: string[];
  scannerSettings: ScannerSettings;
  /** TCP reassembly (off with -x tcpdemux: packets are only counted). */
  tcpdemux: boolean;
  /** -e netviz: count every packet, keeping at most this many distinct addresses per direction; null: off. */
  netviz: { maxAddresses: number } | null;
  /** -e js: the plugin's module and function (the worker loads it before its first chunk). */
  plugin: PluginSpec | null;
  /** tcp_alert_fd, tcp_cmd, http_alert_fd, http_cmd. */
  hooks: HookConfig;
  findx: boolean;
  tdelta: number;
  /** -S tcp_timeout: seconds of packet time after which an idle flow is closed; 0: never. */
  tcpTimeout: number;
  savedWindow: number;
  /** Open flows allowed per flow bucket (-S max_flows / FLOW_BUCKETS, rounded up). */
  maxFlowsPerBucket: number;
  /** -S vlan_key=0: flows are not kept apart by VLAN (tcpflow's merging). */
  mergeVlans: boolean;
  /** Whether flow records are kept for a report (DFXML, JSON Lines). */
  records: boolean;
  /** Where this worker spills its records; null keeps them in memory (in-process runs). */
  spillPath: string | null;
  /** Room the enabled reports take for a record (padding of the spill on a nearly full disk). */
  recordRoom: RecordRoom;
  debugLevel: number;
  /** Console modes: how payloads are printed. */
  console: ConsoleOptions | null;
  /** -w: report the records the flow table rejects (tcpflow's "SYN TO IGNORE"). */
  unprocessed: boolean;
  /** --shard K/N: only that slice's connections are dispatched; records carry what merge-reports needs. */
  shard: ShardSlice | null;
  /** -z: load every module at start (src/util/chroot.ts), as nothing outside the new root can be loaded later. */
  preload?: boolean;
  /** --resume: the run's journal directory and this attempt's number (the worker's files there carry both). */
  resume?: { dir: string; attempt: number } | null;
}

/** A worker at a --resume checkpoint (after an input is complete). */
export interface WorkerCheckpoint {
  /** Bytes of whole records in its spill file, synced (-1: the spill failed, no checkpoint is possible). */
  spilled: number;
  /** Bytes of its creation log, synced. */
  created: number;
  totalFlows: number;
  totalPackets: number;
  flowsPurged: number;
  /** Flows closed idle (-S tcp_timeout) so far. */
  flowsTimedOut: number;
  /** Records in its spill so far. */
  records: number;
  /** Its flows still open, as a resumed run closes them (src/resume/cut.ts), or null when none is. */
  cut: string | null;
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
  | {
    type: 'chunk'; slot: number; records: Int32Array; count: number; base: number; finishing: boolean;
    /** Records in the whole chunk (every worker's): with -S tcp_timeout each one advances packet time. */
    size: number;
  }
  | { type: 'checkpoint'; seq: number }
  /** Answered at once: the worker has booted (its modules loaded: -z enters the new root next). */
  | { type: 'ready' }
  | { type: 'end' };

/** What a worker owes the coordinator for one chunk, sent when it is done with the chunk's memory. */
export interface Release {
  type: 'release';
  slot: number;
  /** Console modes: the text of the chunk's segments. */
  console: ConsoleBatch | null;
  /** -w: the chunk's records the flow table rejected (ascending record indexes). */
  unprocessed: Int32Array | null;
  /**
   * Changes in the number of open flow files, as triples (record index, rise to the
   * highest count while the record was processed, net change), ascending record index:
   * the coordinator adds up all workers' changes in packet order for the true maximum.
   */
  openFiles: Int32Array | null;
  /** Flows open in this worker after the chunk (for progress). */
  openFlows: number;
  /**
   * Bytes of whole records in its spill file, every record of a flow closed so far among
   * them (the coordinator merges them into the reports meanwhile); -1: records are held
   * in memory instead, or none are kept.
   */
  spilled: number;
}

/** Worker → coordinator, on the worker's own port; 'result' is always the last message. */
export type FromWorker =
  | Release
  | ({ type: 'failed' } & ErrorInfo)
  | { type: 'checkpointed'; checkpoint: WorkerCheckpoint | null }
  | { type: 'ready' }
  /** A worker thread's first message, unasked: it has booted (its modules are loaded). */
  | { type: 'booted' }
  | { type: 'result'; result: WorkerResult };

export interface WorkerResult {
  totalFlows: number;
  totalPackets: number;
  /** Flow files still open when the input ended (before the final close). */
  openFilesAtEnd: number;
  /** Flow files this worker created (new directory entries; src/output/flow-files.ts). */
  filesCreated: number;
  flowsAtEnd: number;
  /** Records this worker produced. */
  records: number;
  /** Records this worker could not spill (full disk, or no spill file): they travel back here. */
  heldRecords: HeldRecords | null;
  /** Flows closed early because their bucket reached the open-flow cap (-S max_flows). */
  flowsPurged: number;
  /** Flows closed by -S tcp_timeout. */
  flowsTimedOut: number;
  /** -e netviz: this worker's counts. */
  netviz: NetvizCounts | null;
  /** What the tcp_cmd / http_cmd commands of this worker did (all finished). */
  hooks: HookStats;
  error: ErrorInfo | null;
}
