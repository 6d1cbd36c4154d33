import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openInput, type PacketSource } from './capture/source';
import { peekStdin } from './capture/reader';
import { interruptPipes } from './capture/pipe-input';
import { InputOrderCheck, resolveInputs } from './capture/inputs';
import { detectCompression, sniff } from './capture/decompress';
import type { CaptureStats, LiveSource } from './capture/live';
import type { Privileges } from './util/privileges';
import type { Chroot } from './util/chroot';
import { LiveStatus } from './util/progress';
import { TcpflowError, EXIT, outputError } from './errors';
import type { Options } from './options';
import { planRun, type RunPlan } from './plan';
import { Coordinator, type RunTotals } from './shard/coordinator';
import { InProcessHost, MixedHost, ThreadHost, type WorkerHost } from './shard/hosts';
import { chooseHost, IN_PROCESS_MAX_BYTES, meanRecordBytes, plainInputBytes, smallInput, type HostChoice } from './shard/host-choice';
import { splitBuckets, type BucketSplit } from './shard/bucket-split';
import { DEFAULT_LIMITS, FragmentReassembler, fragmentText } from './shard/ip-fragments';
import { strerror } from './util/strerror';
import { exitProcess } from './util/exit';
import { dfxmlFormat, type ReportSummary } from './report/dfxml';
import { jsonlFormat } from './report/jsonl';
import { ReportFile, ReportMerge } from './report/report-files';
import type { Logger } from './util/log';
import { VERSION, VERSION_LINE } from './version';
import { runDigest, type ShardInfo } from './report/shard-info';
import type { Journal, ResumeStart } from './resume/journal';
import type { LockFile } from './util/lock-file';
import { openFileLimit } from './util/limits';
import { limitHeapGrowth } from './util/heap';
import { Progress } from './util/progress';
import { PcapDump } from './output/pcap-file';
import { LINKTYPE } from './decode/link';
import { writeStdout } from './util/stdout';
import { ESTABLISHED_FLOW_BYTES, FLOW_BUCKETS, perBucketCap } from './flow/buckets';
import { checkAlertFd } from './hooks/alert-fd';
import { loadPlugin } from './scanners/js-plugin';
import { signalStatus, StopSignals } from './util/stop-signals';

/**
 * Tests of --resume (test/resume/): a run kills itself with SIGKILL once it has read this
 * many packets, a crash at a chosen point of a run ...
 */
const KILL_AT = Number(process.env.TCPFLOW_TS_TEST_KILL_AT_PACKET ?? Infinity);
/** ... or once the workers have checkpointed input N (from 1), before the journal says so. */
const KILL_AT_CHECKPOINT = Number(process.env.TCPFLOW_TS_TEST_KILL_AT_CHECKPOINT ?? Infinity);
/**
 * Tests of the hosts (test/oracle/workers.test.ts): `mixed:W` runs the last worker session
 * in the main thread with W times a thread's share of the buckets, whatever the input and
 * --workers (at least 2), so that small captures compare the arrangement with the others.
 */
const TEST_HOST = /^mixed:(\d+(?:\.\d+)?)$/.exec(process.env.TCPFLOW_TS_TEST_HOST ?? '');
/** Tests of signals (test/oracle/faults.test.ts): the run signals itself as it starts, before its set-up. */
const SIGNAL_AT_START = process.env.TCPFLOW_TS_TEST_SIGNAL_AT_START as NodeJS.Signals | undefined;

/* eslint-disable @typescript-eslint/no-require-imports */
/**
 * Modules of what a plain `-r FILE -o DIR` run does not do (filters, live capture, -U, -z,
 * --resume, -L, netviz), loaded when a run does it: every module initialised at start-up
 * costs every run, small ones mostly (README, Start-up).
 */
const optional = {
  filtered: () => require('./capture/filtered') as typeof import('./capture/filtered'),
  live: () => require('./capture/live') as typeof import('./capture/live'),
  libpcap: () => require('./capture/libpcap') as typeof import('./capture/libpcap'),
  privileges: () => require('./util/privileges') as typeof import('./util/privileges'),
  chroot: () => require('./util/chroot') as typeof import('./util/chroot'),
  journal: () => require('./resume/journal') as typeof import('./resume/journal'),
  lockFile: () => require('./util/lock-file') as typeof import('./util/lock-file'),
  netviz: () => require('./netviz/output') as typeof import('./netviz/output'),
};
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * One whole run: options → plan (src/plan.ts), then the plan's lifecycle. Returns the
 * exit status.
 */
export async function run(given: Options, argv: readonly string[], log: Logger): Promise<number> {
  const signals = new StopSignals((s) => {
    log.error(`${s} again: stopping at once, before any input was read`);
    exitProcess(signalStatus(s));
  }, interruptPipes);
  if (SIGNAL_AT_START !== undefined) process.kill(process.pid, SIGNAL_AT_START);
  try {
    return await prepareAndRun(given, argv, log, signals);
  } finally {
    signals.dispose();
  }
}

