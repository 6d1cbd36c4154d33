import xxhash from 'xxhash-wasm';
import type { DecodedPacket } from '../decode/packet';

type H32Raw = (input: Uint8Array, seed?: number) => number;

/**
 * Maps a TCP segment to a worker so that both directions of a connection land on the
 * same one: the two (address, port) endpoints are put in a canonical order before
 * hashing. VLAN is not part of the flow key, so it is not hashed either.
 */
export class ShardHasher {
  private scratch = new Uint8Array(36);
  /** The previous packet's canonical tuple and shard: packets come in bursts per flow. */
  private previous = new Uint8Array(36);
  private previousLen = 0;
  private previousShard = 0;

  private constructor(private readonly h32: H32Raw | null, readonly shards: number) {}

  static async create(shards: number): Promise<ShardHasher> {
    return new ShardHasher(shards > 1 ? (await xxhash()).h32Raw : null, shards);
  }

  shardOf(buf: Uint8Array, d: DecodedPacket): number {
    if (this.h32 === null) return 0;
    const n = d.addrLen, a = d.addrOffset, b = a + n;
    // Compare (src, sport) with (dst, dport) to pick the canonical order.
    let cmp = 0;
    for (let i = 0; i < n && cmp === 0; i++) cmp = buf[a + i] - buf[b + i];
    if (cmp === 0) cmp = d.sport - d.dport;
    const s = this.scratch;
    const lo = cmp <= 0 ? a : b, hi = cmp <= 0 ? b : a;
    const loPort = cmp <= 0 ? d.sport : d.dport, hiPort = cmp <= 0 ? d.dport : d.sport;
    for (let i = 0; i < n; i++) { s[i] = buf[lo + i]; s[n + i] = buf[hi + i]; }
    s[2 * n] = loPort >> 8; s[2 * n + 1] = loPort & 0xff;
    s[2 * n + 2] = hiPort >> 8; s[2 * n + 3] = hiPort & 0xff;
    const len = 2 * n + 4;
    if (len === this.previousLen) {
      const p = this.previous;
      let i = 0;
      while (i < len && s[i] === p[i]) i++;
      if (i === len) return this.previousShard;
    }
    const shard = (this.h32(s.subarray(0, len), 0x7cf10) >>> 0) % this.shards;
    this.scratch = this.previous;
    this.previous = s;
    this.previousLen = len;
    this.previousShard = shard;
    return shard;
  }
}
