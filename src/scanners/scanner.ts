import type { Flow } from '../flow/flow';
import type { ScanFields } from '../report/flow-record';

/** A flow's stored bytes, as a scanner reads them when the flow ends. */
export interface StoredContent {
  /** Bytes [pos, pos+len), short at the end of the content. */
  read(pos: number, len: number): Uint8Array;
}

/**
 * A scanner (tcpflow's -e): it sees each flow that stores bytes, while they arrive and
 * when the flow ends, and adds its findings to the flow's report record. Scanners run in
 * the worker that owns the flow.
 */
export interface Scanner {
  readonly name: string;
  /**
   * A session for one flow, started when the flow stores its first byte; `path` is the
   * flow file's (what the report names it), null when there is none.
   */
  open(flow: Flow, path: string | null): FlowScan;
}

export interface FlowScan {
  /**
   * Bytes stored at stream position `pos`, as long as they arrive in order (each call
   * continues the previous one). Once a flow's bytes stop arriving in order (a hole, an
   * overlap, front insertion) it is called no more for that flow.
   */
  onData?(pos: number, bytes: Uint8Array): void;
  /**
   * The flow ended. `content` reads what was stored; `streamed` is true when every stored
   * byte went through onData, in order (then `content` need not be read).
   */
  onClose(content: StoredContent, streamed: boolean): ScanFields | null;
}
