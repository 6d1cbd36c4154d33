import * as path from 'node:path';
import { DEFAULT_INFLATE_LIMITS } from './scanners/http/inflate';
import { EXIT, TcpflowError } from './errors';
import { perBucketCap } from './flow/buckets';
import type { FlowHookOptions, NetvizOptions, Options } from './options';
import { MAX_CHILDREN } from './hooks/commands';
import type { PluginSpec } from './scanners/js-plugin';
import { buildNaming, namesKeepConnectionsApart } from './output/naming';
import { Template } from './output/template';
import type { FlowMode, WorkerConfig } from './shard/protocol';
import { DFXML_RECORD_ROOM } from './report/dfxml';
import { JSONL_RECORD_ROOM } from './report/jsonl';
import type { DecompressLimits } from './capture/decompress';
import { shardPath, type ShardSlice } from './shard/slice';

/** Descriptors kept back for the runtime, inputs, the reports and their spill files. */
const RESERVED_FDS = 32;
/** How long (in packets) a closed flow is remembered for the straggler check. */
export const SAVED_WINDOW = 100_000;

/** The --resume journal's directory, in the output directory. */
export const RESUME_DIR = '.tcpflow-ts-resume';

/**
 * What --resume cannot take back after a crash: text already printed, -w and -K files
 * (written in packet order, not per flow), standard input and live capture (not read
 * again), scanners other than md5 (whose results a resumed run cannot take again from a
 * flow's file).
 */
function refuseForResume(opts: Options, mode: FlowMode, scanners: readonly string[]): void {
  const refuse = (what: string) => new TcpflowError('USAGE', `--resume cannot be used with ${what}`, EXIT.USAGE);
  if (mode === 'console') throw refuse('console output (-c/-C)');
  if (mode === 'pcaps') throw refuse('-K');
  if (opts.unprocessedPath !== null) throw refuse('-w');
  if (opts.readFiles.length === 0 && opts.finishFiles.length === 0) throw refuse('live capture (no input file)');
  if ([...opts.readFiles, ...opts.finishFiles].includes('-')) throw refuse("standard input ('-')");
  const other = scanners.find((s) => s !== 'md5');
  if (other !== undefined) throw refuse(`-e ${other}`);
}

/** tcpflow's boolean parameter rule: true when the value starts with Y, y, T, t or 1. */
function paramTrue(v: string | undefined, dflt: boolean): boolean {
  return v === undefined ? dflt : /^[YyTt1]/.test(v);
}

export interface InputSpec {
  path: string;
  /** An -R file: it only continues connections already open. */
  finishing: boolean;
}

/** Everything a run will do, decided from the options before anything is read or written. */
/** Live capture (no input file): where and how. */
export interface LivePlan {
  /** -i, or null: libpcap's first device. */
  device: string | null;
  promiscuous: boolean;
  timeoutMs: number;
}

export interface RunPlan {
  inputs: InputSpec[];
  /** Set when there is no input file: capture from an interface. */
  live: LivePlan | null;
  /** The filter expression applied to every input (operands joined by spaces), or null. */
  filter: string | null;
  /** -U USER. */
  user: string | null;
  /** -z DIR (the options' output paths are already inside it: src/util/chroot.ts). */
  chroot: string | null;
  outdir: string;
  mode: FlowMode;
  /** Report files: tcpflow's DFXML report and the JSON Lines report (null: not written). */
  reports: { dfxml: string | null; jsonl: string | null };
  /** Worker threads to start. */
  workers: number;
  /** Descriptors for flow files, all workers together (-f, or what the system allows). */
  fileDescriptors: number;
  /** What each worker is told (index and spill file are per worker). */
  worker: Omit<WorkerConfig, 'index' | 'spillPath'>;
  /** -w FILE. */
  unprocessedPath: string | null;
  /** -L NAME. */
  lockName: string | null;
  /** --sort-inputs: the explicit inputs ordered by their first packets too. */
  sortInputs: boolean;
  /** The bound on compressed inputs. */
  decompress: DecompressLimits;
  /** --shard K/N (report and -w paths then carry `.shard-K-of-N`). */
  shard: ShardSlice | null;
  /** --resume: the journal's directory (in the output directory), else null. */
  resumeDir: string | null;
  maxFlows: number;
  quiet: boolean;
  debugLevel: number;
  /** -e netviz: the picture (outdir/report.svg, report.html) and its settings; null: off. */
  netviz: NetvizOptions | null;
  /** -e js: the plugin, loaded once before anything is written (a bad module stops the run there). */
  plugin: PluginSpec | null;
  /** The hooks that will run (those the mode makes useless are dropped, with a warning). */
  hooks: FlowHookOptions;
  /** Warnings to print before the run starts (option combinations that do less than asked). */
  warnings: string[];
  /** tcpflow's debug notes, with their -d levels. */
  notes: { level: number; text: string }[];
}

