import type { DecodedPacket } from '../decode/packet';
import { FLOW_BUCKETS } from '../flow/buckets';
import { sliceOf, type ShardSlice } from './slice';
import { xxh32 } from './xxh32';

const SEED = 0x7cf10;
/** Entries of the IPv4 connection cache (a power of two). */
const V4_CACHE_BITS = 12;

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
   * IPv6: two buffers for canonical tuples, the current packet's and the previous one's
   * (no allocation per packet), and the previous one's bucket: packets come in bursts per flow.
   */
  private scratch = new Uint8Array(36);
  private previous = new Uint8Array(36);
  private hasPrevious = false;
  private previousBucket = 0;
  /** IPv4: the canonical tuple for xxh32 (on a cache miss). */
  private readonly v4Scratch = new Uint8Array(12);
  /**
   * IPv4 connections seen lately and their buckets, direct-mapped by a cheap hash of the
   * canonical tuple held as three numbers (low address, high address, the two ports): a
   * hit costs a few integer operations where xxh32 needs the tuple written out as bytes
   * and hashed, and connections that take turns (many flows open at once) still hit. The
   * entry holds the whole tuple, so a hit is that connection's exact xxh32 bucket.
   * `v4Bucket` is -2 in an empty entry.
   */
  private readonly v4Tuple = new Int32Array(3 << V4_CACHE_BITS);
  private readonly v4Bucket = new Int32Array(1 << V4_CACHE_BITS).fill(-2);

  /**
   * `slice` (--shard K/N): connections outside it get bucket -1. The bucket is the hash's
   * low bits, the slice its high bits, so a slice still spreads over every bucket.
   */
  private constructor(private readonly slice: ShardSlice | null) {}

  static create(slice: ShardSlice | null = null): ShardHasher {
    return new ShardHasher(slice);
  }

  /** Whether this run keeps the records no connection owns (-w: not TCP): one shard of N does. */
  get keepsUnowned(): boolean {
    return this.slice === null || this.slice.index === 0;
  }

  /** The segment's flow bucket, or -1 when its connection is outside this run's slice. */
  bucketOf(buf: Uint8Array, d: DecodedPacket): number {
    if (d.addrLen === 4) return this.bucketOfV4(buf, d.addrOffset, d.sport, d.dport);
    const n = 16, a = d.addrOffset, b = a + n;
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
    if (this.hasPrevious) {
      const p = this.previous;
      let i = 0;
      while (i < 36 && s[i] === p[i]) i++;
      if (i === 36) return this.previousBucket;
    }
    const bucket = this.bucketOfHash(xxh32(s, SEED) >>> 0);
    this.scratch = this.previous;
    this.previous = s;
    this.hasPrevious = true;
    this.previousBucket = bucket;
    return bucket;
  }

  /**
   * The bucket of an IPv4 segment whose source address is at buf[addr] (the destination
   * follows it), with its ports: what bucketOf gives, for the caller that decoded no more.
   */
  bucketOfV4(buf: Uint8Array, addr: number, sport: number, dport: number): number {
    // Big-endian words order the addresses as their bytes do (bucketOf's canonical order).
    const src = ((buf[addr] << 24) | (buf[addr + 1] << 16) | (buf[addr + 2] << 8) | buf[addr + 3]) >>> 0;
    const dst = ((buf[addr + 4] << 24) | (buf[addr + 5] << 16) | (buf[addr + 6] << 8) | buf[addr + 7]) >>> 0;
    const srcLow = src < dst || (src === dst && sport <= dport);
    const lo = (srcLow ? src : dst) | 0, hi = (srcLow ? dst : src) | 0;
    const ports = srcLow ? (sport << 16) | dport : (dport << 16) | sport;
    const e = Math.imul(lo ^ Math.imul(hi ^ ports, 0x9e3779b1), 0x85ebca6b) >>> (32 - V4_CACHE_BITS);
    const t = this.v4Tuple, k = 3 * e;
    if (t[k] === lo && t[k + 1] === hi && t[k + 2] === ports && this.v4Bucket[e] !== -2) return this.v4Bucket[e];
    const s = this.v4Scratch;
    s[0] = lo >>> 24; s[1] = (lo >>> 16) & 0xff; s[2] = (lo >>> 8) & 0xff; s[3] = lo & 0xff;
    s[4] = hi >>> 24; s[5] = (hi >>> 16) & 0xff; s[6] = (hi >>> 8) & 0xff; s[7] = hi & 0xff;
    s[8] = ports >>> 24; s[9] = (ports >>> 16) & 0xff; s[10] = (ports >>> 8) & 0xff; s[11] = ports & 0xff;
    const bucket = this.bucketOfHash(xxh32(s, SEED) >>> 0);
    t[k] = lo; t[k + 1] = hi; t[k + 2] = ports;
    this.v4Bucket[e] = bucket;
    return bucket;
  }

  private bucketOfHash(hash: number): number {
    const slice = this.slice;
    return slice !== null && sliceOf(hash, slice.count) !== slice.index ? -1 : hash % FLOW_BUCKETS;
  }
}
