import { FRAGMENT_PENDING_BYTES, type Chunk } from '../capture/chunk';
import type { DecodedPacket } from '../decode/packet';

/**
 * IP fragment reassembly in the coordinator, before sharding (spec B30): later fragments
 * carry no TCP ports, so they cannot be hashed to a worker; the whole datagram can.
 *
 * How a datagram travels: the record of the fragment that completes it is rewritten in
 * place to point at the datagram, written into the chunk's side region (chunk.ts) as one
 * frame: the first fragment's link header, its IP header with the fragmentation undone
 * (IPv4: offset and MF cleared, total length and checksum set; IPv6: the fragment header
 * taken out), then the data. The record keeps its place, packet number and timestamp, so
 * it is dispatched like any packet and workers see nothing new; unfragmented packets do
 * not go through here at all.
 *
 * Policy (README, "IP fragments"): a datagram is keyed on (version, VLAN, addresses,
 * protocol, identification); an exact duplicate fragment (same offset and length) is
 * ignored, the first copy kept; any other overlap drops the whole datagram (RFC 5722 for
 * IPv6, and what Linux does for IPv4 as well); a datagram longer than 65,535 bytes, with
 * two different ends or data past its end is dropped as invalid; one not complete within
 * the timeout in packet time (IPv4 30 s, IPv6 60 s: Linux's ipfrag_time and RFC 8200) of
 * its first fragment is dropped when its next fragment arrives; over the caps (bytes held,
 * datagrams pending) the oldest pending datagram is dropped; datagrams still incomplete at
 * the end of the input are counted. Everything is decided by the packets and their order
 * alone, so the output does not depend on chunking or on --workers.
 */

export const FRAGMENT_TIMEOUT_V4 = 30;
export const FRAGMENT_TIMEOUT_V6 = 60;
export const MAX_PENDING_DATAGRAMS = 4096;
export const MAX_FRAGMENTS_PER_DATAGRAM = 512;
/** What a held fragment costs beyond its bytes (the object and its array slot), for the byte cap. */
const FRAGMENT_OVERHEAD = 64;
const MAX_DATAGRAM = 65535;

export interface FragmentCounts {
  /** Fragment records taken by the reassembler. */
  fragments: number;
  /** Datagrams rebuilt and handed on. */
  reassembled: number;
  /** Exact duplicates ignored. */
  duplicates: number;
  /** Datagrams dropped: overlapping fragments, timeout, caps, invalid, still incomplete at the end. */
  overlapping: number;
  timedOut: number;
  evicted: number;
  invalid: number;
  incomplete: number;
}

export function noFragments(): FragmentCounts {
  return { fragments: 0, reassembled: 0, duplicates: 0, overlapping: 0, timedOut: 0, evicted: 0, invalid: 0, incomplete: 0 };
}

export interface ReassemblyLimits {
  maxPendingBytes: number;
  maxPendingDatagrams: number;
  maxFragments: number;
}

export const DEFAULT_LIMITS: ReassemblyLimits = {
  maxPendingBytes: FRAGMENT_PENDING_BYTES,
  maxPendingDatagrams: MAX_PENDING_DATAGRAMS,
  maxFragments: MAX_FRAGMENTS_PER_DATAGRAM,
};

/** One fragment's data, [start, end) in its datagram. */
interface Piece {
  start: number;
  end: number;
  bytes: Uint8Array;
}

interface Datagram {
  key: string;
  version: number;
  /** Packet time of the first fragment seen, in seconds. */
  since: number;
  /** Fragments, ascending and never overlapping. */
  pieces: Piece[];
  /** Sum of the pieces' lengths (they never overlap, so the bytes covered). */
  covered: number;
  /** Datagram data length, known once the last fragment (no MF) came; else -1. */
  total: number;
  /** From the fragment at offset 0: its frame up to the data (link and IP headers), or null. */
  head: Uint8Array | null;
  headLinktype: number;
  /** Within `head`: where the IP header starts; IPv6: where the fragment header starts, and the next-header byte naming it. */
  headIp: number;
  headFrag: number;
  headNextAt: number;
  fragProto: number;
  /** Bytes charged to the byte cap. */
  cost: number;
}

