import { strerror } from './util/strerror';

/**
 * Errors meant for the user: a stable code, a one-line message naming the file and
 * the problem, and the process exit status the CLI uses for it.
 */
export type ErrorCode =
  | 'USAGE'          // bad option or argument
  | 'NOT_IMPLEMENTED'
  | 'INPUT_OPEN'     // input file missing or unreadable
  | 'INPUT_FORMAT'   // not a pcap/pcapng file
  | 'INPUT_TRUNCATED'
  | 'INPUT_CORRUPT'  // impossible record or block lengths
  | 'LINKTYPE'       // unsupported link type
  | 'OUTPUT'         // output directory / file cannot be written
  | 'LOCK'           // the -L lock file cannot be created, read or removed
  | 'WORKER'         // a worker thread died
  | 'STDOUT_CLOSED'  // the reader of standard output went away (EPIPE)
  | 'INTERRUPTED'
  | 'NO_LIBPCAP'     // live capture or a filter without the optional pcap package
  | 'FILTER'         // libpcap refused the filter expression
  | 'LIVE'           // the interface cannot be opened or read
  | 'PRIVILEGES';    // -U / -z cannot be done

/** Exit statuses (documented in the README). */
export const EXIT = {
  OK: 0,
  INPUT: 1,       // input problems (tcpflow uses 1 for all of these)
  USAGE: 2,
  OUTPUT: 3,
  WORKER: 4,
  // 128 + SIGPIPE: what the shell reports for tcpflow, cat or grep cut off by `| head`.
  STDOUT_CLOSED: 141,
  SIGHUP: 129,
  SIGINT: 130,
  SIGTERM: 143,
} as const;

export class TcpflowError extends Error {
  constructor(readonly code: ErrorCode, message: string, readonly exitCode: number = EXIT.INPUT) {
    super(message);
    this.name = 'TcpflowError';
  }
}

/** An error as plain data, to cross a thread boundary. */
export interface ErrorInfo {
  code: string;
  message: string;
  exitCode: number;
}

export function errorInfo(e: unknown): ErrorInfo {
  if (e instanceof TcpflowError) return { code: e.code, message: e.message, exitCode: e.exitCode };
  const err = e as Error;
  return { code: 'WORKER', message: `internal error in worker: ${err && err.stack ? err.stack : String(e)}`, exitCode: EXIT.WORKER };
}

/** An output file or directory that cannot be written: its path and the system's reason. */
export function outputError(p: string, e: unknown): TcpflowError {
  return new TcpflowError('OUTPUT', `${p}: ${strerror(e)}`, EXIT.OUTPUT);
}