async function prepareAndRun(given: Options, argv: readonly string[], log: Logger, signals: StopSignals): Promise<number> {
  const opts = given.chroot === null ? given : optional.chroot().chrootOptions(given, process.cwd());
  const plan = planRun(opts, openFileLimit());
  const identity = plan.shard !== null || plan.resumeDir !== null ? runIdentity(opts, plan) : '';
  const shard = plan.shard === null ? null : { ...plan.shard, run: identity, fdLimit: plan.fileDescriptors };
  const bytes = plan.live === null ? plainInputBytes(plan.inputs.map((i) => i.path)) : null;
  const small = smallInput(bytes);
  const reportOnly = plan.mode === 'report-only';
  // Standard input alone, read as it comes (a filter child would read it itself).
  const stdin = plan.live === null && plan.filter === null && plan.inputs.length === 1 && plan.inputs[0].path === '-';
  let meanRecord: number | null = null;
  // Its first MiB, for the host's choice as a file's (not asked for when it cannot matter);
  // of a pipe, what has come within half a second: a live capture's pipe starts at once.
  if (stdin && !opts.workersGiven && plan.plugin === null) await peekStdin(1 << 20, 500);
  let host = chooseHost({ workers: plan.workers, workersGiven: opts.workersGiven, live: plan.live !== null, plugin: plan.plugin !== null,
    bytes, stdin, reportOnly, meanRecord: () => (meanRecord = meanRecordBytes(plan.inputs[0].path)), scanning: plan.worker.scanners.length > 0 });
  const forced = TEST_HOST !== null && plan.workers > 1 && plan.live === null && plan.plugin === null ? Number(TEST_HOST[1]) : null;
  if (forced !== null) host = { kind: 'mixed', mainWeight: forced };
  const mean = meanRecord === null ? '' : `, records of ${Math.round(meanRecord)} bytes on average`;
  log.at(2, host.kind === 'threads' ? `${plan.workers} worker threads${mean}`
    : host.kind === 'mixed' ? `${plan.workers - 1} worker thread${plan.workers === 2 ? '' : 's'} and a worker session in the main thread${mean}, owning ${host.mainWeight.toFixed(2)} times a thread's share of the flows`
      : small ? `${bytes} bytes of input (at most ${IN_PROCESS_MAX_BYTES}): ${plan.workers} worker sessions in the main thread`
        : `no flow files (-FX)${mean}: ${plan.workers} worker session${plan.workers === 1 ? '' : 's'} in the main thread`);
  const weights = Array.from({ length: plan.workers }, (_, i) => (host.kind === 'mixed' && i === plan.workers - 1 ? host.mainWeight : 1));
  return new Run(plan, argv, log, signals, shard, identity, host, host.kind === 'main' && small, splitBuckets(weights)).execute();
}

/**
 * A run's identity, for --shard reports and the --resume journal: a digest of the inputs
 * (path and size) and of every option that shapes files and reports, which all shards of
 * one job share, and a resumed run must have.
 */
function runIdentity(opts: Options, plan: RunPlan): string {
  const inputs = plan.inputs.map((i) => ({ path: i.path, size: fs.statSync(i.path, { throwIfNoEntry: false })?.size ?? -1, finishing: i.finishing }));
  // Left out: what does not change a file or a record (threads, messages, where reports go, -f, -L).
  const { workers: _w, workersGiven: _g, debugLevel: _d, quiet: _q, warnings: _x, shard: _s, reportPath: _r, jsonlPath: _j,
    unprocessedPath: _u, lockName: _l, maxFds: _f, readFiles: _rf, finishFiles: _ff, resume: _c, ...shaping } = opts;
  return runDigest(VERSION, inputs, shaping);
}

/**
 * A plan carried out: output directory, reports, workers, every input in order, then the
 * records and summary. Errors in the middle stop the reading but never the finishing:
 * flows seen so far are closed and the reports are completed, with the error noted.
 */
class Run {
  private readonly startedAt = process.hrtime.bigint();
  private exitCode: number = EXIT.OK;
  private signal: NodeJS.Signals | null = null;
  private dump: PcapDump | null = null;
  private reports: ReportFile[] = [];
  /** The reports' records, merged while the workers run (from when the reports are open). */
  private reportMerge: ReportMerge | null = null;
  /** --resume: how this run started (a fresh journal, or the one of the run it resumes), and the journal now. */
  private resume: ResumeStart | null = null;
  private journal: Journal | null = null;
  private readonly spillBase: string | null;
  private live: LiveSource | null = null;
  private captureStats: CaptureStats | null = null;
  /** -U: done once the capture and the first input are open. */
  private privileges: Privileges | null = null;
  /** The live status line, cleared before a message is printed under it. */
  private liveStatus: LiveStatus | null = null;
  /** -z: entered just before -U's drop. */
  private chroot: Chroot | null = null;
  /** The output directory was made by this run or was empty at its start (src/run.ts outdirEntries). */
  private outdirFresh = false;

