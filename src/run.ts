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
import { fragmentSources, HeldFragments, loadSources, mergeFragments, sourceBytes } from './report/fragments';
import { REPORT_RESERVE, ReportWriter, reserveSpace } from './report/report-writer';
import { PROGRAM_NAME, type Logger } from './util/log';
import { TOOL_VERSION } from '../cli/help';
import { openFileLimit } from './util/limits';
import { Progress } from './util/progress';
import { PcapDump } from './output/pcap-file';
import { LINKTYPE } from './decode/link';
import { LockFile, lockPath } from './util/lock-file';
import { sleepSync } from './util/sleep';
import { ESTABLISHED_FLOW_BYTES, FLOW_BUCKETS, perBucketCap } from './flow/buckets';

/** tcpflow's boolean parameter rule: true when the value starts with Y, y, T, t or 1. */
function paramTrue(v: string | undefined, dflt: boolean): boolean {
  return v === undefined ? dflt : /^[YyTt1]/.test(v);
}

/** Descriptors kept back for the runtime, inputs, the report and its spill files. */
const RESERVED_FDS = 32;
/** Most bytes of report records read into memory to make room on a full disk. */
const LOAD_LIMIT = 256 * 1024 * 1024;
/** How long (in packets) a closed flow is remembered for the straggler check. */
const SAVED_WINDOW = 100_000;

interface Report {
  fd: number;
  path: string;
  /** Bytes of the header: the records start here. */
  start: number;
  /** End of the blanks reserved for the records. */
  reserved: number;
}

/**
 * One whole run: output directory, report, workers, every input in order, then the
 * report's records and summary. Returns the exit status. Errors in the middle stop the
 * reading but never the finishing: flows seen so far are closed and the report is
 * completed, with the error noted in it.
 */
