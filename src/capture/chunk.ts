/**
 * A chunk is one slot of the coordinator's buffer ring: a run of capture records
 * copied straight from the file into shared memory, plus a parallel record index.
 * Everything lives in SharedArrayBuffers so workers read the same bytes without a
 * copy; a slot is reused once every worker has released it.
 */
export const CHUNK_BYTES = 4 * 1024 * 1024;
export const CHUNK_RECORDS = 65536;
/**
 * Fragments the IP reassembler may hold at once, in bytes (src/shard/ip-fragments.ts; Linux's
 * ipfrag_high_thresh default). It sizes each chunk's side region: see allocChunk.
 */
export const FRAGMENT_PENDING_BYTES = 4 * 1024 * 1024;

export interface Chunk {
  /**
   * The whole slot: `input` (bytes as read from the capture file, record headers included),
   * then the side region where the coordinator writes reassembled IP datagrams; a
   * record's offset may point into either.
   */
  data: Uint8Array;
  /** data[0, input.length): the part a capture reader fills. */
  input: Uint8Array;
  /** Number of records indexed in this chunk. */
  count: number;
  /** Per record: byte offset of the packet data (after the record header) in `data`. */
  offset: Int32Array;
  /** Per record: captured length (bytes present in `data`). */
  caplen: Int32Array;
  /** Per record: original length on the wire. */
  origlen: Int32Array;
  /** Per record: timestamp, whole seconds (Unix time). */
  sec: Float64Array;
  /** Per record: timestamp, microseconds 0..999999 (finer resolutions truncated). */
  usec: Int32Array;
  /** Per record: link type (DLT / LINKTYPE value) of the record's interface. */
  linktype: Int32Array;
}

/**
 * The side region holds every datagram reassembled in the chunk. Each is at most the sum
 * of its fragments' bytes; those bytes are either the chunk's own records (at most
 * `bytes`) or fragments held from earlier chunks (at most FRAGMENT_PENDING_BYTES), so it
 * never runs out. Pages of a SharedArrayBuffer that are never written take no memory, so
 * a capture without fragments does not pay for it. The record index is one buffer, not six:
 * buffers under glibc's (dynamic) mmap threshold come from its heap and are zeroed page by
 * page, which for six buffers of 256-512 KiB in each of the ring's chunks was ~1,000 page
 * faults (4 MB of memset) in every run's start-up.
 */
export function allocChunk(bytes = CHUNK_BYTES, records = CHUNK_RECORDS): Chunk {
  const data = new Uint8Array(new SharedArrayBuffer(2 * bytes + FRAGMENT_PENDING_BYTES));
  // sec first: a Float64Array must start at a multiple of 8.
  const index = new SharedArrayBuffer(records * (8 + 5 * 4));
  const int32 = (i: number) => new Int32Array(index, records * (8 + i * 4), records);
  return {
    data,
    input: data.subarray(0, bytes),
    count: 0,
    sec: new Float64Array(index, 0, records),
    offset: int32(0),
    caplen: int32(1),
    origlen: int32(2),
    usec: int32(3),
    linktype: int32(4),
  };
}