  constructor(private readonly plan: RunPlan, private readonly argv: readonly string[], private readonly log: Logger,
    private readonly signals: StopSignals, private readonly shard: ShardInfo | null, private readonly identity: string, private readonly host: HostChoice,
    /** A small input in the main thread: its few records stay in memory (no spill files to create and remove). */
    private readonly recordsInMemory: boolean,
    /** Which worker owns which flow bucket. */
    private readonly split: BucketSplit) {
    this.spillBase = plan.reports.dfxml ?? plan.reports.jsonl;
  }

  async execute(): Promise<number> {
    try {
      return await this.carryOut();
    } finally {
      // An open capture keeps the event loop alive: never leave one behind.
      this.live?.close();
    }
  }

  private async carryOut(): Promise<number> {
    const { plan, log } = this;
    log.at(10, VERSION_LINE);
    if (plan.mode === 'console') log.at(10, 'printing packets to console only');
    if (plan.mode === 'pcaps') log.at(10, 'keeping pcap flow structure (-K)');
    if (plan.worker.findx) log.at(10, 'writing findx index files (-I)');
    if (plan.worker.maxBytes >= 0) log.at(10, `max bytes per flow: ${plan.worker.maxBytes}`);
    for (const w of plan.warnings) log.warn(w);
    for (const n of plan.notes) log.at(n.level, n.text);
    // What could stop the run is checked before anything is written: the alert
    // descriptors, and the plugin module (loaded here once; each worker loads it again).
    if (plan.hooks.tcpAlertFd !== null) checkAlertFd('tcp_alert_fd', plan.hooks.tcpAlertFd);
    if (plan.hooks.httpAlertFd !== null) checkAlertFd('http_alert_fd', plan.hooks.httpAlertFd);
    if (plan.plugin !== null) await loadPlugin(plan.plugin);
    // -L: set up where tcpflow opens its semaphore (before the outdir), whatever the mode;
    // only console writes take it, as in tcpflow.
    const lock = plan.lockName === null ? null : lockFile(plan.lockName);
    if (lock !== null) {
      lock.probe();
      log.at(2, `console writes locked with ${lock.path}`);
    }
    // Everything that can refuse the run (libpcap missing, a bad expression, an interface
    // that cannot be opened, -U without root) does so before any output exists.
    if (plan.user !== null) this.privileges = optional.privileges().requireRoot(plan.user);
    if (plan.filter !== null) {
      log.at(20, `filter expression: '${plan.filter}'`);
      if (plan.live === null) validateFilter(plan.filter, plan.inputs.map((i) => i.path));
    }
    if (plan.live !== null) {
      const { defaultDevice, libpcap } = optional.libpcap();
      const device = plan.live.device ?? defaultDevice(libpcap('live capture'));
      this.live = optional.live().LiveSource.open({ device, promiscuous: plan.live.promiscuous, filter: plan.filter ?? '', timeoutMs: plan.live.timeoutMs });
    }
    // -z: from here the run works in DIR, where every output path points.
    if (plan.chroot !== null) this.chroot = prepareChroot(plan.chroot, plan.inputs.map((i) => i.path));
    const outdir = prepareOutdir(plan.outdir);
    const created = outdir === 'made';
    this.outdirFresh = outdir !== 'used';
    if (plan.mode === 'pcaps') log.info('ensuring pcap core');
    if (plan.resumeDir !== null) {
      const spills = this.spillPaths().filter((p): p is string => p !== null);
      const md5 = plan.worker.scanners.includes('md5');
      const { fileMd5, startResume } = optional.journal();
      this.resume = startResume(plan.resumeDir, this.identity, plan.workers, spills, (f): Record<string, string> => (md5 ? { md5: fileMd5(f) } : {}));
      if (this.resume === null) {
        log.warn(`--resume: the journal in ${plan.resumeDir} says this run finished: nothing to do (remove it, or use another output directory, to run again)`);
        return EXIT.OK;
      }
      this.journal = this.resume.journal;
      this.exitCode = this.journal.exitCode;
      for (const n of this.resume.notes) log.info(n);
    }

    // A signal caught while the run was being set up is acted on now.
    this.signals.handle((s) => this.onSignal(s));
    // -w is opened before any input is read (tcpflow's start-up order); its header is
    // written from the first input's first interface (spec B13: any input format works).
    if (plan.unprocessedPath !== null) this.dump = PcapDump.create(plan.unprocessedPath);

    const worker = this.journal === null ? plan.worker : { ...plan.worker, resume: { dir: plan.resumeDir as string, attempt: this.journal.attempt } };
    const host: WorkerHost = this.host.kind === 'threads' ? new ThreadHost() : this.host.kind === 'mixed' ? new MixedHost(log) : new InProcessHost(log);
    const coordinator = await Coordinator.start(host, plan.workers, worker, (i) => this.spillPath(i), {
      print: plan.mode !== 'console' ? null
        // The coordinator prints whole segments per call, so the lock keeps every segment whole.
        : lock === null ? writeStdout : (text) => lock.hold(() => writeStdout(text)),
      unprocessed: this.dump,
      spilled: (w, bytes, through) => this.reportMerge?.progress(w, bytes, through),
    }, { fragments: new FragmentReassembler(DEFAULT_LIMITS, log.debugLevel >= 5 ? (m) => log.at(5, m) : null), split: this.split });
    // V8's flags are process-wide, and V8 rejects code caches made under other flags: Node's
    // own, for the builtin modules each worker thread compiles while it boots (set before,
    // ~24 ms more CPU per thread), and the bundle's (cli/main.ts: a small run without threads
    // keeps the defaults, as the build's run that writes its cache does). So they change once
    // every thread has booted, or now for a large input in the main thread (-FX).
    if (this.host.kind !== 'main') coordinator.whenBooted(limitHeapGrowth);
    else if (!this.recordsInMemory) limitHeapGrowth();
    if (this.journal !== null) coordinator.continueFrom(this.journal.packets, this.journal.maxOpenFiles);
    try {
      // Opened while the worker threads boot.
      this.openReports();
      this.reportMerge = new ReportMerge(this.reports, this.resume?.kept ?? [],
        this.spillPaths(), this.shard !== null);
    } catch (e) {
      await coordinator.finish();
      for (const r of this.reports) r.abandon();
      this.dump?.close();
      this.live?.close();
      throw e;
    }
    if (this.privileges !== null) this.privileges.outdir = created ? plan.outdir : null;
    // -z: the workers have loaded every module before the root changes under them.
    if (this.chroot !== null) await coordinator.ready();

    if (this.live !== null) await this.readLive(coordinator, this.live);
    else await this.readInputs(coordinator);
    log.at(10, 'Cleaning up flows');
    const totals = await coordinator.finish();
    const dumpError = this.closeDump(coordinator);
    const fatal = coordinator.error ?? dumpError;
    if (fatal !== null) {
      // A closed stdout (`| head`) ends the run as quietly as it ends tcpflow; the report,
      // if one is written, still says why reading stopped.
      if (fatal.code !== 'STDOUT_CLOSED') log.error(fatal.message);
      this.exitCode = fatal.exitCode;
    }
    // A signal is how a live capture is meant to end (tcpflow exits 0 too); it cuts a file run short.
    if (this.signal !== null && this.live === null) this.exitCode = signalStatus(this.signal);
    const interrupted = this.signal !== null && this.live === null ? `interrupted by ${this.signal}` : null;
    this.finishReports(totals, fatal !== null ? fatal.message : interrupted);
    this.reportCommands(totals);
    if (this.plan.netviz !== null) this.finishNetviz(totals);
    return this.exitCode;
  }

