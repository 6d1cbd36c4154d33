/**
 * The inputs of a run as files to read, in order: directories expanded to the capture
 * files below them, ordered by their first packet; with --sort-inputs the explicit files
 * too. Each -r/-R group is ordered on its own (-R files are always read after the -r ones).
 *
 * The directory rule: every regular file below it, at any depth; names starting with '.'
 * (files and directories) are skipped; symbolic links are followed, each directory and
 * each file read once (a loop or a second link to the same file changes nothing); files
 * that are not captures (by their first bytes, after decompression), and FIFOs, sockets and
 * devices, are skipped with one warning each.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { allocChunk, type Chunk } from './chunk';
import { openInput, type PacketSource } from './source';
import type { CaptureInterface } from './reader';
import type { DecompressLimits } from './decompress';
import { TcpflowError } from '../errors';
import { strerror } from '../util/strerror';
import { isoSeconds } from '../util/iso-time';

export interface InputSpec {
  path: string;
  /** An -R file: it only continues connections already open. */
  finishing: boolean;
  /** Put in its place by its first packet's time (a directory's file, or --sort-inputs). */
  ordered: boolean;
}

export interface ResolvedInputs {
  inputs: InputSpec[];
  /** One line each: files of a directory skipped. */
  warnings: string[];
  /** Inputs that cannot be read at all (a missing -r, an unreadable directory): one line each, the run goes on. */
  errors: TcpflowError[];
}

/** A packet time, for ordering: [seconds, microseconds]. */
export type PacketTime = readonly [number, number];

interface Probed {
  path: string;
  /** First packet's time; null when the file has none (or it cannot be read): such files go last. */
  first: PacketTime | null;
}

/** Before a compares earlier than b, by time, then by name; files without a packet last, by name. */
function byFirstPacket(a: Probed, b: Probed): number {
  if (a.first !== null && b.first !== null) {
    const d = comparePacketTimes(a.first, b.first);
    if (d !== 0) return d;
  } else if (a.first !== null || b.first !== null) {
    return a.first === null ? 1 : -1;
  }
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

export function comparePacketTimes(a: PacketTime, b: PacketTime): number {
  return a[0] !== b[0] ? a[0] - b[0] : a[1] - b[1];
}

/**
 * Expand and order `specs` (-r files in order, then -R files). Reads the start of every
 * file it has to order (its first packet); files it is not asked to order are not opened.
 */
export async function resolveInputs(specs: readonly Omit<InputSpec, 'ordered'>[], sortAll: boolean, limits: DecompressLimits): Promise<ResolvedInputs> {
  const out: ResolvedInputs = { inputs: [], warnings: [], errors: [] };
  const prober = new Prober(limits);
  for (const finishing of [false, true]) {
    const group: InputSpec[] = [];
    for (const spec of specs.filter((s) => s.finishing === finishing)) {
      const st = spec.path === '-' ? null : statOrNull(spec.path);
      if (st === null || !st.isDirectory()) {
        group.push({ path: spec.path, finishing, ordered: false });
        continue;
      }
      const files = walk(spec.path, out);
      const probed: Probed[] = [];
      for (const f of files) {
        const p = await prober.probe(f, out, true);
        if (p !== null) probed.push(p);
      }
      if (probed.length === 0) {
        out.errors.push(new TcpflowError('INPUT_OPEN', `${spec.path}: no capture files in this directory`));
        continue;
      }
      probed.sort(byFirstPacket);
      for (const p of probed) group.push({ path: p.path, finishing, ordered: true });
    }
    if (sortAll && group.length > 1) {
      const probed: Probed[] = [];
      for (const g of group) probed.push(await prober.probe(g.path, out, false) ?? { path: g.path, first: null });
      probed.sort(byFirstPacket);
      out.inputs.push(...probed.map((p) => ({ path: p.path, finishing, ordered: true })));
    } else {
      out.inputs.push(...group);
    }
  }
  warnRepeated(out);
  return out;
}

/**
 * A file given twice (the same -r twice, in -l's list and on the command line, a path and a
 * symlink to it, a directory and a file in it: the same device and inode) is read again,
 * as tcpflow reads every input it is given; its packets then count twice, so say so.
 */
function warnRepeated(out: ResolvedInputs): void {
  const seen = new Map<string, string>();
  for (const { path: p } of out.inputs) {
    const st = p === '-' ? null : statOrNull(p);
    if (st === null || !st.isFile()) continue;
    const id = `${st.dev}:${st.ino}`;
    const first = seen.get(id);
    if (first === undefined) seen.set(id, p);
    else out.warnings.push(`${p}: the same file as ${first}, given twice: read again (as tcpflow does), its packets are processed twice`);
  }
}

function statOrNull(p: string): fs.Stats | null {
  try {
    return fs.statSync(p);
  } catch {
    return null; // reported when it is read, like any missing input
  }
}

/**
 * The files a directory input stands for, before the captures among them are told from
 * the rest (by the rule above, in name order; nothing reported): for sizing the input.
 */
export function filesUnder(dir: string): string[] {
  return walk(dir, { inputs: [], warnings: [], errors: [] });
}

/** Every regular file below `dir` (by the rule above), in name order. */
function walk(dir: string, out: ResolvedInputs): string[] {
  const files: string[] = [];
  const seenDirs = new Set<string>();
  const seenFiles = new Map<string, string>();
  const visit = (d: string): void => {
    let st: fs.Stats;
    let names: string[];
    try {
      st = fs.statSync(d);
      const id = `${st.dev}:${st.ino}`;
      if (seenDirs.has(id)) return;
      seenDirs.add(id);
      names = fs.readdirSync(d).sort();
    } catch (e) {
      out.errors.push(new TcpflowError('INPUT_OPEN', `${d}: ${strerror(e)}`));
      return;
    }
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const p = path.join(d, name);
      let s: fs.Stats;
      try {
        s = fs.statSync(p);
      } catch (e) {
        // A dangling link, or one that cannot be followed.
        out.warnings.push(`${p}: skipped: ${strerror(e)}`);
        continue;
      }
      if (s.isDirectory()) {
        visit(p);
      } else if (!s.isFile()) {
        out.warnings.push(`${p}: skipped: not a regular file`);
      } else {
        const id = `${s.dev}:${s.ino}`;
        const twin = seenFiles.get(id);
        if (twin !== undefined) {
          out.warnings.push(`${p}: skipped: the same file as ${twin}`);
          continue;
        }
        seenFiles.set(id, p);
        files.push(p);
      }
    }
  };
  visit(dir);
  return files;
}

