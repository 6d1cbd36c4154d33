import * as path from 'node:path';
import { EXIT, TcpflowError } from '../errors';

/**
 * --shard K/N: this run keeps the connections whose symmetric flow hash (src/shard/hash.ts,
 * the value the flow bucket is taken from) falls in slice K of N. The bucket (and so the
 * worker thread) comes from the hash's low bits, the slice from its high bits
 * (floor(hash × N / 2^32)), so every slice spreads evenly over the buckets and workers.
 */
export interface ShardSlice {
  index: number;
  count: number;
}

/** Largest N: slices stay even over a 32-bit hash, and a cluster job never needs more. */
export const MAX_SHARDS = 1_000_000;

/** Where --shards N reads K from, in order: Kubernetes Indexed Jobs, then Slurm job arrays. */
export const SHARD_INDEX_VARIABLES = ['JOB_COMPLETION_INDEX', 'SLURM_ARRAY_TASK_ID'] as const;

function usage(message: string): TcpflowError {
  return new TcpflowError('USAGE', message, EXIT.USAGE);
}

function shardCount(option: string, text: string): number {
  const n = /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= MAX_SHARDS)) throw usage(`${option}: '${text}' is not a whole number of shards from 1 to ${MAX_SHARDS}`);
  return n;
}

/** `--shard K/N`: K from 0 to N - 1. */
export function parseShard(text: string): ShardSlice {
  const m = /^([^/]*)\/([^/]*)$/.exec(text);
  if (m === null) throw usage(`--shard: '${text}' is not K/N (this run's slice K, from 0, of N shards; e.g. --shard 0/4)`);
  const count = shardCount('--shard', m[2]);
  const index = /^[0-9]+$/.test(m[1]) ? Number(m[1]) : NaN;
  if (!(index >= 0 && index < count)) throw usage(`--shard: '${text}': K must be a whole number from 0 to ${count - 1}`);
  return { index, count };
}

/** `--shards N`: K from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID (the first one set). */
export function shardFromEnvironment(countText: string, env: NodeJS.ProcessEnv): ShardSlice {
  const count = shardCount('--shards', countText);
  const name = SHARD_INDEX_VARIABLES.find((v) => env[v] !== undefined && env[v] !== '');
  if (name === undefined) {
    throw usage(`--shards ${count}: no shard index: set ${SHARD_INDEX_VARIABLES.join(' or ')} (a Kubernetes Indexed Job or a Slurm job array does), or give --shard K/${count}`);
  }
  const text = env[name] as string;
  const index = /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!(index >= 0 && index < count)) {
    const hint = name === 'SLURM_ARRAY_TASK_ID' ? ` (submit the array as --array=0-${count - 1})` : ` (the Job's completions must be ${count})`;
    throw usage(`--shards ${count}: ${name}='${text}' is not a shard index from 0 to ${count - 1}${hint}`);
  }
  return { index, count };
}

/** The slice of a 32-bit flow hash. */
export function sliceOf(hash: number, count: number): number {
  return Math.floor((hash >>> 0) * count / 0x1_0000_0000);
}

/**
 * A report or -w path of a shard run: `.shard-K-of-N` before the extension
 * (`out/report.xml` → `out/report.shard-0-of-4.xml`), so that every shard of one command
 * line writes its own files into a shared directory.
 */
export function shardPath(p: string, s: ShardSlice): string {
  const ext = path.extname(p);
  const tag = `.shard-${s.index}-of-${s.count}`;
  return ext === '' || ext === p || p.endsWith('/') ? p + tag : p.slice(0, p.length - ext.length) + tag + ext;
}
