import type { DecodedPacket } from '../decode/packet';
/** Slots to start with (a small run's store is a few kB); it doubles when every slot is live. */
const INITIAL_SLOTS = 64;
/** Name characters to start with; doubled when the live names need more. */
const INITIAL_CHARS = 64 * 64;
/** Address bytes a slot keeps: the source at 0, the destination at 16 (4 used of each for IPv4). */
const ADDR_BYTES = 32;

/** find's `tag` for an entry on any VLAN. */
export const ANY_VLAN = -2;

/** What the store keeps of a flow direction at its close. */
export interface SavedFlowFields {
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
  /** The addresses' length and first words (src/flow/tuple-table.ts TupleEntry): an IPv4 pair is copied from these. */
  readonly addrLen: number;
  readonly srcWord: number;
  readonly dstWord: number;
  readonly sport: number;
  readonly dport: number;
  /** Its VLAN (-1: untagged). */
  readonly tag: number;
  readonly isn: number;
}

/**
 * Closed flow directions remembered for the straggler check, each until more than `window`
 * packets after its close: its 4-tuple, VLAN, ISN and the name of its content (its flow
 * file), which FlowOutput.readClosed reads back. A busy worker keeps tens of thousands of
 * them: as objects in a hash table and a queue (holding the flows' sinks) they lived long
 * enough to be promoted to V8's old generation, a copy and a major GC's work per flow.
 * Here they live in typed arrays, with no allocation per entry:
 * - entries get consecutive numbers in close order; entry n lives in slot n mod the number
 *   of slots (a ring), and the live entries are numbers [first, end); they expire oldest
 *   first, by moving `first`;
 * - a chained hash table on the 4-tuple's hash: a bucket holds its newest entry's number and
 *   each entry the number of the next older entry of its bucket. Along a chain numbers only
 *   fall, so a chain ends at the first number below `first`: expired entries are never
 *   unlinked, and a slot's reuse cannot be mistaken for its old entry;
 * - names are UTF-16 code units in a ring of their own, at consecutive positions (position p
 *   in element p mod its length), so the live names are the positions from the oldest
 *   entry's name on.
 */
export class SavedFlows {
  private mask = 0;
  private closeAt = new Float64Array(0);
  private hashOf = new Int32Array(0);
  private isnOf = new Uint32Array(0);
  private tagOf = new Int32Array(0);
  /** sport << 16 | dport. */
  private portsOf = new Int32Array(0);
  private addrLenOf = new Uint8Array(0);
  private addr = new Uint8Array(0);
  /** The number of the next older entry in the same bucket (or any number below `first`: none). */
  private nextOf = new Float64Array(0);
  /** Where the entry's name starts in `chars` (a position: see above), and its length (-1: none). */
  private nameAt = new Float64Array(0);
  private nameLen = new Int32Array(0);
  private chars = new Uint16Array(0);
  /** The position the next name starts at. */
  private charEnd = 0;
  /** Per bucket (as many as slots), its newest entry's number. */
  private heads = new Float64Array(0);
  private first = 0;
  private end = 0;

  constructor(private readonly window: number) {
    // Every field is stored here a second time by allocate(): code optimised before the first
    // growth does not take them for constants (the growth would deoptimise it).
    this.allocate(INITIAL_SLOTS);
    this.chars = new Uint16Array(INITIAL_CHARS);
  }

  /** Entries not yet expired. */
  get size(): number {
    return this.end - this.first;
  }

  /**
   * Remember a flow direction closed at packet `closePacket`; `hash` is its 4-tuple's
   * tupleHash, `name` its content's (null: none to compare with).
   */
  add(flow: SavedFlowFields, hash: number, name: string | null, closePacket: number): void {
    if (this.end - this.first === this.mask + 1) this.grow();
    const at = name === null ? this.charEnd : this.putName(name);
    const n = this.end++, s = n & this.mask, b = hash & this.mask;
    this.closeAt[s] = closePacket;
    this.hashOf[s] = hash;
    this.isnOf[s] = flow.isn;
    this.tagOf[s] = flow.tag;
    this.portsOf[s] = (flow.sport << 16) | flow.dport;
    const len = flow.addrLen, a = s * ADDR_BYTES, addr = this.addr;
    this.addrLenOf[s] = len;
    if (len === 4) {
      // From the words: the address arrays are objects of their own, two cache misses at
      // every close (perf annotate on conc: over 40 % of TcpDemux.close's time).
      const w = flow.srcWord, v = flow.dstWord;
      addr[a] = w >>> 24; addr[a + 1] = w >>> 16; addr[a + 2] = w >>> 8; addr[a + 3] = w;
      addr[a + 16] = v >>> 24; addr[a + 17] = v >>> 16; addr[a + 18] = v >>> 8; addr[a + 19] = v;
    } else {
      for (let i = 0; i < len; i++) {
        addr[a + i] = flow.src[i];
        addr[a + 16 + i] = flow.dst[i];
      }
    }
    this.nameAt[s] = at;
    this.nameLen[s] = name === null ? -1 : name.length;
    this.nextOf[s] = this.heads[b];
    this.heads[b] = n;
  }