  /** Live capture until a signal (or the interface fails), with a status line on a terminal. */
  private async readLive(coordinator: Coordinator, live: LiveSource): Promise<void> {
    const { log } = this;
    log.info(`listening on ${live.name}`);
    this.dropPrivileges();
    const status = this.liveStatus = LiveStatus.forStderr(this.plan.debugLevel, this.plan.quiet, live.name);
    const tick = setInterval(() => status.update(live.stats(), coordinator.openFlows), 500);
    try {
      const r = await coordinator.feed(live, false, () => false);
      for (const lt of r.unknownLinkTypes) {
        log.error(`${live.name}: sorry - unknown datalink type ${lt} (its packets are skipped)`);
        this.exitCode = Math.max(this.exitCode, EXIT.INPUT);
      }
      if (r.error !== null) this.inputProblem(r.error);
    } finally {
      clearInterval(tick);
      status.clear();
      live.close();
    }
    const c = live.stats();
    this.captureStats = c;
    const lost = c.dropped + c.ifdropped + c.backlogDropped;
    const line = `${c.interface}: ${c.captured} packets captured, ${c.received} received by filter, ` +
      `${c.dropped} dropped by kernel, ${c.ifdropped} dropped by interface, ${c.backlogDropped} dropped because the workers fell behind`;
    if (lost > 0) log.warn(line);
    else log.info(line);
  }

  /** -U: once, after the capture or the first input is open. */
  private dropPrivileges(): void {
    const p = this.privileges;
    if (p === null || p.done) return;
    // Workers create their spill files as they boot, perhaps only now: made here first (without
    // truncating one a worker has opened), a worker's later open keeps the owner given to USER.
    const spills = this.spillPaths().filter((f): f is string => f !== null);
    for (const f of spills) fs.closeSync(fs.openSync(f, 'a', 0o600));
    if (this.chroot !== null) {
      optional.chroot().preloadModules();
      this.chroot.enter();
      this.log.at(2, `chrooted to ${this.chroot.dir}`);
    }
    optional.privileges().dropPrivileges(p, [...this.reports.map((r) => r.path), ...spills, ...(this.dump !== null ? [this.dump.path] : [])]);
    this.log.warn(`dropped privs to ${p.user}`);
  }

