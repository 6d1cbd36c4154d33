import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from '../util/digest';
import { EXIT, TcpflowError, outputError } from '../errors';
import { strerror } from '../util/strerror';
import { decodeRecord, encodeRecord } from '../report/flow-record';
import type { SpillSource } from '../report/record-spill';
import type { WorkerCheckpoint } from '../shard/protocol';
import { readCutFile, type CutFlow } from './cut';
import { createdLogPath, JOURNAL, keptRecordsPath } from './paths';
import { noFragments, type FragmentCounts } from '../shard/ip-fragments';

/**
 * --resume: a journal in the output directory says which inputs a run has finished, so
 * that after a crash, `kill -9` or a reboot a run with the same command line skips them.
 *
 * After each input the workers checkpoint (spill and creation log synced; the flows still
 * open written down with their file's size, gaps and time), the file system is synced, and
 * the journal is replaced (written beside, synced, renamed, directory synced). A resumed
 * run starts at the first input after the last checkpoint and makes the output what it
 * would be had the run stopped at that checkpoint, reading the later inputs as a new run
 * into the same directory: files created after the checkpoint are removed; the flows open
 * at it end there (their files cut back to what they held, their records written as at
 * the end of input); the records up to the checkpoint are kept and merged into the
 * report; packet numbers and the report's totals go on from the checkpoint.
 */

/** What the journal holds (journal.json). */
export interface Journal {
  version: 1;
  /** The run's digest (inputs, options): only the same run may resume. */
  run: string;
  /** Attempts so far (the first run is 1). */
  attempt: number;
  /** Set once the run has written its reports. */
  finished: boolean;
  /** Inputs completed, in order; the next attempt starts with input `inputsDone`. */
  inputsDone: number;
  /** Their paths (directories listed): a resumed run checks it reads the same ones. */
  done: string[];
  /** The worst exit status of the inputs completed (a bad input is reported once, by the attempt that read it). */
  exitCode: number;
  /** Packets read by then (global packet numbers go on from here). */
  packets: number;
  maxOpenFiles: number;
  /** flowsTimedOut: absent in a journal of an earlier version. */
  totals: { totalFlows: number; totalPackets: number; flowsPurged: number; flowsTimedOut?: number; records: number };
  /** IP fragment counts up to the checkpoint (datagrams pending then: incomplete). */
  fragments: FragmentCounts;
  /** Record files of earlier attempts, final (spill-line format, sorted). */
  kept: { path: string; limit: number }[];
  /** This attempt's files as of the last checkpoint: spills and creation logs (bytes to keep), cut flows. */
  current: { spills: { path: string; keep: number }[]; logs: { path: string; keep: number }[]; cuts: string[] };
}

function journalError(p: string, what: string): TcpflowError {
  return new TcpflowError('USAGE', `--resume: ${p}: ${what}`, EXIT.USAGE);
}

export function readJournal(dir: string): Journal | null {
  const p = path.join(dir, JOURNAL);
  let text: string;
  try {
    text = fs.readFileSync(p, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw journalError(p, strerror(e));
  }
  try {
    const j = JSON.parse(text) as Journal;
    if (j.version !== 1 || typeof j.run !== 'string') throw new Error('unknown version');
    return j;
  } catch {
    throw journalError(p, 'not a journal this version of tcpflow-ts can read');
  }
}

/** Replace the journal atomically: written beside, synced, renamed, the directory synced. */
export function writeJournal(dir: string, j: Journal): void {
  const p = path.join(dir, JOURNAL);
  const tmp = `${p}.tmp`;
  try {
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeFileSync(fd, JSON.stringify(j) + '\n');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, p);
    syncDir(dir);
  } catch (e) {
    throw outputError(p, e);
  }
}

function syncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** What a run with --resume starts from. */
export interface ResumeStart {
  journal: Journal;
  /** Records of earlier attempts, for the report's merge (with the new spills). */
  kept: SpillSource[];
  /** Messages for the user (what was resumed). */
  notes: string[];
}

/**
 * Before reading anything: start a journal, or pick up the one a stopped run left (the
 * same run only), undoing what it did after its last checkpoint. Returns null when the
 * journal says the run is finished. `scanFile(path)` gives a cut flow's scanner results
 * (the md5 of its file), as its end would have.
 */
