/**
 * What the command line asks for, validated: cli/ builds it, the run plan (src/plan.ts)
 * reads it. Nothing below cli/ parses arguments.
 */
import type { DecompressLimits } from './capture/decompress';
import type { ShardSlice } from './shard/slice';

/** -T and -F, in command-line order (they rewrite the file name template in turn). */
import type { PluginSpec } from './scanners/js-plugin';

export type NamingStep = { kind: 'template'; value: string } | { kind: 'format'; letters: string };

export interface Options {
  readFiles: string[];        // -r files in order, then -l operands
  finishFiles: string[];      // -R files in order
  device: string | null;      // -i IFACE (live capture when no input file is given); null: libpcap's first device
  promiscuous: boolean;       // false with -p
  user: string | null;        // -U USER: privileges dropped once the capture and the first input are open
  chroot: string | null;      // -z DIR: chroot to DIR just before -U's drop (output paths are inside DIR)
  packetBufferTimeout: number; // -S packet-buffer-timeout (ms), libpcap's live read timeout
  outdir: string;             // -o, default '.'
  reportPath: string | null;  // -X (null = <outdir>/report.xml)
  debugLevel: number;         // -d N, -v → 10; default 1
  quiet: boolean;             // -q
  maxFds: number | null;      // -f N (at least 1), null = default
  workers: number;            // --workers N, default: CPU count (ranges: cli/values.ts)
  workersGiven: boolean;      // --workers was given: worker threads even for a small input (src/shard/host-choice.ts)
  filter: string | null;      // without -l: operands joined by single spaces, null if none
  scanners: string[];         // post-processing scanners -e/-E/-x/-a turn on, in processing order (src/scanners/selection.ts)
  tcpdemux: boolean;          // TCP reassembly: off after -x tcpdemux
  digests: string[];          // -S hash=LIST: digests of every flow on top of -e md5 ('md5', 'sha256')
  plugin: PluginSpec | null;  // -e js: -S js_module, -S js_function
  hooks: FlowHookOptions;     // -S tcp_alert_fd, tcp_cmd, http_alert_fd, http_cmd
  netviz: NetvizOptions;      // -S netviz_histogram_size, netviz_histogram_dump
  params: Record<string, string>; // -S name=value
  warnings: string[];         // non-fatal messages to print on stderr
  maxBytes: number;           // -b N; default -1: unlimited
  maxSeek: number;            // -m N, default 16777216
  findx: boolean;             // -I
  unprocessedPath: string | null; // -w FILE: packets not processed, as pcap
  keepPcaps: boolean;         // -K: per-flow pcaps instead of flow files
  maxFlows: number;           // -S max_flows=N: open flows before the least recently seen are closed
  tcpTimeout: number;         // -S tcp_timeout=SECONDS: idle flows closed (0: never)
  /** -S decompress_max_bytes / decompress_max_ratio: the bound on compressed inputs. */
  decompress: DecompressLimits;
  sortInputs: boolean;        // --sort-inputs: explicit inputs ordered by their first packet, as directories are
  jsonlPath: string | null;   // --jsonl FILE: the report's records as JSON Lines
  decompressHttp: boolean;    // false with -Z: http bodies are written as sent (gzip, deflate, br)
  httpMaxBody: number;        // -S http_max_body=BYTES: a decompressed body is cut there
  httpMaxRatio: number;       // -S http_max_ratio=N: ... or past N times its compressed bytes
  /** -T and -F letters in command-line order: they rewrite the template in turn (spec §2.3-2.4). */
  naming: NamingStep[];
  /** Console modes (-c, -C and their modifiers); null when flows go to files. */
  console: ConsoleOptions | null;
  /** -L NAME: tcpflow's semaphore name, here the name of a lock file (src/util/lock-file.ts). */
  lockName: string | null;
  /** --shard K/N, or --shards N with K from the environment: this run's slice of the connections. */
  shard: ShardSlice | null;
  /** --resume: keep a journal in the output directory, and go on from where a stopped run left it. */
  resume: boolean;
}

/** tcpflow's per-file hooks; null: not set. */
export interface FlowHookOptions {
  tcpAlertFd: number | null;
  tcpCmd: string | null;
  httpAlertFd: number | null;
  httpCmd: string | null;
}

export interface NetvizOptions {
  /** Distinct addresses each worker counts exactly, per direction. */
  maxAddresses: number;
  /** Print the histograms as text on standard output at the end. */
  dump: boolean;
}

export interface ConsoleOptions {
  header: boolean;   // -c prints `name: ` before each payload, -C does not
  hex: boolean;      // -D
  json: boolean;     // -J
  color: boolean;    // -g
  binary: boolean;   // -B (wins over -s)
  newline: boolean;  // false with -0
}