export async function run(opts: Options, argv: readonly string[], log: Logger): Promise<number> {
  const startedAt = process.hrtime.bigint();
  log.at(10, `${PROGRAM_NAME} version ${TOOL_VERSION} (TCPFLOW version 1.6.1 compatible)`);
  if (opts.console !== null) log.at(10, 'printing packets to console only');
  if (opts.keepPcaps) log.at(10, 'keeping pcap flow structure (-K)');
  if (opts.findx) log.at(10, 'writing findx index files (-I)');
  if (opts.maxBytes >= 0) log.at(10, `max bytes per flow: ${opts.maxBytes}`);
  const naming = buildNaming(opts.naming);
  for (const w of naming.warnings) log.warn(w);
  const template = new Template(naming.template); // validated before anything is written
  const md5 = opts.scanners.includes('md5') || naming.md5;
  if (opts.scanners.length > 0 && !naming.storeFiles) {
    throw new TcpflowError('USAGE', 'post-processing (-e) requires storing output (not -FX)', EXIT.USAGE);
  }
  // -L: set up where tcpflow opens its semaphore (before the outdir), whatever the mode; only
  // console writes take it, as in tcpflow.
  const lock = opts.lockName === null ? null : new LockFile(lockPath(opts.lockName));
  if (lock !== null) {
    lock.probe();
    log.at(2, `console writes locked with ${lock.path}`);
  }
  prepareOutdir(opts.outdir);
  if (opts.keepPcaps) log.info('ensuring pcap core');

  // Console modes write no report unless asked to (later tcpflow; spec B21).
  const reportEnabled = paramTrue(opts.params.enable_report, opts.console === null);
  const tdelta = Number.parseInt(opts.params.tdelta ?? '0', 10) || 0;
  const reportPath = reportEnabled ? opts.reportPath ?? path.join(opts.outdir, 'report.xml') : null;

  let exitCode: number = EXIT.OK;
  let fatal: TcpflowError | null = null;
  let signal: NodeJS.Signals | null = null;
  const onSignal = (s: NodeJS.Signals) => {
    if (signal !== null) {
      // The way out of a run that cannot finish (a stuck worker, a hung disk): what is
      // on disk stays, flows still open are lost and the report is left incomplete.
      log.error(`${s} again: stopping at once; open flows are not written${reportPath !== null ? ` and ${reportPath} is incomplete` : ''}`);
      process.exit(s === 'SIGINT' ? EXIT.SIGINT : EXIT.SIGTERM);
    }
    log.warn(`${s}: terminating orderly, flows seen so far are being written (a second signal stops at once)`);
    signal = s;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  // -w is opened before any input is read (tcpflow's start-up order); its header is
  // written from the first input's first interface (spec B13: any input format works).
  let dump: PcapDump | null = null;
  if (opts.unprocessedPath !== null) dump = PcapDump.create(opts.unprocessedPath);

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
    console: opts.keepPcaps ? null : opts.console,
    unprocessed: dump !== null,
    keepPcaps: opts.keepPcaps,
  }, (i) => (reportPath !== null ? `${reportPath}.part${i}` : null), {
    print: opts.console === null || opts.keepPcaps ? null
      // The coordinator prints whole segments per call, so the lock keeps every segment whole.
      : lock === null ? writeStdout : (text) => lock.hold(() => writeStdout(text)),
    unprocessed: dump,
  });
  // Built while the worker threads boot (xmlbuilder2 alone takes ~70 ms to load).
  let report: Report | null = null;
  try {
    if (reportPath !== null) report = openReport(reportPath, opts, argv, tdelta, log);
  } catch (e) {
    await coordinator.finish();
    dump?.close();
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
        const first = reader.firstInterface;
        if (first !== null) log.at(3, `looking for handler for datalink type ${first.linktype} for interface ${file}`);
        if (dump !== null && reader.firstInterface !== null) dump.writeHeader(reader.firstInterface, LINKTYPE.EN10MB);
        const r = await coordinator.feed(reader, finishing, () => signal !== null,
          (packets) => progress.update(index, file, reader.bytesRead, reader.size, packets));
        progress.fileDone(reader.bytesRead);
        progress.clear();
        for (const lt of r.unknownLinkTypes) {
          log.error(`${file}: sorry - unknown datalink type ${lt} (its packets are skipped)`);
          exitCode = EXIT.INPUT;
        }
        const t = reader.truncation;
        if (reader.shrankFrom !== null) {
          log.error(`${file}: truncated while being read: ${reader.shrankFrom} bytes when opened, only ${reader.bytesRead} read; packets before it are kept`);
          exitCode = EXIT.INPUT;
        } else if (t !== null) {
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

  log.at(10, 'Cleaning up flows');
  const results = await coordinator.finish();
  fatal = coordinator.error;
  if (dump !== null) {
    try {
      // No record at all: a header-only file, as tcpflow leaves.
      dump.writeHeader(null, LINKTYPE.EN10MB);
      dump.close();
    } catch (e) {
      fatal ??= e instanceof TcpflowError ? e : outputError(dump.path, e);
    }
    if (coordinator.unprocessedSkipped > 0) {
      log.warn(`${dump.path}: ${coordinator.unprocessedSkipped} unprocessed packets left out: their link type differs from the file's (${dump.linktype})`);
    }
    log.at(2, `${dump.path}: ${dump.records} unprocessed packets written`);
  }
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (fatal !== null) {
    log.error(fatal.message);
    exitCode = fatal.exitCode;
  }
  if (signal !== null) exitCode = signal === 'SIGINT' ? EXIT.SIGINT : EXIT.SIGTERM;

  const sum = summarize(results);
  if (report !== null) {
    const problem = finishReport(report, opts.workers, opts.maxFlows, sum, fatal ? fatal.message : signal ? `interrupted by ${signal}` : null, startedAt);
    if (problem !== null) {
      log.error(problem);
      exitCode = Math.max(exitCode, EXIT.OUTPUT);
    }
  }
  if (!opts.quiet && sum.flowsPurged > 0) warnPurged(sum.flowsPurged, opts.maxFlows, log);
  if (!opts.quiet && sum.totalFlows > 10_000 && opts.console === null && naming.storeFiles) warnCrowdedOutdir(opts.outdir, log);
  // tcpflow's end-of-run summary (spec §6.6, debug level 2).
  log.at(2, `Open FDs at end of processing:      ${sum.openAtEnd}`);
  log.at(2, `demux.max_open_flows:               ${sum.maxOpen}`);
  log.at(2, `Flow map size at end of processing: ${sum.flowsAtEnd}`);
  log.at(2, `Flows seen:                         ${sum.totalFlows}`);
  log.at(2, `Total flows processed: ${sum.totalFlows}`);
  log.at(2, `Total packets processed: ${sum.totalPackets}`);
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
      sleepSync(1);
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
  const b = Buffer.from(header);
  try {
    for (let off = 0; off < b.length;) off += fs.writeSync(fd, b, off, b.length - off);
  } catch (e) {
    fs.closeSync(fd);
    throw outputError(p, e);
  }
  return { fd, path: p, start: b.length, reserved: reserveSpace(fd, b.length, REPORT_RESERVE) };
}

/** Bytes available on the file system of `file`, or Infinity if unknown. */
function freeSpace(file: string): number {
  try {
    const st = fs.statfsSync(path.dirname(file));
    return st.bavail * st.bsize;
  } catch {
    return Infinity;
  }
}

function summarize(results: readonly WorkerResult[]) {
  const s = { totalFlows: 0, totalPackets: 0, openAtEnd: 0, maxOpen: 0, flowsAtEnd: 0, flowsPurged: 0, fileobjects: 0, held: [] as HeldFragments[] };
  for (const r of results) {
    s.totalFlows += r.totalFlows;
    s.totalPackets += r.totalPackets;
    s.openAtEnd += r.openAtEnd;
    s.maxOpen += r.maxOpen;
    s.flowsAtEnd += r.flowsAtEnd;
    s.fileobjects += r.fileobjects;
    if (r.heldFragments !== null) s.held.push(r.heldFragments);
    s.flowsPurged += r.flowsPurged;
  }
  return s;
}

/**
 * The workers' records (spilled and held), then the footer. Returns null when every
 * record the workers rendered is in the report, else the one-line message saying what is
 * missing and why (the footer's <error> says it too, when it could be written).
 */
function finishReport(report: Report, workers: number, maxFlows: number, sum: ReturnType<typeof summarize>, error: string | null, startedAt: bigint): string | null {
  const parts = Array.from({ length: workers }, (_, i) => `${report.path}.part${i}`).filter((p) => fs.existsSync(p));
  const out = new ReportWriter(report.fd, report.start, report.reserved);
  let readError: string | null = null;
  try {
    let sources = fragmentSources(parts, sum.held);
    // A full disk: the records need the room their spill files take. Read them in and
    // delete the files first (when that fits in memory).
    const bytes = sourceBytes(sources);
    if (bytes > 0 && bytes <= LOAD_LIMIT && bytes > freeSpace(report.path) + (report.reserved - report.start)) {
      sources = loadSources(sources);
      for (const p of parts) fs.rmSync(p, { force: true });
    }
    mergeFragments(sources, (b) => out.add(b));
  } catch (e) {
    readError = `${report.path}.part*: ${strerror(e)}`;
  } finally {
    for (const p of parts) fs.rmSync(p, { force: true });
  }
  const missing = (written: number) => sum.fileobjects - written;
  const lossText = (written: number) => {
    // Why: records a worker could hold no more of, the report write, reading the spill files.
    const why = [...sum.held.filter((h) => h.dropped > 0).map((h) => h.error),
      ...(out.error !== null ? [`${report.path}: ${strerror(out.error)}`] : []), ...(readError !== null ? [readError] : [])];
    return `${missing(written)} of ${sum.fileobjects} flow records are missing from the report (${why.join('; ')})`;
  };
  try {
    out.finish((written) => dfxmlFooter({
      openFdsAtEnd: sum.openAtEnd,
      maxOpenFlows: sum.maxOpen,
      totalFlows: sum.totalFlows,
      flowMapSize: sum.flowsAtEnd,
      totalPackets: sum.totalPackets,
      error: [error, missing(written) > 0 ? lossText(written) : null].filter((x) => x !== null).join('; ') || null,
      flowsPurged: sum.flowsPurged,
      maxFlows,
    }, startedAt));
  } catch (e) {
    return `${report.path}: ${strerror(e)}; the report could not be completed (${sum.fileobjects} flow records not written)`;
  } finally {
    fs.closeSync(report.fd);
  }
  return missing(out.written) > 0 ? `${report.path}: ${lossText(out.written)}` : null;
}