/**
 * Reads the first packet of files, through the same sources a run reads them with, into a
 * small chunk (a read fills its whole buffer), then a larger one for a first record that
 * does not fit (snap lengths up to 262,144 and more).
 */
class Prober {
  private readonly chunks: Chunk[] = [];
  private readonly cache = new Map<string, Probed>();

  constructor(private readonly limits: DecompressLimits) {}

  /**
   * The file's first packet time. A file that holds no capture is null (with a warning,
   * when `skipNonCaptures`: a directory's stray file); other problems are left for the
   * real read to report, the file ordered last.
   */
  async probe(file: string, out: ResolvedInputs, skipNonCaptures: boolean): Promise<Probed | null> {
    const known = this.cache.get(file);
    if (known !== undefined) return known;
    let result: Probed = { path: file, first: null };
    try {
      for (const bytes of [64 << 10, 16 << 20]) {
        const chunk = this.chunks.find((c) => c.input.length === bytes) ?? this.chunks[this.chunks.push(allocChunk(bytes, 16)) - 1];
        const source = await openInput(file, this.limits);
        try {
          const n = await source.fill(chunk);
          if (n !== null && n > 0) result = { path: file, first: [chunk.sec[0], chunk.usec[0]] };
          break;
        } catch (e) {
          if (!(e instanceof TcpflowError && /does not fit in the read buffer/.test(e.message))) throw e;
        } finally {
          source.close();
        }
      }
    } catch (e) {
      if (!(e instanceof TcpflowError)) throw e;
      const notCapture = e.code === 'INPUT_FORMAT' || (e.code === 'INPUT_TRUNCATED' && /file header/.test(e.message));
      if (skipNonCaptures && notCapture) {
        out.warnings.push(`${file}: skipped: not a capture file (${e.message.slice(file.length + 2)})`);
        return null;
      }
    }
    this.cache.set(file, result);
    return result;
  }
}

function timeText(t: PacketTime): string {
  return `${isoSeconds(t[0])}.${String(t[1]).padStart(6, '0')}Z`;
}

/**
 * The order check of a run's inputs: once, when a file's first packet is earlier than
 * the last packet of the file read before it (packets are never re-sorted, so flows that
 * cross the two files can come out wrong).
 */
export class InputOrderCheck {
  private prev: { spec: InputSpec; last: PacketTime } | null = null;
  private warned = false;

  constructor(private readonly warn: (message: string) => void) {}

  /** `spec` is about to be read through `source`: watch its first and last packets. */
  watch(spec: InputSpec, source: PacketSource): PacketSource {
    return new TimedSource(source, (first) => this.onFirst(spec, first), (last) => { this.prev = { spec, last }; });
  }

  private onFirst(spec: InputSpec, first: PacketTime): void {
    const prev = this.prev;
    if (prev === null || this.warned || comparePacketTimes(first, prev.last) >= 0) return;
    this.warned = true;
    const what = `${spec.path}: its first packet (${timeText(first)}) is earlier than the last packet of ${prev.spec.path} (${timeText(prev.last)}), read before it`;
    this.warn(prev.spec.ordered && spec.ordered
      ? `${what}: the two files overlap in time; they are read one after the other, not merged packet by packet`
      : `${what}: inputs are read in the order given, so flows that cross them may be cut or misplaced; --sort-inputs orders them by their first packets`);
  }
}

/** A source that reports its first packet's time, and its last one's at each chunk. */
class TimedSource implements PacketSource {
  private started = false;

  constructor(private readonly inner: PacketSource, private readonly onFirst: (t: PacketTime) => void,
    private readonly onLast: (t: PacketTime) => void) {}

  get name(): string { return this.inner.name; }
  get firstInterface(): CaptureInterface | null { return this.inner.firstInterface; }
  get progress(): { readonly done: number; readonly total: number } | undefined { return this.inner.progress; }

  async fill(chunk: Chunk, next?: Chunk): Promise<number | null> {
    const n = await this.inner.fill(chunk, next);
    if (n !== null && n > 0) {
      if (!this.started) {
        this.started = true;
        this.onFirst([chunk.sec[0], chunk.usec[0]]);
      }
      this.onLast([chunk.sec[n - 1], chunk.usec[n - 1]]);
    }
    return n;
  }

  async settle(): Promise<void> {
    await this.inner.settle?.();
  }

  close(): void {
    this.inner.close();
  }
}
