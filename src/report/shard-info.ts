import { createHash } from '../util/digest';
import type { ShardSlice } from '../shard/slice';

/**
 * What a --shard run's reports say about themselves, for merge-reports. DFXML gets it as
 * extension elements in a namespace of our own (a tag: URI, RFC 4151), which DFXML readers
 * skip; a run without --shard writes none of it, so its report stays tcpflow's.
 */
export const SHARD_NS = 'tag:tcpflow-ts,2026:shard';
export const SHARD_PREFIX = 'tcpflow-ts';

export interface ShardInfo extends ShardSlice {
  /** Digest of the inputs and the options that shape the output: shards of one job share it. */
  run: string;
  /** Open flow files this run counts at most (-f, or the system's limit): max_open_flows is capped by it. */
  fdLimit: number;
}

/**
 * The digest of a run: the version, every input (path and size) and the options that shape
 * files and reports, as canonical JSON. Options that do not (worker count, messages, where
 * the reports go, -f) are left out by the caller.
 */
export function runDigest(version: string, inputs: readonly { path: string; size: number; finishing: boolean }[], options: unknown): string {
  return createHash('sha256').update(JSON.stringify({ version, inputs, options })).digest('hex').slice(0, 32);
}

/** The DFXML line (inside <dfxml>, after the first <configuration>) of a shard run. */
export function dfxmlShardLine(s: ShardInfo): string {
  return `  <${SHARD_PREFIX}:shard index='${s.index}' count='${s.count}' run='${s.run}' fd_limit='${s.fdLimit}'/>\n`;
}

/** The first line of a shard run's JSON Lines report. */
export function jsonlShardLine(s: ShardInfo): string {
  return JSON.stringify({ type: 'shard', index: s.index, count: s.count, run: s.run, fd_limit: s.fdLimit }) + '\n';
}
