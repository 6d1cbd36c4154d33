import type { DecodedPacket } from '../decode/packet';
import { FLOW_BUCKETS } from '../flow/buckets';
import { sliceOf, type ShardSlice } from './slice';
import { xxh32 } from './xxh32';

type H32Raw = (input: Uint8Array, seed?: number) => number;

/**
 * Maps a TCP segment to its flow bucket (0 to FLOW_BUCKETS - 1) so that both directions
 * of a connection land in the same one: the two (address, port) endpoints are put in a
 * canonical order before hashing. The VLAN is part of the flow key but deliberately not
 * hashed: an untagged packet joins its 4-tuple's flow on whatever VLAN (src/flow/vlan.ts),
 * and flows of one 4-tuple on two VLANs may share a name (a template without %v) whose c1
 * counter must be decided in one worker, so every packet of a 4-tuple, any VLAN, goes to
 * one bucket. The bucket does not depend on the worker count (the worker is bucket mod
 * workers), so the open-flow cap, applied per bucket, gives the same output for any.
 */
export class ShardHasher {
  /**
   * Two buffers for canonical tuples, the current packet's and the previous one's, each
   * with a view of the IPv4 length (12 bytes; IPv6 uses all 36): no allocation per packet.
   */
  private scratch = { all: new Uint8Array(36), v4: new Uint8Array(0) };
  private previous = { all: new Uint8Array(36), v4: new Uint8Array(0) };
  /** The previous packet's tuple length and bucket: packets come in bursts per flow. */
  private previousLen = 0;
  private previousBucket = 0;

  /**
   * `slice` (--shard K/N): connections outside it get bucket -1. The bucket is the hash's
   * low bits, the slice its high bits, so a slice still spreads over every bucket.
   */
  private constructor(private readonly h32: H32Raw, private readonly slice: ShardSlice | null) {
    this.scratch.v4 = this.scratch.all.subarray(0, 12);
    this.previous.v4 = this.previous.all.subarray(0, 12);
  }

  static async create(slice: ShardSlice | null = null): Promise<ShardHasher> {
    return new ShardHasher(xxh32, slice);
  }

  /** Whether this run keeps the records no connection owns (-w: not TCP): one shard of N does. */
  get keepsUnowned(): boolean {
    return this.slice === null || this.slice.index === 0;
  }

  /** The segment's flow bucket, or -1 when its connection is outside this run's slice. */
  bucketOf(buf: Uint8Array, d: DecodedPacket): number {
    const n = d.addrLen, a = d.addrOffset, b = a + n;
    // Compare (src, sport) with (dst, dport) to pick the canonical order.
    let cmp = 0;
    for (let i = 0; i < n && cmp === 0; i++) cmp = buf[a + i] - buf[b + i];
    if (cmp === 0) cmp = d.sport - d.dport;
    const scratch = this.scratch, s = scratch.all;
    const lo = cmp <= 0 ? a : b, hi = cmp <= 0 ? b : a;
    const loPort = cmp <= 0 ? d.sport : d.dport, hiPort = cmp <= 0 ? d.dport : d.sport;
    for (let i = 0; i < n; i++) { s[i] = buf[lo + i]; s[n + i] = buf[hi + i]; }
    s[2 * n] = loPort >> 8; s[2 * n + 1] = loPort & 0xff;
    s[2 * n + 2] = hiPort >> 8; s[2 * n + 3] = hiPort & 0xff;
    const len = 2 * n + 4;
    if (len === this.previousLen) {
      const p = this.previous.all;
      let i = 0;
      while (i < len && s[i] === p[i]) i++;
      if (i === len) return this.previousBucket;
    }
    const hash = this.h32(len === 12 ? scratch.v4 : s, 0x7cf10) >>> 0;
    const slice = this.slice;
    const bucket = slice !== null && sliceOf(hash, slice.count) !== slice.index ? -1 : hash % FLOW_BUCKETS;
    this.scratch = this.previous;
    this.previous = scratch;
    this.previousLen = len;
    this.previousBucket = bucket;
    return bucket;
  }
}