export function startResume(dir: string, run: string, workers: number, spills: readonly string[],
  scanFile: (file: string) => Record<string, string>): ResumeStart | null {
  // Absolute paths in the journal: a resumed run may start in another directory.
  dir = path.resolve(dir);
  spills = spills.map((p) => path.resolve(p));
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw outputError(dir, e);
  }
  const old = readJournal(dir);
  if (old !== null && old.run !== run) {
    throw journalError(path.join(dir, JOURNAL), 'made by another run (other inputs, input sizes or options); use another output directory, or remove it to start over');
  }
  if (old?.finished) return null;
  const attempt = (old?.attempt ?? 0) + 1;
  const notes: string[] = [];
  const journal: Journal = old === null
    ? { version: 1, run, attempt, finished: false, inputsDone: 0, done: [], exitCode: 0, packets: 0, maxOpenFiles: 0,
      totals: { totalFlows: 0, totalPackets: 0, flowsPurged: 0, flowsTimedOut: 0, records: 0 }, fragments: noFragments(), kept: [], current: { spills: [], logs: [], cuts: [] } }
    : { ...old, attempt, kept: [...old.kept], totals: { ...old.totals } };
  if (old !== null) {
    const removed = undoAfterCheckpoint(old);
    // In the report's order: all end at the checkpoint's packet, so by first packet.
    const cut = old.current.cuts.flatMap(readCutFile).sort((a, b) => a.first - b.first);
    for (const f of cut) restoreCutFile(f);
    if (cut.length > 0) {
      const p = keptRecordsPath(dir, old.attempt, 'cut');
      journal.kept.push({ path: p, limit: writeRecords(p, cut.map((f) => cutRecordLine(f, old.packets, scanFile))) });
      journal.totals.records += cut.length;
    }
    old.current.spills.forEach((s, i) => {
      const p = keptRecordsPath(dir, old.attempt, `spill${i}`);
      keepSpill(s.path, p, s.keep);
      if (s.keep > 0) journal.kept.push({ path: p, limit: s.keep });
    });
    notes.push(`--resume: going on from input ${old.inputsDone + 1} (attempt ${attempt}): ${removed} files made after the last checkpoint removed, ${cut.length} flows open at it ended there`);
  }
  journal.current = {
    spills: spills.map((p) => ({ path: p, keep: 0 })),
    logs: Array.from({ length: workers }, (_, i) => ({ path: createdLogPath(dir, attempt, i), keep: 0 })),
    cuts: [],
  };
  for (let i = 0; i < workers; i++) fs.rmSync(createdLogPath(dir, attempt, i), { force: true });
  writeJournal(dir, journal);
  // The stopped attempt's logs and cut files are used up (and a checkpoint it never
  // recorded may have left cut files): only what the new journal names stays.
  removeUnreferenced(dir, journal);
  return {
    journal,
    kept: journal.kept.map((k) => ({ path: k.path, limit: k.limit, tail: null })),
    notes,
  };
}

/** Remove the files a stopped attempt created after its last checkpoint (and their -I indexes). */
function undoAfterCheckpoint(j: Journal): number {
  let removed = 0;
  for (const log of j.current.logs) {
    let text: string;
    try {
      text = fs.readFileSync(log.path).subarray(log.keep).toString('utf8');
    } catch {
      continue; // no log: that worker created nothing
    }
    for (const line of text.split('\n')) {
      let p: string;
      try {
        p = JSON.parse(line) as string;
      } catch {
        continue; // a line torn by the crash: its file was not created yet
      }
      for (const f of [p, `${p}.findx`]) {
        try {
          fs.unlinkSync(f);
          if (f === p) removed++;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw outputError(f, e);
        }
      }
    }
  }
  return removed;
}

