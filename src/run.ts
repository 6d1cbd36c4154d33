import * as fs from 'node:fs';
import * as path from 'node:path';
import { openCapture } from './capture/reader';
import { TcpflowError, EXIT } from './errors';
import type { Options } from '../cli/options';
import { Coordinator } from './shard/coordinator';
import type { WorkerResult } from './shard/protocol';
import { Template } from './output/template';
import { buildNaming } from './output/naming';
import { outputError } from './output/flow-files';
import { strerror } from './util/strerror';
import { dfxmlFooter, dfxmlHeader } from './report/dfxml';
import { mergeFragments } from './report/fragments';
import type { Logger } from './util/log';
import { openFileLimit } from './util/limits';
import { Progress } from './util/progress';
import { ESTABLISHED_FLOW_BYTES, FLOW_BUCKETS, perBucketCap } from './flow/buckets';

/** tcpflow's boolean parameter rule: true when the value starts with Y, y, T, t or 1. */
function paramTrue(v: string | undefined, dflt: boolean): boolean {
  return v === undefined ? dflt : /^[YyTt1]/.test(v);
}

/** Descriptors kept back for the runtime, inputs, the report and its spill files. */
const RESERVED_FDS = 32;
/** How long (in packets) a closed flow is remembered for the straggler check. */
const SAVED_WINDOW = 100_000;

interface Report {
  fd: number;
  path: string;
}

/**
 * One whole run: output directory, report, workers, every input in order, then the
 * report's records and summary. Returns the exit status. Errors in the middle stop the
 * reading but never the finishing: flows seen so far are closed and the report is
 * completed, with the error noted in it.
 */