type DropReason = 'overlapping' | 'timedOut' | 'evicted' | 'invalid' | 'incomplete';

const REASON_TEXT: Record<DropReason, string> = {
  overlapping: 'overlapping fragments',
  timedOut: 'timed out',
  evicted: 'too many fragments held',
  invalid: 'invalid',
  incomplete: 'incomplete at end of input',
};

export class FragmentReassembler {
  readonly counts = noFragments();
  /** Pending datagrams, oldest first (Map keeps insertion order). */
  private readonly pending = new Map<string, Datagram>();
  private pendingBytes = 0;
  /** Where the next datagram goes in the current chunk's side region. */
  private sideAt = 0;
  /** The most bytes held at once (tests check the bound). */
  peakBytes = 0;
  /** Records of the current chunk pointed at a datagram, with what they were: (index, offset, caplen, origlen, linktype) each. */
  private rewrites: number[] = [];

  constructor(private readonly limits: ReassemblyLimits = DEFAULT_LIMITS,
    private readonly debug: ((message: string) => void) | null = null) {
    // The chunks' side regions are sized for what may be held (allocChunk).
    if (limits.maxPendingBytes > FRAGMENT_PENDING_BYTES) throw new RangeError('fragment byte cap above FRAGMENT_PENDING_BYTES');
  }

  get pendingDatagrams(): number {
    return this.pending.size;
  }

  get heldBytes(): number {
    return this.pendingBytes;
  }

  /** A new chunk: its side region is empty. */
  beginChunk(chunk: Chunk): void {
    this.sideAt = chunk.input.length;
    this.rewrites = [];
  }

  /**
   * The records of the chunk that now describe a datagram, with their original index
   * entries (-w writes a later fragment as captured): ascending by record, or null.
   */
  restoreList(): Int32Array | null {
    return this.rewrites.length > 0 ? Int32Array.from(this.rewrites) : null;
  }

  /**
   * Take record `i` of `chunk`, a fragment decoded into `d` (Verdict.FRAGMENT). Returns true
   * when it completed its datagram: record i then describes the reassembled frame.
   */
  add(chunk: Chunk, i: number, d: DecodedPacket): boolean {
    const c = this.counts;
    c.fragments++;
    const now = chunk.sec[i] + chunk.usec[i] / 1e6;
    const key = datagramKey(chunk.data, d);
    let g = this.pending.get(key);
    if (g !== undefined && now - g.since > timeoutOf(g.version)) {
      this.drop(g, 'timedOut');
      g = undefined;
    }
    this.expireOldest(now);
    const start = d.fragOffset, len = d.fragEnd - d.fragData, end = start + len;
    const limit = MAX_DATAGRAM - (d.ipVersion === 4 ? 20 : 0);
    if (end > limit) {
      // Past what any datagram can hold (the ping of death): nothing of it can be used.
      if (g !== undefined) this.drop(g, 'invalid');
      else { c.invalid++; this.debug?.(`IP fragment of ${key}: data ends at ${end}, past ${limit}: dropped`); }
      return false;
    }
    if (g === undefined) {
      g = {
        key, version: d.ipVersion, since: now, pieces: [], covered: 0, total: -1, head: null, headLinktype: 0,
        headIp: 0, headFrag: -1, headNextAt: -1, fragProto: d.fragProto, cost: 0,
      };
      this.pending.set(key, g);
    }
    if (!d.fragMore) {
      if ((g.total >= 0 && g.total !== end) || lastEnd(g) > end) return this.dropped(g, 'invalid');
      g.total = end;
    } else if (g.total >= 0 && end > g.total) {
      return this.dropped(g, 'invalid');
    }
    const at = insertionPoint(g.pieces, start);
    const before = at > 0 ? g.pieces[at - 1] : null, after = at < g.pieces.length ? g.pieces[at] : null;
    if (len > 0) {
      if (after !== null && after.start === start && after.end === end) {
        c.duplicates++;
        return false;
      }
      if ((before !== null && before.end > start) || (after !== null && after.start < end)) return this.dropped(g, 'overlapping');
    }
    if (g.pieces.length >= this.limits.maxFragments) return this.dropped(g, 'invalid');
    const complete = g.total >= 0 && g.covered + len === g.total && (start === 0 || g.head !== null);
    if (complete && start === 0 && g.head === null) this.takeHead(g, chunk, i, d, false);
    if (complete) {
      this.deliver(g, chunk, i, d);
      return true;
    }
    if (start === 0 && g.head === null) this.takeHead(g, chunk, i, d, true);
    // An empty fragment adds nothing to hold (it may have brought the headers or the end).
    if (len > 0) {
      g.pieces.splice(at, 0, { start, end, bytes: chunk.data.slice(d.fragData, d.fragEnd) });
      g.covered += len;
      this.charge(g, len + FRAGMENT_OVERHEAD);
    }
    this.enforceCaps(g);
    return false;
  }