/**
 * Options → plan. `openFileLimit` is the process's descriptor limit. Throws a TcpflowError
 * (usage) for combinations that cannot run; a bad template is refused here, before
 * anything is written (spec B25).
 */
export function planRun(opts: Options, openFileLimit: number): RunPlan {
  const warnings: string[] = [];
  const notes: RunPlan['notes'] = [];
  const naming = buildNaming(opts.naming);
  warnings.push(...naming.warnings);
  const template = new Template(naming.template);
  const mode: FlowMode = opts.keepPcaps ? 'pcaps' : opts.console !== null ? 'console' : naming.storeFiles ? 'files' : 'report-only';

  // Content scanners read flow files, in processing order; netviz counts packets in any mode.
  const post = opts.scanners;
  const scanners = [
    ...(post.includes('md5') || naming.md5 || opts.digests.includes('md5') ? ['md5'] : []),
    ...(opts.digests.includes('sha256') ? ['sha256'] : []),
    ...post.filter((n) => n === 'http' || n === 'js'),
  ];
  const asked = [...post.filter((n) => n !== 'netviz'), ...opts.digests];
  if (asked.length > 0 && mode === 'report-only') {
    throw new TcpflowError('USAGE', 'post-processing (-e) requires storing output (not -FX)', EXIT.USAGE);
  }
  if (scanners.length > 0 && (mode === 'console' || mode === 'pcaps')) {
    warnings.push(`${scanners.map((s) => s === 'sha256' ? '-S hash=sha256' : `-e ${s}`).join(', ')} ignored: ${mode === 'console' ? 'console output (-c/-C)' : '-K'} stores no flow files to scan`);
    scanners.length = 0;
  }
  const hooks = { ...opts.hooks };
  if ((hooks.tcpAlertFd !== null || hooks.tcpCmd !== null) && mode !== 'files') {
    warnings.push(`-S tcp_alert_fd and -S tcp_cmd ignored: ${mode === 'console' ? 'console output (-c/-C)' : mode === 'pcaps' ? '-K' : '-FX'} writes no flow files`);
    hooks.tcpAlertFd = hooks.tcpCmd = null;
  }
  if ((hooks.httpAlertFd !== null || hooks.httpCmd !== null) && !scanners.includes('http')) {
    warnings.push('-S http_alert_fd and -S http_cmd ignored: the http scanner is not enabled (-e http)');
    hooks.httpAlertFd = hooks.httpCmd = null;
  }
  if (!opts.tcpdemux) notes.push({ level: 1, text: '-x tcpdemux: TCP is not processed, no flow is written' });

  // Console modes write no report unless asked to (later tcpflow; spec B21).
  const reportEnabled = paramTrue(opts.params.enable_report, mode !== 'console');
  if (!reportEnabled && opts.reportPath !== null) {
    warnings.push(`-X ${opts.reportPath} ignored: ${mode === 'console' ? 'console output (-c/-C) writes no report unless -S enable_report=YES' : '-S enable_report is off'}`);
  }
  // Every shard of one command line writes its own reports and -w file (a shared directory).
  const own = (p: string | null) => (p === null || opts.shard === null ? p : shardPath(p, opts.shard));
  const dfxml = own(reportEnabled ? opts.reportPath ?? path.join(opts.outdir, 'report.xml') : null);
  let jsonl = own(opts.jsonlPath);
  if (jsonl !== null && mode === 'console') {
    warnings.push(`--jsonl ${jsonl} ignored: console output (-c/-C) reports no flow files`);
    jsonl = null;
  }

  // Where names of different connections may coincide, the c1, c2 ... counters depend on
  // the order of file creation over all flows: one worker keeps it tcpflow's.
  if (opts.resume) refuseForResume(opts, mode, scanners);
  const apart = namesKeepConnectionsApart(template);
  if (opts.shard !== null && (mode === 'files' || mode === 'pcaps') && !apart) {
    throw new TcpflowError('USAGE', `--shard: template ${template.source} can give different connections the same name, ` +
      "so a name's c1, c2 ... counter would depend on other shards' flows; use a template with %A, %a, %B and %b", EXIT.USAGE);
  }
  let workers = opts.workers;
  if (workers > 1 && (mode === 'files' || mode === 'pcaps') && !apart) {
    notes.push({ level: 2, text: `template ${template.source} can give different connections the same name: one worker thread` });
    workers = 1;
  }
  // Without flow files (-FX) a worker only decodes and tracks flows, about as much work per
  // packet as the coordinator's read and dispatch: one thread keeps up, and a second only
  // adds its start-up (an isolate, its modules and their optimisation: ~0.1 s of CPU).
  // Measured on bulk.pcap -FX (1 GB, 2 CPUs): 0.67 s of CPU with one, 0.95 s with two, and
  // no slower. The output is the same for any count, so --workers still means what it says.
  if (!opts.workersGiven && mode === 'report-only' && workers > 1) {
    notes.push({ level: 2, text: 'no flow files to write: one worker (--workers to ask for more)' });
    workers = 1;
  }
  if (opts.sortInputs && [...opts.readFiles, ...opts.finishFiles].includes('-')) {
    throw new TcpflowError('USAGE', '--sort-inputs cannot order standard input (-r -): its first packet cannot be read ahead', EXIT.USAGE);
  }
  if (opts.tcpTimeout > 0 && mode === 'pcaps') warnings.push('-S tcp_timeout ignored: -K keeps each flow\'s pcap open to the end');
  const fileDescriptors = opts.maxFds ?? Math.max(workers, openFileLimit - RESERVED_FDS);
  const tdelta = Number(opts.params.tdelta ?? '0');
  if (opts.maxFds !== null) notes.push({ level: 1, text: `changing max_fds from ${openFileLimit - RESERVED_FDS} to ${opts.maxFds}` });

  const inputs = [
    ...opts.readFiles.map((f) => ({ path: f, finishing: false })),
    ...opts.finishFiles.map((f) => ({ path: f, finishing: true })),
  ];
  if (inputs.length === 0 && opts.unprocessedPath !== null) {
    throw new TcpflowError('USAGE', 'currently the -w option requires the -r option', EXIT.USAGE);
  }
  return {
    inputs,
    live: inputs.length > 0 ? null : { device: opts.device, promiscuous: opts.promiscuous, timeoutMs: opts.packetBufferTimeout },
    filter: opts.filter,
    user: opts.user,
    chroot: opts.chroot,
    outdir: opts.outdir,
    mode,
    reports: { dfxml, jsonl },
    workers,
    fileDescriptors,
    worker: {
      mode,
      outdir: opts.outdir,
      template: template.source,
      maxOpenFiles: Math.max(1, Math.floor(fileDescriptors / workers)),
      maxSeek: opts.maxSeek,
      maxBytes: opts.maxBytes,
      scanners,
      scannerSettings: { httpDecompress: opts.decompressHttp, httpLimits: { ...DEFAULT_INFLATE_LIMITS, maxBytes: opts.httpMaxBody, maxRatio: opts.httpMaxRatio } },
      tcpdemux: opts.tcpdemux,
      netviz: post.includes('netviz') ? { maxAddresses: opts.netviz.maxAddresses } : null,
      plugin: scanners.includes('js') ? opts.plugin : null,
      hooks: { ...hooks, commandLimit: Math.max(1, Math.floor(MAX_CHILDREN / workers)) },
      findx: opts.findx,
      tdelta,
      tcpTimeout: opts.tcpTimeout,
      savedWindow: SAVED_WINDOW,
      maxFlowsPerBucket: perBucketCap(opts.maxFlows),
      mergeVlans: !paramTrue(opts.params.vlan_key, true),
      records: dfxml !== null || jsonl !== null,
      recordRoom: [...(dfxml !== null ? [DFXML_RECORD_ROOM] : []), ...(jsonl !== null ? [JSONL_RECORD_ROOM] : [])]
        .reduce((a, b) => ({ perChar: a.perChar + b.perChar, perRecord: a.perRecord + b.perRecord }), { perChar: 0, perRecord: 0 }),
      debugLevel: opts.debugLevel,
      console: mode === 'console' ? opts.console : null,
      unprocessed: opts.unprocessedPath !== null,
      shard: opts.shard,
      resume: null,
      preload: opts.chroot !== null,
    },
    unprocessedPath: own(opts.unprocessedPath),
    lockName: opts.lockName,
    sortInputs: opts.sortInputs,
    decompress: opts.decompress,
    shard: opts.shard,
    resumeDir: opts.resume ? own(path.join(opts.outdir, RESUME_DIR)) : null,
    maxFlows: opts.maxFlows,
    quiet: opts.quiet,
    debugLevel: opts.debugLevel,
    netviz: post.includes('netviz') ? opts.netviz : null,
    plugin: scanners.includes('js') ? opts.plugin : null,
    hooks,
    warnings,
    notes,
  };
}