  /** -e netviz: every worker's counts and the coordinator's, merged, drawn into outdir. */
  private finishNetviz(totals: RunTotals): void {
    const { plan } = this;
    const parts = [...totals.results.map((r) => r.netviz), totals.netviz].filter((c) => c !== null);
    try {
      const dump = optional.netviz().writeNetviz(parts, plan.outdir, plan.inputs.map((i) => i.path));
      if (plan.netviz?.dump === true) writeStdout(dump);
    } catch (e) {
      if (!(e instanceof TcpflowError)) throw e;
      this.log.error(e.message);
      this.exitCode = Math.max(this.exitCode, e.exitCode);
    }
  }

  /** tcp_cmd / http_cmd: how many commands failed (each one was warned about as it ended). */
  private reportCommands(totals: RunTotals): void {
    for (const [param, key] of [['tcp_cmd', 'tcpCmd'], ['http_cmd', 'httpCmd']] as const) {
      let run = 0, failed = 0;
      for (const r of totals.results) {
        run += r.hooks[key]?.run ?? 0;
        failed += r.hooks[key]?.failed ?? 0;
      }
      if (failed > 0) this.log.warn(`-S ${param}: ${failed} of ${run} commands failed`);
      else if (run > 0) this.log.at(2, `-S ${param}: ${run} commands run`);
    }
  }

  private onSignal(s: NodeJS.Signals): void {
    this.liveStatus?.clear();
    if (this.journal !== null) {
      // What a crash would leave, on purpose: the journal says where to go on from.
      this.log.warn(`${s}: stopping; ${this.journal.inputsDone} of ${this.plan.inputs.length} inputs are done: run the same command with --resume to go on`);
      exitProcess(signalStatus(s));
    }
    if (this.signal !== null) {
      // The way out of a run that cannot finish (a stuck worker, a hung disk): what is
      // on disk stays, flows still open are lost and the reports are left incomplete.
      const names = this.reports.map((r) => r.path).join(' and ');
      this.log.error(`${s} again: stopping at once; open flows are not written${names ? ` and ${names} ${this.reports.length > 1 ? 'are' : 'is'} incomplete` : ''}`);
      exitProcess(signalStatus(s));
    }
    this.log.warn(`${s}: terminating orderly, flows seen so far are being written (a second signal stops at once)`);
    this.signal = s;
    this.live?.stop();
    // A pipe whose writer is quiet would keep the run waiting (for its first bytes, its next records).
    interruptPipes();
  }

  /**
   * Worker i's spill file for its records (null: no report wants them, or the sessions run
   * in this thread, on a small input: they hold their records in memory, which saves a small
   * run creating, reading and deleting a file per worker; --resume keeps them on disk).
   */
  private spillPath(i: number): string | null {
    if (this.spillBase === null || !this.plan.worker.records) return null;
    return !this.recordsInMemory || this.plan.resumeDir !== null ? `${this.spillBase}.part${i}` : null;
  }

  /** Every worker's spill file (null: none). */
  private spillPaths(): (string | null)[] {
    return Array.from({ length: this.plan.workers }, (_, i) => this.spillPath(i));
  }

  private openReports(): void {
    const { dfxml, jsonl } = this.plan.reports;
    if (dfxml !== null) {
      this.log.info(`reportfilename: ${dfxml}`);
      this.reports.push(ReportFile.open(dfxml, dfxmlFormat({
        commandLine: this.argv.join(' '),
        startTime: new Date(),
        config: { workers: this.plan.workers, outdir: this.plan.outdir },
        tdelta: this.plan.worker.tdelta,
        shard: this.shard,
      }, this.startedAt, this.plan.plugin)));
    }
    if (jsonl !== null) this.reports.push(ReportFile.open(jsonl, jsonlFormat(this.shard)));
  }

  private async readInputs(coordinator: Coordinator): Promise<void> {
    const { plan, log } = this;
    // Directories expanded, and ordered by first packets where asked (src/capture/inputs.ts).
    const resolved = await resolveInputs(plan.inputs, plan.sortInputs, plan.decompress);
    for (const w of resolved.warnings) log.warn(w);
    for (const e of resolved.errors) this.inputProblem(e);
    const inputs = resolved.inputs;
    const progress = Progress.forStderr(plan.debugLevel, plan.quiet, inputs.length, totalSize(inputs.map((i) => i.path)), (line) => log.info(line));
    const order = new InputOrderCheck((message) => { progress.clear(); log.warn(message); });
    for (const [index, spec] of inputs.entries()) {
      const { path: file, finishing } = spec;
      if (this.signal !== null || coordinator.error !== null) break;
      if (this.journal !== null && index < this.journal.inputsDone) {
        // Done before the run was stopped: the same file (directories are listed again).
        if (this.journal.done[index] !== file) throw resumeMismatch(this.journal.done[index], file);
        continue;
      }
      let source: PacketSource;
      try {
        source = order.watch(spec, plan.filter === null ? await openInput(file, plan.decompress) : await optional.filtered().openFilteredSource(file, plan.filter, plan.decompress));
      } catch (e) {
        this.inputProblem(e);
        continue;
      }
      try {
        this.dropPrivileges();
        const first = source.firstInterface;
        if (first !== null) log.at(3, `looking for handler for datalink type ${first.linktype} for interface ${file}`);
        if (this.dump !== null && first !== null) this.dump.writeHeader(first, LINKTYPE.EN10MB);
        const r = await coordinator.feed(source, finishing, () => this.signal !== null, (packets) => {
          progress.update({ file: index, name: file, fileBytes: source.progress?.done ?? 0, packets, openFlows: coordinator.openFlows });
          if (packets >= KILL_AT) process.kill(process.pid, 'SIGKILL');
        });
        progress.fileDone(source.progress?.done ?? 0);
        progress.clear();
        for (const lt of r.unknownLinkTypes) {
          log.error(`${file}: sorry - unknown datalink type ${lt} (its packets are skipped)`);
          this.exitCode = Math.max(this.exitCode, EXIT.INPUT);
        }
        if (r.error !== null) this.inputProblem(r.error);
        if (this.signal === null) await this.checkpoint(coordinator, inputs, index);
      } finally {
        progress.clear();
        source.close();
      }
    }
  }