  /** End of the input: whatever is still pending will never complete. */
  finish(): void {
    for (const g of [...this.pending.values()]) this.drop(g, 'incomplete');
  }

  /** The fragment at offset 0 brings the headers the datagram is rebuilt with (the first copy wins). */
  private takeHead(g: Datagram, chunk: Chunk, i: number, d: DecodedPacket, charge: boolean): void {
    const frame = chunk.offset[i];
    g.head = chunk.data.slice(frame, d.fragData);
    g.headLinktype = chunk.linktype[i];
    g.headIp = d.ipOffset - frame;
    g.headFrag = d.fragHeader < 0 ? -1 : d.fragHeader - frame;
    g.headNextAt = d.fragNextAt < 0 ? -1 : d.fragNextAt - frame;
    if (charge) this.charge(g, g.head.length);
  }

  private charge(g: Datagram, bytes: number): void {
    g.cost += bytes;
    this.pendingBytes += bytes;
    if (this.pendingBytes > this.peakBytes) this.peakBytes = this.pendingBytes;
  }

  /** Write the datagram into the side region and point record i at it. */
  private deliver(g: Datagram, chunk: Chunk, i: number, d: DecodedPacket): void {
    this.forget(g);
    const head = g.head as Uint8Array;
    // IPv6 loses its fragment header; the unfragmentable headers before it stay.
    const keep = g.headFrag < 0 ? head.length : g.headFrag;
    const ipLen = keep - g.headIp + g.total;
    if (ipLen > MAX_DATAGRAM + (g.version === 6 ? 40 : 0)) {
      this.counts.invalid++;
      this.debug?.(`IP datagram ${g.key}: ${ipLen} bytes, longer than the length field allows: dropped`);
      return this.undeliverable(chunk, i);
    }
    const out = chunk.data, base = this.sideAt, frameLen = keep + g.total;
    if (base + frameLen > out.length) {
      // Cannot happen (allocChunk sizes the side region for the worst case); never write past it.
      this.counts.invalid++;
      return this.undeliverable(chunk, i);
    }
    out.set(head.subarray(0, keep), base);
    for (const p of g.pieces) out.set(p.bytes, base + keep + p.start);
    out.set(chunk.data.subarray(d.fragData, d.fragEnd), base + keep + d.fragOffset);
    const ip = base + g.headIp;
    if (g.version === 4) {
      out[ip + 2] = ipLen >> 8;
      out[ip + 3] = ipLen & 0xff;
      out[ip + 6] &= 0x40; // keep DF; clear MF and the offset
      out[ip + 7] = 0;
      setIpv4Checksum(out, ip);
    } else {
      out[base + g.headNextAt] = g.fragProto;
      const payload = ipLen - 40;
      out[ip + 4] = payload >> 8;
      out[ip + 5] = payload & 0xff;
    }
    this.sideAt = base + frameLen;
    this.rewrites.push(i, chunk.offset[i], chunk.caplen[i], chunk.origlen[i], chunk.linktype[i]);
    chunk.offset[i] = base;
    chunk.caplen[i] = frameLen;
    chunk.origlen[i] = frameLen;
    chunk.linktype[i] = g.headLinktype;
    this.counts.reassembled++;
  }