  /** Forget the entries closed more than `window` packets before packet `packetNo`. */
  expire(packetNo: number): void {
    const closeAt = this.closeAt, window = this.window;
    while (this.first < this.end && packetNo - closeAt[this.first & this.mask] > window) this.first++;
  }

  /** Forget every entry. */
  clear(): void {
    this.first = this.end;
  }

  /**
   * The number of the newest entry of the packet's 4-tuple (`hash` = flowHash of the packet)
   * on VLAN `tag` (-1: untagged; ANY_VLAN: any), or -1. Read it with tagOfEntry, isnOfEntry,
   * nameOfEntry.
   */
  find(buf: Uint8Array, d: DecodedPacket, hash: number, tag: number): number {
    const first = this.first, mask = this.mask, ports = (d.sport << 16) | d.dport, len = d.addrLen;
    for (let n = this.heads[hash & mask]; n >= first; n = this.nextOf[n & mask]) {
      const s = n & mask;
      if (this.hashOf[s] !== (hash | 0) || this.portsOf[s] !== ports || this.addrLenOf[s] !== len) continue;
      if (tag !== ANY_VLAN && this.tagOf[s] !== tag) continue;
      if (this.sameAddresses(s, buf, d.addrOffset, len)) return n;
    }
    return -1;
  }

  tagOfEntry(n: number): number {
    return this.tagOf[n & this.mask];
  }

  isnOfEntry(n: number): number {
    return this.isnOf[n & this.mask];
  }

  nameOfEntry(n: number): string | null {
    const s = n & this.mask, len = this.nameLen[s];
    if (len < 0) return null;
    const chars = this.chars, cmask = chars.length - 1, at = this.nameAt[s];
    const codes = new Array<number>(len);
    for (let i = 0; i < len; i++) codes[i] = chars[(at + i) & cmask];
    return String.fromCharCode(...codes);
  }

  /** Copy `name` in after the live names (more room first if they would overlap); its position. */
  private putName(name: string): number {
    const len = name.length, at = this.charEnd;
    // Entries without a name hold the position the next name got: the oldest entry's is where the live names start.
    const oldest = this.first < this.end ? this.nameAt[this.first & this.mask] : at;
    if (at + len - oldest > this.chars.length) this.growChars(oldest, at + len - oldest);
    const chars = this.chars, cmask = chars.length - 1;
    for (let i = 0; i < len; i++) chars[(at + i) & cmask] = name.charCodeAt(i);
    this.charEnd = at + len;
    return at;
  }

  /** Room for `need` characters from position `from` on: the live ones keep their positions. */
  private growChars(from: number, need: number): void {
    const old = this.chars, omask = old.length - 1;
    let size = old.length * 2;
    while (size < need) size *= 2;
    const chars = new Uint16Array(size), cmask = size - 1;
    for (let p = from; p < this.charEnd; p++) chars[p & cmask] = old[p & omask];
    this.chars = chars;
  }

  private sameAddresses(s: number, buf: Uint8Array, off: number, len: number): boolean {
    const addr = this.addr, a = s * ADDR_BYTES;
    for (let i = 0; i < len; i++) {
      if (addr[a + i] !== buf[off + i] || addr[a + 16 + i] !== buf[off + len + i]) return false;
    }
    return true;
  }

  private allocate(slots: number): void {
    this.mask = slots - 1;
    this.closeAt = new Float64Array(slots);
    this.hashOf = new Int32Array(slots);
    this.isnOf = new Uint32Array(slots);
    this.tagOf = new Int32Array(slots);
    this.portsOf = new Int32Array(slots);
    this.addrLenOf = new Uint8Array(slots);
    this.addr = new Uint8Array(slots * ADDR_BYTES);
    this.nextOf = new Float64Array(slots);
    this.nameAt = new Float64Array(slots);
    this.nameLen = new Int32Array(slots);
    this.heads = new Float64Array(slots).fill(-1);
  }

  /** Twice the slots: the live entries move to their new slots and the chains are rebuilt, newest first. */
  private grow(): void {
    const old = {
      mask: this.mask, closeAt: this.closeAt, hashOf: this.hashOf, isnOf: this.isnOf, tagOf: this.tagOf,
      portsOf: this.portsOf, addrLenOf: this.addrLenOf, addr: this.addr, nameAt: this.nameAt, nameLen: this.nameLen,
    };
    this.allocate((this.mask + 1) * 2);
    for (let n = this.first; n < this.end; n++) {
      const o = n & old.mask, s = n & this.mask, b = old.hashOf[o] & this.mask;
      this.closeAt[s] = old.closeAt[o];
      this.hashOf[s] = old.hashOf[o];
      this.isnOf[s] = old.isnOf[o];
      this.tagOf[s] = old.tagOf[o];
      this.portsOf[s] = old.portsOf[o];
      this.addrLenOf[s] = old.addrLenOf[o];
      this.addr.set(old.addr.subarray(o * ADDR_BYTES, (o + 1) * ADDR_BYTES), s * ADDR_BYTES);
      this.nameAt[s] = old.nameAt[o];
      this.nameLen[s] = old.nameLen[o];
      this.nextOf[s] = this.heads[b];
      this.heads[b] = n;
    }
  }
}