export async function run(opts: Options, argv: readonly string[], log: Logger): Promise<number> {
  const startedAt = process.hrtime.bigint();
  const naming = buildNaming(opts.naming);
  for (const w of naming.warnings) log.warn(w);
  const template = new Template(naming.template); // validated before anything is written
  const md5 = opts.scanners.includes('md5') || naming.md5;
  if (opts.scanners.length > 0 && !naming.storeFiles) {
    throw new TcpflowError('USAGE', 'post-processing (-e) requires storing output (not -FX)', EXIT.USAGE);
  }
  prepareOutdir(opts.outdir);

  // Console modes write no report unless asked to (later tcpflow; spec B21).
  const reportEnabled = paramTrue(opts.params.enable_report, opts.console === null);
  const tdelta = Number.parseInt(opts.params.tdelta ?? '0', 10) || 0;
  const reportPath = reportEnabled ? opts.reportPath ?? path.join(opts.outdir, 'report.xml') : null;

  let exitCode: number = EXIT.OK;
  let fatal: TcpflowError | null = null;
  let signal: NodeJS.Signals | null = null;
  const onSignal = (s: NodeJS.Signals) => {
    if (signal === null) log.warn(`${s}: terminating orderly, flows seen so far are being written`);
    signal = s;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const limit = openFileLimit();
  const totalFds = opts.maxFds ?? Math.max(opts.workers, limit - RESERVED_FDS);
  if (opts.maxFds !== null) log.info(`changing max_fds from ${limit - RESERVED_FDS} to ${opts.maxFds}`);
  const coordinator = await Coordinator.start(opts.workers, {
    outdir: opts.outdir,
    template: template.source,
    maxOpenFiles: Math.max(1, Math.floor(totalFds / opts.workers)),
    maxSeek: opts.maxSeek,
    maxBytes: opts.maxBytes,
    md5,
    findx: opts.findx,
    storing: naming.storeFiles,
    tdelta,
    savedWindow: SAVED_WINDOW,
    maxFlowsPerBucket: perBucketCap(opts.maxFlows),
    debugLevel: opts.debugLevel,
    console: opts.console,
  }, (i) => (reportPath !== null ? `${reportPath}.part${i}` : null), opts.console !== null ? writeStdout : null);
  // Built while the worker threads boot (xmlbuilder2 alone takes ~70 ms to load).
  let report: Report | null = null;
  try {
    if (reportPath !== null) report = openReport(reportPath, opts, argv, tdelta, log);
  } catch (e) {
    await coordinator.finish();
    throw e;
  }

  const inputs = [
    ...opts.readFiles.map((f) => ({ file: f, finishing: false })),
    ...opts.finishFiles.map((f) => ({ file: f, finishing: true })),
  ];
  const progress = Progress.forStderr(opts.debugLevel, inputs.length);
  for (const [index, { file, finishing }] of inputs.entries()) {
    if (signal !== null || coordinator.error !== null) break;
    try {
      const reader = openCapture(file);
      try {
        const r = await coordinator.feed(reader, finishing, () => signal !== null,
          (packets) => progress.update(index, file, reader.bytesRead, reader.size, packets));
        progress.fileDone(reader.bytesRead);
        progress.clear();
        for (const lt of r.unknownLinkTypes) {
          log.error(`${file}: sorry - unknown datalink type ${lt} (its packets are skipped)`);
          exitCode = EXIT.INPUT;
        }
        const t = reader.truncation;
        if (t !== null) {
          log.error(`${file}: truncated dump file; tried to read ${t.wanted} ${t.what}, only got ${t.got} (at byte ${t.offset}); packets before it are kept`);
          exitCode = EXIT.INPUT;
        }
      } finally {
        reader.close();
      }
    } catch (e) {
      progress.clear();
      if (!(e instanceof TcpflowError)) throw e;
      log.error(e.message);
      exitCode = Math.max(exitCode, e.exitCode);
    }
  }

  const results = await coordinator.finish();
  fatal = coordinator.error;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (fatal !== null) {
    log.error(fatal.message);
    exitCode = fatal.exitCode;
  }
  if (signal !== null) exitCode = signal === 'SIGINT' ? EXIT.SIGINT : EXIT.SIGTERM;

  const sum = summarize(results);
  if (report !== null) {
    try {
      finishReport(report, opts.workers, opts.maxFlows, sum, fatal ? fatal.message : signal ? `interrupted by ${signal}` : null, startedAt);
    } catch (e) {
      const err = outputError(report.path, e);
      log.error(err.message);
      exitCode = Math.max(exitCode, err.exitCode);
    }
  }
  if (!opts.quiet && sum.flowsPurged > 0) warnPurged(sum.flowsPurged, opts.maxFlows, log);
  if (!opts.quiet && sum.totalFlows > 10_000 && opts.console === null && naming.storeFiles) warnCrowdedOutdir(opts.outdir, log);
  log.debug(`Open FDs at end of processing:      ${sum.openAtEnd}`);
  log.debug(`Flow map size at end of processing: ${sum.flowsAtEnd}`);
  log.debug(`Flows seen:                         ${sum.totalFlows}`);
  log.debug(`Total packets processed: ${sum.totalPackets}`);
  return exitCode;
}

/**
 * tcpflow's warning when the output directory ends up with 10,000 entries or more (it
 * counts `.` and `..` too), suggesting the binning options. Only looked at when more than
 * 10,000 flows were seen; -q turns it off.
 */
function warnCrowdedOutdir(outdir: string, log: Logger): void {
  let entries = 2;
  try {
    const dir = fs.opendirSync(outdir);
    try {
      while (dir.readSync() !== null) entries++;
    } finally {
      dir.closeSync();
    }
  } catch {
    return;
  }
  if (entries < 10_000) return;
  log.warn([
    '*** tcpflow-ts WARNING:',
    '*** Modern operating systems do not perform well ',
    '*** with more than 10,000 entries in a directory.',
    '***',
    `*** tcpflow-ts created ${entries} files in output directory ${outdir}`,
    '***',
    '*** Next time, specify command-line options: -Fk , -Fm , or -Fg ',
    '*** This will automatically bin output into subdirectories.',
    "*** type 'tcpflow-ts -hh' for more information.",
  ].join('\n'));
}

/** Once at the end: flows were closed before their end by the open-flow cap. */
function warnPurged(purged: number, maxFlows: number, log: Logger): void {
  log.warn(`${purged} flow${purged === 1 ? ' was' : 's were'} closed early: the open-flow cap was reached ` +
    `(-S max_flows=${maxFlows}: at most ${perBucketCap(maxFlows)} open flows in each of ${FLOW_BUCKETS} hash buckets; ` +
    'the least recently seen flow of a full bucket is closed first, a later packet of it starts a new file). ' +
    `Raise the cap with -S max_flows=N (about ${(ESTABLISHED_FLOW_BYTES / 1000).toFixed(1)} KB of memory per open flow).`);
}

/** Console text, byte for byte (latin1), waiting out a non-blocking pipe. */
function writeStdout(text: string): void {
  const b = Buffer.from(text, 'latin1');
  for (let off = 0; off < b.length;) {
    try {
      off += fs.writeSync(1, b, off, b.length - off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw outputError('standard output', e);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

function prepareOutdir(outdir: string): void {
  let st: fs.Stats | null = null;
  try {
    st = fs.statSync(outdir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw outputError(outdir, e);
  }
  if (st !== null) {
    if (!st.isDirectory()) throw new TcpflowError('OUTPUT', `outdir is not a directory: ${outdir}`, EXIT.OUTPUT);
    return;
  }
  try {
    fs.mkdirSync(outdir, 0o777);
  } catch (e) {
    throw new TcpflowError('OUTPUT', `cannot create ${outdir}: ${strerror(e)}`, EXIT.OUTPUT);
  }
}

function openReport(p: string, opts: Options, argv: readonly string[], tdelta: number, log: Logger): Report {
  log.info(`reportfilename: ${p}`);
  let fd: number;
  try {
    fd = fs.openSync(p, 'w', 0o666);
  } catch (e) {
    throw outputError(p, e);
  }
  const header = dfxmlHeader({
    commandLine: argv.join(' '),
    startTime: new Date(),
    config: { workers: opts.workers, outdir: opts.outdir },
    tdelta,
  });
  fs.writeSync(fd, header);
  return { fd, path: p };
}

function summarize(results: WorkerResult[]) {
  const s = { totalFlows: 0, totalPackets: 0, openAtEnd: 0, maxOpen: 0, flowsAtEnd: 0, flowsPurged: 0 };
  for (const r of results) {
    s.totalFlows += r.totalFlows;
    s.totalPackets += r.totalPackets;
    s.openAtEnd += r.openAtEnd;
    s.maxOpen += r.maxOpen;
    s.flowsAtEnd += r.flowsAtEnd;
    s.flowsPurged += r.flowsPurged;
  }
  return s;
}

function finishReport(report: Report, workers: number, maxFlows: number, sum: ReturnType<typeof summarize>, error: string | null, startedAt: bigint): void {
  const parts = Array.from({ length: workers }, (_, i) => `${report.path}.part${i}`).filter((p) => fs.existsSync(p));
  let pending: Buffer[] = [];
  let size = 0;
  const flush = () => {
    if (size === 0) return;
    fs.writeSync(report.fd, Buffer.concat(pending, size));
    pending = [];
    size = 0;
  };
  try {
    mergeFragments(parts, (b) => {
      pending.push(b);
      size += b.length;
      if (size >= 1 << 20) flush();
    });
    flush();
  } finally {
    for (const p of parts) fs.rmSync(p, { force: true });
    fs.writeSync(report.fd, dfxmlFooter({
      openFdsAtEnd: sum.openAtEnd,
      maxOpenFlows: sum.maxOpen,
      totalFlows: sum.totalFlows,
      flowMapSize: sum.flowsAtEnd,
      totalPackets: sum.totalPackets,
      flowsPurged: sum.flowsPurged,
      maxFlows,
      error,
    }, startedAt));
    fs.closeSync(report.fd);
  }
}