  /** A completed datagram that cannot be handed on: its record becomes an empty frame nothing decodes. */
  private undeliverable(chunk: Chunk, i: number): void {
    this.rewrites.push(i, chunk.offset[i], chunk.caplen[i], chunk.origlen[i], chunk.linktype[i]);
    chunk.caplen[i] = 0;
  }

  private dropped(g: Datagram, reason: DropReason): false {
    this.drop(g, reason);
    return false;
  }

  private drop(g: Datagram, reason: DropReason): void {
    this.forget(g);
    this.counts[reason]++;
    this.debug?.(`IP datagram ${g.key}: ${REASON_TEXT[reason]}: dropped (${g.pieces.length} fragments held, ${g.covered} of ${g.total < 0 ? '?' : g.total} bytes)`);
  }

  private forget(g: Datagram): void {
    this.pending.delete(g.key);
    this.pendingBytes -= g.cost;
  }

  /** Drop the oldest datagrams past their timeout (they would only be dropped when their next fragment comes). */
  private expireOldest(now: number): void {
    for (const g of this.pending.values()) {
      if (now - g.since <= timeoutOf(g.version)) return;
      this.drop(g, 'timedOut');
    }
  }

  /** Over a cap: drop the oldest datagrams other than `keep` (a datagram alone over the byte cap goes too). */
  private enforceCaps(keep: Datagram): void {
    const { maxPendingBytes, maxPendingDatagrams } = this.limits;
    for (const g of this.pending.values()) {
      if (this.pendingBytes <= maxPendingBytes && this.pending.size <= maxPendingDatagrams) return;
      if (g !== keep) this.drop(g, 'evicted');
    }
    if (this.pendingBytes > maxPendingBytes) this.drop(keep, 'evicted');
  }
}

function timeoutOf(version: number): number {
  return version === 4 ? FRAGMENT_TIMEOUT_V4 : FRAGMENT_TIMEOUT_V6;
}

function lastEnd(g: Datagram): number {
  return g.pieces.length > 0 ? g.pieces[g.pieces.length - 1].end : 0;
}

/** Index of the first piece starting at or after `start`. */
function insertionPoint(pieces: readonly Piece[], start: number): number {
  let lo = 0, hi = pieces.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (pieces[mid].start < start) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Which datagram a fragment belongs to: version, VLAN, addresses, protocol and identification. */
function datagramKey(buf: Uint8Array, d: DecodedPacket): string {
  let k = `${d.ipVersion}/${d.vlan}/${d.fragProto}/${d.fragId}/`;
  const a = d.addrOffset, n = 2 * d.addrLen;
  for (let j = 0; j < n; j++) k += (buf[a + j] | 0x100).toString(16).slice(1);
  return k;
}

/** Set the IPv4 header checksum of the header at buf[ip...]. */
export function setIpv4Checksum(buf: Uint8Array, ip: number): void {
  const ihl = (buf[ip] & 0x0f) * 4;
  buf[ip + 10] = 0;
  buf[ip + 11] = 0;
  let sum = 0;
  for (let j = 0; j < ihl; j += 2) sum += (buf[ip + j] << 8) | buf[ip + j + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff;
  buf[ip + 10] = c >> 8;
  buf[ip + 11] = c & 0xff;
}

/** The counts under their report names (DFXML attributes of <ip_fragments>, the JSON Lines summary's ip_fragments). */
export function fragmentFields(f: FragmentCounts): Record<string, number> {
  return {
    fragments: f.fragments, reassembled: f.reassembled, duplicates: f.duplicates, overlapping: f.overlapping,
    timed_out: f.timedOut, evicted: f.evicted, invalid: f.invalid, incomplete: f.incomplete,
  };
}

/** One line for the log (-d 2). */
export function fragmentText(f: FragmentCounts): string {
  return `${f.fragments} fragments, ${f.reassembled} datagrams reassembled, ${f.duplicates} duplicate fragments ignored; ` +
    `datagrams dropped: ${f.overlapping} overlapping, ${f.timedOut} timed out, ${f.evicted} evicted by the caps, ` +
    `${f.invalid} invalid, ${f.incomplete} incomplete at the end`;
}