  /** --resume: input `index` is done; the workers checkpoint and the journal says so. */
  private async checkpoint(coordinator: Coordinator, inputs: readonly { path: string }[], index: number): Promise<void> {
    const { resume, journal } = this;
    if (resume === null || journal === null) return;
    const answers = await coordinator.checkpoint(index);
    if (answers === null) return; // the run failed: it says so at its end
    if (answers.some((a) => a.spilled < 0)) {
      this.log.warn(`--resume: no checkpoint after ${inputs[index].path}: flow records could not be written to disk`);
      return;
    }
    if (index + 1 === KILL_AT_CHECKPOINT) process.kill(process.pid, 'SIGKILL');
    const done = { inputs: index + 1, paths: inputs.slice(0, index + 1).map((i) => i.path), exitCode: this.exitCode, packets: coordinator.packets, maxOpenFiles: coordinator.maxOpen, fragments: coordinator.fragmentsSoFar };
    this.journal = optional.journal().recordCheckpoint(this.plan.resumeDir as string, journal, resume.journal, done, answers, () => syncFileSystem(this.plan.outdir));
  }

  /** An input that cannot be (fully) read: one line, the run goes on with the next one. */
  private inputProblem(e: unknown): void {
    if (!(e instanceof TcpflowError)) throw e;
    this.log.error(e.message);
    this.exitCode = Math.max(this.exitCode, e.exitCode);
  }

  /** -w: complete and close the file; returns its error, if any. */
  private closeDump(coordinator: Coordinator): TcpflowError | null {
    const dump = this.dump;
    if (dump === null) return null;
    let error: TcpflowError | null = null;
    try {
      // No record at all: a header-only file, as tcpflow leaves.
      dump.writeHeader(null, LINKTYPE.EN10MB);
      dump.close();
    } catch (e) {
      error = e instanceof TcpflowError ? e : outputError(dump.path, e);
    }
    if (coordinator.unprocessedSkipped > 0) {
      this.log.warn(`${dump.path}: ${coordinator.unprocessedSkipped} unprocessed packets left out: their link type differs from the file's (${dump.linktype})`);
    }
    this.log.at(2, `${dump.path}: ${dump.records} unprocessed packets written`);
    return error;
  }

  /**
   * Entries of the output directory (with `.` and `..`, as tcpflow counts them), for its
   * 10,000-file warning. Listing the 400,003 entries at the end of many.pcap's run took
   * ~0.2 s, 5 % of its wall time (mostly the kernel's getdents, which tcpflow pays too).
   * When this run made the directory or found it empty, and nothing but the workers' flow
   * files and the run's own files can be in it (flow files at its top level; no scanner,
   * plugin, command, -I, -L, netviz or --resume that makes files of its own; not a --shard
   * run, whose fellow shards write into it too), the count is known instead: every flow
   * file a worker created is a new name (O_EXCL), and the run's files are looked up.
   * Null: the directory cannot be read.
   */
  private outdirEntries(totals: RunTotals): number | null {
    const { plan } = this;
    const w = plan.worker;
    const known = this.outdirFresh && this.shard === null && totals.results.length === plan.workers && this.journal === null && !w.template.includes('/') &&
      !w.findx && w.plugin === null && w.netviz === null && w.scanners.every((s) => s === 'md5') && w.hooks.tcpCmd === null &&
      w.hooks.httpCmd === null && plan.lockName === null;
    if (!known) return listedEntries(plan.outdir);
    let entries = 2;
    for (const r of totals.results) entries += r.filesCreated;
    const dir = path.resolve(plan.outdir);
    for (const f of [plan.reports.dfxml, plan.reports.jsonl, plan.unprocessedPath, ...this.spillPaths()]) {
      if (f !== null && path.dirname(path.resolve(f)) === dir && fs.existsSync(f)) entries++;
    }
    return entries;
  }

