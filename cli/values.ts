/**
 * Whole-number option values. tcpflow reads them with C atoi, so `-b abc` silently meant
 * "store 0 bytes" and `-m 5000000000` wrapped around; tcpflow-ts takes digits only and
 * refuses anything else in one line naming the option and the value. The ranges are listed
 * by -h and the man page from here.
 */
import { EXIT, TcpflowError } from '../src/errors';

export interface WholeRange {
  min: number;
  max: number;
}

/** -d and -f are C ints in tcpflow; what is beyond them wrapped around there. */
const INT_MAX = 2 ** 31 - 1;

/** Options (letters, or long names) whose value is a whole number, and the values each accepts. */
export const WHOLE_NUMBER_OPTIONS: Readonly<Record<string, WholeRange>> = {
  // bytes per flow: 0 keeps empty files (as in tcpflow); the limit is the largest exact
  // integer of a double, far beyond any file.
  b: { min: 0, max: Number.MAX_SAFE_INTEGER },
  // a sequence-number jump: 0 splits on any retransmission; sequence numbers are 32-bit, so
  // from 2^31 on no jump is ever large enough.
  m: { min: 0, max: 2 ** 32 - 1 },
  // open flow files: at least one is needed to write anything.
  f: { min: 1, max: INT_MAX },
  // debug level: 0 shows warnings and errors only; every level from 10 on shows everything.
  d: { min: 0, max: INT_MAX },
  workers: { min: 1, max: 256 },
};

/** -S max_flows=N: at least one open flow. */
export const MAX_FLOWS_RANGE: WholeRange = { min: 1, max: Number.MAX_SAFE_INTEGER };
/** -S http_max_body=BYTES: decoded bytes of one HTTP body at most. */
export const HTTP_MAX_BODY_RANGE: WholeRange = { min: 1, max: Number.MAX_SAFE_INTEGER };
/** -S http_max_ratio=N: decoded bytes per compressed byte at most (past the first MiB). */
export const HTTP_MAX_RATIO_RANGE: WholeRange = { min: 1, max: 1_000_000 };

/** -S tcp_timeout=SECONDS: 0 is tcpflow's "never". */
export const TCP_TIMEOUT_RANGE: WholeRange = { min: 0, max: Number.MAX_SAFE_INTEGER };

/** -S packet-buffer-timeout=MS (live capture). */
export const PACKET_BUFFER_TIMEOUT_RANGE: WholeRange = { min: 1, max: 10_000 };

/** -S decompress_max_bytes=N and -S decompress_max_ratio=N: a compressed input may not grow past them. */
export const DECOMPRESS_RANGE: WholeRange = { min: 1, max: Number.MAX_SAFE_INTEGER };

/**
 * `text` as a whole number within `range`, or a usage error naming `option` as the user
 * would write it (`-b`, `--workers`, `-S max_flows`). Digits only: no sign, blanks, exponent
 * or suffix, so that nothing is read as something else.
 */
export function wholeNumber(option: string, text: string, range: WholeRange): number {
  const n = /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!(n >= range.min && n <= range.max)) {
    throw new TcpflowError('USAGE', `${option}: '${text}' is not a whole number from ${range.min} to ${range.max}`, EXIT.USAGE);
  }
  return n;
}

/** -S netviz_histogram_size=N: distinct addresses counted exactly per worker and direction. */
export const NETVIZ_ADDRESSES_RANGE: WholeRange = { min: 1, max: 100_000_000 };

/** -S tcp_alert_fd / http_alert_fd: a descriptor number (-1, tcpflow's default, is "none"). */
export const ALERT_FD_RANGE: WholeRange = { min: 0, max: INT_MAX };
