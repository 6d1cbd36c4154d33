import type { Chunk } from '../capture/chunk';
import { decodeFrame, isSupportedLinkType } from '../decode/link';
import { type DecodedPacket, Verdict } from '../decode/packet';
import type { ShardHasher } from './hash';
import { BUCKET_SHIFT } from './protocol';

/** One chunk's records, sorted out by worker. */
export interface Dispatched {
  /** Per worker, its first `sizes[w]` entries: `record index | bucket << BUCKET_SHIFT`, in record order. */
  lists: Int32Array[];
  sizes: Int32Array;
  /** Records that reached the IP layer but are no usable TCP segment (for -w), in record order. */
  unprocessed: Int32Array | null;
  unprocessedCount: number;
  /** Link types met that cannot be decoded (their records go nowhere). */
  unknownLinkTypes: number[];
}

/**
 * Which worker gets which records of a chunk: each record is decoded just far enough for
 * its TCP 4-tuple, whose symmetric hash picks one of the flow buckets; a bucket always
 * goes to worker `bucket mod shards`, so both directions of a connection meet in one
 * worker and every bucket sees the same packets in the same order for any worker count.
 * A function of the chunk alone (the hasher only remembers its last answer): the
 * coordinator and the fuzzer run this same code.
 */
export function dispatch(chunk: Chunk, shards: number, hasher: ShardHasher, d: DecodedPacket): Dispatched {
  const count = chunk.count;
  const lists = Array.from({ length: shards }, () => new Int32Array(count));
  const sizes = new Int32Array(shards);
  const unknown: number[] = [];
  let unprocessed: Int32Array | null = null, unprocessedCount = 0;
  let lastType = -1, lastOk = false;
  for (let i = 0; i < count; i++) {
    const lt = chunk.linktype[i];
    if (lt !== lastType) {
      lastType = lt;
      lastOk = isSupportedLinkType(lt);
      if (!lastOk && !unknown.includes(lt)) unknown.push(lt);
    }
    if (!lastOk) continue;
    const v = decodeFrame(chunk.data, chunk.offset[i], chunk.caplen[i], lt, d);
    if (v === Verdict.TCP) {
      const b = hasher.bucketOf(chunk.data, d);
      const w = b % shards;
      lists[w][sizes[w]++] = i | (b << BUCKET_SHIFT);
    } else if (v === Verdict.NOT_PROCESSED) {
      (unprocessed ??= new Int32Array(count))[unprocessedCount++] = i;
    }
  }
  return { lists, sizes, unprocessed, unprocessedCount, unknownLinkTypes: unknown };
}