  /** The records into every report, the summary, and tcpflow's end-of-run messages. */
  private finishReports(totals: RunTotals, error: string | null): void {
    const { plan, log } = this;
    const s = { totalFlows: 0, totalPackets: 0, openFilesAtEnd: 0, flowsAtEnd: 0, flowsPurged: 0, flowsTimedOut: 0, records: 0 };
    const held = [];
    const lossReasons: string[] = [];
    for (const r of totals.results) {
      s.totalFlows += r.totalFlows;
      s.totalPackets += r.totalPackets;
      s.openFilesAtEnd += r.openFilesAtEnd;
      s.flowsAtEnd += r.flowsAtEnd;
      s.flowsPurged += r.flowsPurged;
      s.flowsTimedOut += r.flowsTimedOut;
      s.records += r.records;
      if (r.heldRecords !== null) {
        held.push(r.heldRecords);
        if (r.heldRecords.dropped > 0) lossReasons.push(r.heldRecords.error);
      }
    }
    // Open flow files as one process under the -f limit has them (every worker has its share of it).
    // A resumed run: what the attempts before it did, up to their last checkpoint.
    const before = this.resume?.journal.totals ?? null;
    if (before !== null) {
      s.totalFlows += before.totalFlows;
      s.totalPackets += before.totalPackets;
      s.flowsPurged += before.flowsPurged;
      s.flowsTimedOut += before.flowsTimedOut ?? 0;
      s.records += before.records;
    }
    const summary: ReportSummary = {
      openFdsAtEnd: Math.min(plan.fileDescriptors, s.openFilesAtEnd),
      maxOpenFlows: Math.min(plan.fileDescriptors, totals.maxOpenFiles),
      totalFlows: s.totalFlows,
      flowMapSize: s.flowsAtEnd,
      totalPackets: s.totalPackets,
      flowsPurged: s.flowsPurged,
      maxFlows: plan.maxFlows,
      flowsTimedOut: s.flowsTimedOut,
      tcpTimeout: plan.worker.tcpTimeout,
      fragments: this.resume === null ? totals.fragments : optional.journal().addFragments(this.resume.journal.fragments, totals.fragments),
      error,
      capture: this.captureStats,
    };
    const spills = this.spillPaths().filter((p): p is string => p !== null && fs.existsSync(p));
    // With a journal, spills go once it says the run is finished: a crash before that resumes with them.
    const merge = this.reportMerge as ReportMerge;
    const problems = merge.finish(held, this.journal === null ? spills : [], s.records, summary, lossReasons);
    if (this.journal !== null) {
      optional.journal().finishJournal(this.plan.resumeDir as string, this.journal);
      for (const p of spills) fs.rmSync(p, { force: true });
    }
    for (const p of problems) log.error(p);
    if (problems.length > 0) this.exitCode = Math.max(this.exitCode, EXIT.OUTPUT);
    if (!plan.quiet && s.flowsPurged > 0) warnPurged(s.flowsPurged, plan.maxFlows, log);
    if (!plan.quiet && s.totalFlows > 10_000 && plan.mode === 'files') warnCrowdedOutdir(plan.outdir, this.outdirEntries(totals), log);
    // tcpflow's end-of-run summary (spec §6.6, debug level 2).
    log.at(2, `Open FDs at end of processing:      ${summary.openFdsAtEnd}`);
    log.at(2, `demux.max_open_flows:               ${summary.maxOpenFlows}`);
    log.at(2, `Flow map size at end of processing: ${summary.flowMapSize}`);
    log.at(2, `Flows seen:                         ${s.totalFlows}`);
    log.at(2, `Total flows processed: ${s.totalFlows}`);
    log.at(2, `Total packets processed: ${s.totalPackets}`);
    const f = totals.fragments;
    if (f.fragments > 0) log.at(2, `IP fragments: ${fragmentText(f)}`);
    if (plan.worker.tcpTimeout > 0) log.at(2, `Flows closed idle (-S tcp_timeout=${plan.worker.tcpTimeout}): ${s.flowsTimedOut}`);
  }
}

/** Bytes of the files (those that are regular files), for progress over all inputs. */
function totalSize(paths: readonly string[]): number {
  let total = 0;
  for (const p of paths) {
    if (p === '-') continue;
    try {
      const st = fs.statSync(p);
      if (st.isFile()) total += st.size;
    } catch { /* reported when it is read */ }
  }
  return total;
}

/** Entries of directory `dir`, with `.` and `..`; null when it cannot be read. */
function listedEntries(dir: string): number | null {
  let entries = 2;
  try {
    const d = fs.opendirSync(dir);
    try {
      while (d.readSync() !== null) entries++;
    } finally {
      d.closeSync();
    }
  } catch {
    return null;
  }
  return entries;
}

/**
 * tcpflow's warning when the output directory ends up with 10,000 entries or more (it
 * counts `.` and `..` too: `entries`), suggesting the binning options. Only looked at when
 * more than 10,000 flows were seen; -q turns it off.
 */
