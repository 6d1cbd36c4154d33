import type { DecodedPacket } from '../decode/packet';
import { addrWord, sameFlow } from './key';

/** An entry of a TupleTable: a directional 4-tuple (its own copies of the addresses) and the table's links. */
export interface TupleEntry<T> {
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
  readonly sport: number;
  readonly dport: number;
  /**
   * The addresses' length (4 or 16) and addrWord of each address's first bytes: an IPv4
   * entry is compared with a packet on these alone, in the entry itself (the address
   * arrays are objects of their own, one cache miss each per entry a lookup passes).
   */
  readonly addrLen: number;
  readonly srcWord: number;
  readonly dstWord: number;
  /** tupleHash of the 4-tuple, set by the table on insert. */
  hash: number;
  /** The next entry of the same hash bucket. */
  next: T | null;
}

const INITIAL_BUCKETS = 64;

/**
 * Entries by directional 4-tuple, found straight from a packet's headers: a chained hash
 * table on the 4-tuple's 32-bit hash, the chains threaded through the entries (no string
 * key is built and no node allocated per entry: the flow table's cost per new flow and
 * per lookup that a Map keyed by strings spent on number-to-text and string hashing).
 * A 4-tuple may have several entries; the one inserted last is found first.
 */
export class TupleTable<T extends TupleEntry<T>> {
  // Small to start with (INITIAL_BUCKETS; it doubles as entries come): a small run's four
  // tables of 1,024 were ~32 kB of its young heap. Set by clear() in the constructor.
  private buckets: (T | null)[] = [];
  private mask = 0;
  private count = 0;

  constructor() {
    // Stored a second time here, the fields grow() replaces are never taken for constants
    // by code optimised before the first growth, which that growth would deoptimise.
    this.clear();
  }

  get size(): number {
    return this.count;
  }

  /** The newest entry of the packet's 4-tuple (`hash` = flowHash of the packet). */
  find(buf: Uint8Array, d: DecodedPacket, hash: number): T | undefined {
    const a = d.addrOffset, n = d.addrLen, s0 = addrWord(buf, a), t0 = addrWord(buf, a + n);
    for (let e = this.buckets[hash & this.mask]; e !== null; e = e.next) {
      if (e.hash === hash && e.srcWord === s0 && e.dstWord === t0 && e.sport === d.sport && e.dport === d.dport &&
          e.addrLen === n && (n === 4 || sameFlow(buf, d, e.src, e.dst, e.sport, e.dport))) return e;
    }
    return undefined;
  }

  /** The newest entry of the reverse of the packet's 4-tuple (`hash` = reverseFlowHash of the packet). */
  findReverse(buf: Uint8Array, d: DecodedPacket, hash: number): T | undefined {
    const a = d.addrOffset, n = d.addrLen, s0 = addrWord(buf, a), t0 = addrWord(buf, a + n);
    for (let e = this.buckets[hash & this.mask]; e !== null; e = e.next) {
      if (e.hash === hash && e.dstWord === s0 && e.srcWord === t0 && e.dport === d.sport && e.sport === d.dport &&
          e.addrLen === n && (n === 4 || sameFlow(buf, d, e.dst, e.src, e.dport, e.sport))) return e;
    }
    return undefined;
  }

  /** The newest entry with the 4-tuple of `like` (another entry, possibly not in the table). */
  findLike(like: T): T | undefined {
    const hash = like.hash;
    for (let e = this.buckets[hash & this.mask]; e !== null; e = e.next) {
      if (e.hash === hash && sameTuple(e, like)) return e;
    }
    return undefined;
  }

  /** Insert `e` (not in the table) under `hash`, in front of the entries of its 4-tuple. */
  insert(e: T, hash: number): void {
    if (this.count >= this.buckets.length) this.grow();
    const b = hash & this.mask;
    e.hash = hash;
    e.next = this.buckets[b];
    this.buckets[b] = e;
    this.count++;
  }

  /** Take `e` (in the table) out. */
  remove(e: T): void {
    const b = e.hash & this.mask;
    let p = this.buckets[b];
    if (p === e) {
      this.buckets[b] = e.next;
    } else {
      while (p !== null && p.next !== e) p = p.next;
      if (p === null) throw new Error('internal: a flow table entry missing from its bucket');
      p.next = e.next;
    }
    e.next = null;
    this.count--;
  }

  /** Every entry, in no particular order. */
  *values(): IterableIterator<T> {
    // Indexed: for-of over the buckets made an iterator result per bucket (~80 kB of a small run's young heap).
    const buckets = this.buckets;
    for (let i = 0; i < buckets.length; i++) for (let e = buckets[i]; e !== null; e = e.next) yield e;
  }

  clear(): void {
    if (this.buckets.length === INITIAL_BUCKETS) this.buckets.fill(null);
    else this.buckets = new Array<T | null>(INITIAL_BUCKETS).fill(null);
    this.mask = INITIAL_BUCKETS - 1;
    this.count = 0;
  }

  private grow(): void {
    const old = this.buckets;
    this.buckets = new Array<T | null>(old.length * 2).fill(null);
    this.mask = this.buckets.length - 1;
    // A new bucket takes entries of one old bucket only: moved last to first, they keep their order (newest first).
    const chain: T[] = [];
    for (const head of old) {
      for (let e = head; e !== null; e = e.next) chain.push(e);
      for (let i = chain.length - 1; i >= 0; i--) {
        const e = chain[i], b = e.hash & this.mask;
        e.next = this.buckets[b];
        this.buckets[b] = e;
      }
      chain.length = 0;
    }
  }
}

function sameTuple<T>(x: TupleEntry<T>, y: TupleEntry<T>): boolean {
  if (x.srcWord !== y.srcWord || x.dstWord !== y.dstWord || x.sport !== y.sport || x.dport !== y.dport || x.addrLen !== y.addrLen) return false;
  if (x.addrLen === 4) return true;
  for (let i = 0; i < x.src.length; i++) if (x.src[i] !== y.src[i] || x.dst[i] !== y.dst[i]) return false;
  return true;
}
