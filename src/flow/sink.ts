import type { Flow } from './flow';

/**
 * Where one flow direction's reassembled bytes go: a file on disk, the console, memory in
 * tests. Reassembly places bytes by sequence number, so a sink is written at positions
 * (tcpflow rewrites overlaps in place and moves content on front insertion), not appended.
 */
export interface FlowSink {
  /** The name the report gives the content (the flow file's path), or null when there is none. */
  readonly name: string | null;
  /**
   * Store data[off, off+len) at `pos` (len may be 0: -b still opens the file). The bytes may
   * be kept as views until the chunk they live in has been processed.
   */
  write(pos: number, data: Uint8Array, off: number, len: number): void;
  /**
   * Move everything stored up by `shift` bytes, zero-filling the front; nothing may end up
   * at or past `limit` (-b), or -1 for no limit.
   */
  shiftUp(shift: number, limit: number): void;
  /** Stored bytes [pos, pos+len), short at the end; valid after close() too (scanners). */
  read(pos: number, len: number): Uint8Array;
  /** No more writes: flush and let go of resources (descriptors). */
  close(): void;
  /** --resume checkpoints: write out everything queued and say what the file holds now (flow files only). */
  checkpoint?(): SinkCheckpoint;
}

/** A flow file at a checkpoint: what a resumed run cuts it back to. */
export interface SinkCheckpoint {
  /** Absolute path. */
  path: string;
  size: number;
  /** Size of its -I index, or null without -I. */
  findx: number | null;
  /** The time its flow's end stamps on it (seconds), or null for none. */
  mtime: number | null;
}

/** Where a worker's flows store their bytes: flow files, console text, memory in tests. */
export interface SinkFactory {
  open(flow: Flow): FlowSink;
  /** The name a flow's record gets when it stored nothing (console mode: the name it would have had), or null. */
  nameOf(flow: Flow): string | null;
  /** Bytes [pos, pos+len) of the content a closed sink named `name` stored (short at its end; empty when gone). */
  readClosed(name: string, pos: number, len: number): Uint8Array;
}

/**
 * The reassembler's environment: it asks for a flow's sink when the flow first stores a
 * byte, and says when a flow has ended. Everything that happens at a flow's end (closing
 * its sink, scanners, its report record) sits behind `closed`.
 */
export interface FlowOutput {
  open(flow: Flow): FlowSink;
  /** The flow ended (its last packet was `closePacket`, Infinity at end of input; n - 0.5 when closed idle just before packet n: -S tcp_timeout). */
  closed(flow: Flow, closePacket: number): void;
  /**
   * The straggler check: bytes [pos, pos+len) a closed flow's sink named `name` stored (its
   * name, not the sink, is what the check keeps: SinkFactory.readClosed).
   */
  readClosed(name: string, pos: number, len: number): Uint8Array;
}