function warnCrowdedOutdir(outdir: string, entries: number | null, log: Logger): void {
  if (entries === null || entries < 10_000) return;
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

/**
 * Compile the expression before anything is written (tcpflow compiles it as each input is
 * opened, after report.xml is started): against the first input file that can be opened, for
 * its link type, or an empty Ethernet capture when the inputs are standard input or missing
 * (their own errors come later, in order). Throws libpcap's message.
 */
function validateFilter(filter: string, inputs: readonly string[]): void {
  const { checkFilter, libpcap } = optional.libpcap();
  const pcap = libpcap('a filter expression');
  const first = inputs.find((f) => f !== '-' && fs.statSync(f, { throwIfNoEntry: false })?.isFile());
  // libpcap cannot open a compressed input (it is decompressed into the filter child): the
  // expression is compiled against the first uncompressed input, or an empty Ethernet capture.
  if (first !== undefined && !isCompressed(first)) {
    try {
      fs.accessSync(first, fs.constants.R_OK);
      checkFilter(pcap, first, filter);
      return;
    } catch (e) {
      if (e instanceof TcpflowError) throw e;
    }
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpflow-ts-filter-'));
  const empty = path.join(dir, 'empty.pcap');
  try {
    const header = Buffer.alloc(24);
    header.writeUInt32LE(0xa1b2c3d4, 0);
    header.writeUInt16LE(2, 4);
    header.writeUInt16LE(4, 6);
    header.writeUInt32LE(65535, 16);
    header.writeUInt32LE(LINKTYPE.EN10MB, 20);
    fs.writeFileSync(empty, header);
    checkFilter(pcap, empty, filter);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function isCompressed(file: string): boolean {
  try {
    const head = sniff(file);
    return head !== null && detectCompression(head) !== null;
  } catch {
    return false;
  }
}

/** A resumed run whose inputs (a directory listed again, say) are not the ones the journal says were done. */
function resumeMismatch(journal: string | undefined, now: string): TcpflowError {
  return new TcpflowError('USAGE', `--resume: the inputs changed: the journal says ${journal ?? '(nothing)'} was read, now ${now} comes at its place; use another output directory`, EXIT.USAGE);
}

/**
 * --resume checkpoints: flow files on disk before the journal says so (a reboot keeps what
 * was synced). Node has no syncfs(2): coreutils' `sync -f` does it, plain sync otherwise.
 */
function syncFileSystem(dir: string): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  if (spawnSync('sync', ['-f', dir], { stdio: 'ignore' }).status !== 0) spawnSync('sync', [], { stdio: 'ignore' });
}

/** -z DIR checked and entered as working directory; a directory input would be read inside DIR after its first file. */
function prepareChroot(dir: string, inputs: readonly string[]): Chroot {
  for (const i of inputs) {
    if (fs.statSync(i, { throwIfNoEntry: false })?.isDirectory() === true) {
      throw new TcpflowError('USAGE', `-z ${dir} cannot be combined with a directory input (${i}): its files after the first would be looked up inside the new root`, EXIT.USAGE);
    }
  }
  return optional.chroot().Chroot.prepare(dir);
}

/** -L NAME's semaphore file. */
function lockFile(name: string): LockFile {
  const { LockFile: Lock, lockPath } = optional.lockFile();
  return new Lock(lockPath(name));
}

/**
 * Make sure outdir is a directory: 'made' by this run, 'empty' (there, with no entries) or
 * 'used'. An empty one counts as made for the 10,000-file warning's count (outdirEntries):
 * a directory made just before the run (`mkdir out && tcpflow-ts -o out`, as the
 * benchmarks do) cost conc.pcap's runs 50-100 ms of listing 120,000 entries at the end.
 */
function prepareOutdir(outdir: string): 'made' | 'empty' | 'used' {
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(outdir, { throwIfNoEntry: false });
  } catch (e) {
    throw outputError(outdir, e);
  }
  if (st !== undefined) {
    if (!st.isDirectory()) throw new TcpflowError('OUTPUT', `outdir is not a directory: ${outdir}`, EXIT.OUTPUT);
    return isEmptyDir(outdir) ? 'empty' : 'used';
  }
  try {
    fs.mkdirSync(outdir, 0o777);
  } catch (e) {
    // Made meanwhile by another run (the shards of a job start together): fine if a directory.
    if ((e as NodeJS.ErrnoException).code === 'EEXIST' && fs.statSync(outdir, { throwIfNoEntry: false })?.isDirectory()) return 'used';
    throw new TcpflowError('OUTPUT', `cannot create ${outdir}: ${strerror(e)}`, EXIT.OUTPUT);
  }
  return 'made';
}

/** Reads one entry at most (false: an entry, or the directory cannot be read; it is then listed at the end). */
function isEmptyDir(dir: string): boolean {
  let d: fs.Dir | null = null;
  try {
    d = fs.opendirSync(dir, { bufferSize: 1 });
    return d.readSync() === null;
  } catch {
    return false;
  } finally {
    d?.closeSync();
  }
}