/** A cut flow's file as it was at the checkpoint: later bytes cut off, later writes into its gaps zeroed, its time stamped. */
function restoreCutFile(f: CutFlow): void {
  const file = f.file;
  if (file === null) return;
  let fd = -1;
  try {
    fd = fs.openSync(file.path, 'r+');
    fs.ftruncateSync(fd, file.size);
    for (const [start, end] of f.gaps) {
      const zeros = Buffer.alloc(Math.min(end - start, 1 << 20));
      for (let at = start; at < end; at += zeros.length) fs.writeSync(fd, zeros, 0, Math.min(zeros.length, end - at), at);
    }
    fs.fsyncSync(fd);
    if (file.mtime !== null) fs.futimesSync(fd, file.mtime, file.mtime);
  } catch (e) {
    throw outputError(file.path, e);
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
  if (file.findx !== null) fs.truncateSync(`${file.path}.findx`, file.findx);
}

/** A cut flow's spill line: closed at the checkpoint's packet, with its scanners' results taken from its file. */
function cutRecordLine(f: CutFlow, packets: number, scanFile: (file: string) => Record<string, string>): string {
  const record = decodeRecord(f.record);
  if (f.file !== null) Object.assign(record, scanFile(f.file.path));
  return `${packets} ${f.first} ${encodeRecord(record)}\n`;
}

/** Write and sync; returns the bytes written. */
function writeRecords(p: string, lines: string[]): number {
  const b = Buffer.from(lines.join(''));
  try {
    const fd = fs.openSync(p, 'w', 0o600);
    try {
      fs.writeFileSync(fd, b);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    throw outputError(p, e);
  }
  return b.length;
}

/** A stopped attempt's spill, up to its last checkpoint, moved out of the way of the new one's. */
function keepSpill(from: string, to: string, keep: number): void {
  try {
    if (fs.existsSync(from)) fs.renameSync(from, to);
    if (keep > 0) fs.truncateSync(to, keep);
    else fs.rmSync(to, { force: true });
  } catch (e) {
    throw outputError(to, e);
  }
}

/**
 * After input `done - 1`: the journal as of this checkpoint (the workers' answers, in
 * worker order), written once the file system is synced. Earlier cut files are removed.
 */
export function recordCheckpoint(dir: string, base: Journal, start: Journal,
  done: { inputs: number; paths: string[]; exitCode: number; packets: number; maxOpenFiles: number; fragments: FragmentCounts },
  answers: readonly WorkerCheckpoint[], syncOutput: () => void): Journal {
  const sum = (k: 'totalFlows' | 'totalPackets' | 'flowsPurged' | 'flowsTimedOut' | 'records') => (start.totals[k] ?? 0) + answers.reduce((t, a) => t + a[k], 0);
  const j: Journal = {
    ...base,
    inputsDone: done.inputs,
    done: done.paths,
    exitCode: done.exitCode,
    packets: done.packets,
    maxOpenFiles: done.maxOpenFiles,
    fragments: addFragments(start.fragments, done.fragments),
    totals: { totalFlows: sum('totalFlows'), totalPackets: sum('totalPackets'), flowsPurged: sum('flowsPurged'), flowsTimedOut: sum('flowsTimedOut'), records: sum('records') },
    current: {
      spills: base.current.spills.map((s, i) => ({ path: s.path, keep: answers[i]?.spilled ?? 0 })),
      logs: base.current.logs.map((l, i) => ({ path: l.path, keep: answers[i].created })),
      cuts: answers.map((a) => a.cut).filter((c): c is string => c !== null),
    },
  };
  syncOutput();
  writeJournal(dir, j);
  for (const c of base.current.cuts) if (!j.current.cuts.includes(c)) fs.rmSync(c, { force: true });
  return j;
}

/** Fragment counts of two runs one after the other. */
export function addFragments(a: FragmentCounts, b: FragmentCounts): FragmentCounts {
  const out = noFragments();
  for (const k of Object.keys(out) as (keyof FragmentCounts)[]) out[k] = a[k] + b[k];
  return out;
}

/** The run wrote its reports: the journal says so (a later --resume does nothing), the rest goes. */
export function finishJournal(dir: string, j: Journal): void {
  const done: Journal = { ...j, finished: true, kept: [], current: { spills: [], logs: [], cuts: [] } };
  writeJournal(dir, done);
  removeUnreferenced(dir, done);
}

/** Every file of the journal directory that the journal does not name. */
function removeUnreferenced(dir: string, j: Journal): void {
  const keep = new Set([JOURNAL, ...[...j.kept, ...j.current.logs].map((f) => path.basename(f.path)), ...j.current.cuts.map((c) => path.basename(c))]);
  for (const name of fs.readdirSync(dir)) if (!keep.has(name)) fs.rmSync(path.join(dir, name), { force: true });
}

/** The md5 of a file, as the md5 scanner gives it for a flow that ends. */
export function fileMd5(p: string): string {
  const h = createHash('md5');
  const fd = fs.openSync(p, 'r');
  try {
    const b = Buffer.allocUnsafe(1 << 20);
    for (let n = fs.readSync(fd, b); n > 0; n = fs.readSync(fd, b)) h.update(b.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}
