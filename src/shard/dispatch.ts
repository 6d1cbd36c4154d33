import type { Chunk } from '../capture/chunk';
import { decodeFrame, isSupportedLinkType, LINKTYPE } from '../decode/link';
import { type DecodedPacket, Verdict } from '../decode/packet';
import type { ShardHasher } from './hash';
import type { FragmentReassembler } from './ip-fragments';
import { BUCKET_SHIFT } from './protocol';
import type { BucketSplit } from './bucket-split';

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
  /** Records rewritten to reassembled datagrams, with their original index entries (FragmentReassembler.restoreList). */
  restore: Int32Array | null;
}

/**
 * Which worker gets which records of a chunk: each record is decoded just far enough for
 * its TCP 4-tuple, whose symmetric hash picks one of the flow buckets; a bucket always
 * goes to its owner in `split` (src/shard/bucket-split.ts), so both directions of a
 * connection meet in one worker and every bucket sees the same packets in the same order
 * for any worker count and any split.
 * A function of the chunk alone (the hasher only remembers its last answer), and of the
 * fragments `frags` holds from earlier chunks: IP fragments go to it, and the record of
 * one that completes a datagram is rewritten to that datagram and dispatched in its
 * place. Without a reassembler fragments are not processed. The coordinator and the
 * fuzzer run this same code. `other` hears of every record no worker gets (netviz counts
 * them), with `d` as decoding left it; `decoded` is false for a link type that is not
 * decoded. A fragment that completes a datagram is the datagram's record: a worker or
 * `other` gets it once.
 * With --shard, records of connections outside the run's slice go nowhere, and records
 * of no connection (-w) to shard 0 only. `into`: the lists to fill (one per session, each of
 * at least the chunk's count), else new ones.
 */
export function dispatch(chunk: Chunk, split: BucketSplit, hasher: ShardHasher, d: DecodedPacket,
  frags: FragmentReassembler | null = null, other: ((i: number, verdict: Verdict, decoded: boolean) => void) | null = null,
  into: Int32Array[] | null = null): Dispatched {
  const lists = into ?? Array.from({ length: split.sessions }, () => new Int32Array(chunk.count));
  const out: Dispatched = { lists, sizes: new Int32Array(split.sessions), unprocessed: null, unprocessedCount: 0, unknownLinkTypes: [], restore: null };
  frags?.beginChunk(chunk);
  dispatchRecords(chunk, split.owner, hasher, d, frags, other, out);
  out.restore = frags?.restoreList() ?? null;
  return out;
}

/**
 * dispatch's loop, a function of its own that ends with the loop: V8 compiles the loop
 * while it runs (on-stack replacement), and code after it, not run when that code was
 * made, would throw it away at the loop's end, on every chunk (ShardProcessor.processRecords
 * had the same shape).
 */
function dispatchRecords(chunk: Chunk, workerOf: Int32Array, hasher: ShardHasher, d: DecodedPacket,
  frags: FragmentReassembler | null, other: ((i: number, verdict: Verdict, decoded: boolean) => void) | null, out: Dispatched): void {
  const { lists, sizes, unknownLinkTypes: unknown } = out;
  const count = chunk.count;
  let lastType = -1, lastOk = false;
  const data = chunk.data, offset = chunk.offset, caplen = chunk.caplen, linktype = chunk.linktype;
  for (let i = 0; i < count; i++) {
    const lt = linktype[i];
    if (lt !== lastType) {
      lastType = lt;
      lastOk = isSupportedLinkType(lt);
      if (!lastOk && !unknown.includes(lt)) unknown.push(lt);
    }
    const t = lt === LINKTYPE.EN10MB ? plainTcpv4(data, offset[i], caplen[i]) : -1;
    if (t >= 0) {
      const b = hasher.bucketOfV4(data, t - 8, (data[t] << 8) | data[t + 1], (data[t + 2] << 8) | data[t + 3]);
      if (b < 0) continue;
      const w = workerOf[b];
      lists[w][sizes[w]++] = i | (b << BUCKET_SHIFT);
      continue;
    }
    if (!lastOk) {
      other?.(i, Verdict.LINK_DROP, false);
      continue;
    }
    let v = decodeFrame(data, offset[i], caplen[i], lt, d);
    if (v === Verdict.FRAGMENT) {
      // -w gets the fragments after the first, reassembled or not, as tcpflow writes them.
      if (d.fragOffset !== 0 && hasher.keepsUnowned) keepUnprocessed(out, i, count);
      if (frags === null || !frags.add(chunk, i, d)) {
        other?.(i, Verdict.NOT_PROCESSED, true);
        continue;
      }
      v = decodeFrame(data, offset[i], caplen[i], linktype[i], d);
      if (v !== Verdict.TCP) {
        other?.(i, v, true);
        continue;
      }
    }
    if (v === Verdict.TCP) {
      const b = hasher.bucketOf(data, d);
      if (b < 0) continue; // another shard's connection (--shard)
      const w = workerOf[b];
      lists[w][sizes[w]++] = i | (b << BUCKET_SHIFT);
      continue;
    }
    if (v === Verdict.NOT_PROCESSED && hasher.keepsUnowned) keepUnprocessed(out, i, count);
    other?.(i, v, true);
  }
}

/** Record `i` of a chunk of `count` for -w. */
function keepUnprocessed(out: Dispatched, i: number, count: number): void {
  (out.unprocessed ??= new Int32Array(count))[out.unprocessedCount++] = i;
}

/**
 * The offset of the TCP header when buf[off, off + caplen) is an untagged Ethernet frame
 * of a plain IPv4 TCP segment (a 20-byte IP header, no fragment, both headers whole in the
 * captured bytes and in the datagram's length): nearly every packet of a capture. For
 * such a frame decodeFrame answers TCP with the addresses at the result - 8 and the ports
 * at the result, and dispatch needs no more; -1 for any other frame (decodeFrame decides).
 */
export function plainTcpv4(buf: Uint8Array, off: number, caplen: number): number {
  if (caplen < 54 || buf[off + 12] !== 0x08 || buf[off + 13] !== 0 || buf[off + 14] !== 0x45 || buf[off + 23] !== 6) return -1;
  // Flags and offset: more fragments, or a fragment offset (the DF bit does not matter).
  if (((buf[off + 20] & 0x3f) | buf[off + 21]) !== 0) return -1;
  // A total length of 40 holds both headers; a TCP data offset of 5 words or more.
  if (((buf[off + 16] << 8) | buf[off + 17]) < 40 || buf[off + 46] < 0x50) return -1;
  return off + 34;
}
