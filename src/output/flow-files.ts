import * as fs from 'node:fs';
import * as path from 'node:path';
import { outputError } from '../errors';
import type { FlowSink, SinkCheckpoint } from '../flow/sink';
import { errnoError, nativeFiles, nativeFilesAfter, type NativeFiles } from './native-files';
import type { NamingFlow, Template } from './template';

const { O_CREAT, O_EXCL, O_RDWR, O_TRUNC } = fs.constants;
/** FlowFileStore's directory descriptor before its first use. */
const NOT_OPENED = -2;

/** A run of contiguous writes is written out once it has this many pieces (writev's IOV_MAX is 1024). */
const MAX_RUN_PIECES = 512;
/** Largest file time (seconds) futimes is given. */
const MAX_MTIME = 2 ** 62;
/** Index lines kept in memory per file before they are appended to its .findx file. */
const FINDX_FLUSH = 64 * 1024;

/** What a flow file needs of its flow: the start time (its mtime) and the current packet's time (-I). */
export interface FileClock {
  readonly startSec: number;
  readonly startUsec: number;
  readonly lastSec: number;
  readonly lastUsec: number;
}

/**
 * One flow file: a sink that queues contiguous writes as views into the chunk being
 * processed (no copy) and writes each run with one positional writev, keeps a descriptor
 * only while it is among the store's most recently used, and keeps the -I index.
 */
export class FlowFile implements FlowSink {
  fd = -1;
  /**
   * Contiguous bytes waiting to be written, at runPos: the first piece as where it lies
   * (runData[runOff, runOff + its length)), later ones as views in `run` (the first piece's
   * view is made only then: most runs of a short flow are one piece, written without one).
   */
  runData: Uint8Array | null = null;
  runOff = 0;
  run: Uint8Array[] = [];
  runPos = 0;
  runLen = 0;
  /** In the store's list of files with a run waiting. */
  pending = false;
  /** Bytes the file holds once everything queued is written (its size). */
  size = 0;
  /** Set when the flow has ended: the descriptor is gone for good. */
  ended = false;
  /** -I index lines not yet appended to `<path>.findx`, or null without -I. */
  private findx: string | null;
  /** Neighbours in the store's least-recently-used list of open files. */
  older: FlowFile | null = null;
  newer: FlowFile | null = null;

  /**
   * `clock`: the flow the file belongs to; its start time becomes the file's atime and
   * mtime, and -I lines carry its current packet time. null for -K pcaps (not stamped).
   */
  constructor(private readonly store: FlowFileStore, readonly path: string, private clock: FileClock | null, findx: boolean) {
    this.findx = findx ? '' : null;
  }

  get name(): string {
    return this.path;
  }

  /** Forget the queued run (its bytes were handed to a write). */
  clearRun(): void {
    this.runData = null;
    if (this.run.length > 0) this.run = [];
    this.runLen = 0;
  }

  write(pos: number, data: Uint8Array, off: number, len: number): void {
    if (len > 0) {
      if (this.runLen > 0 && (pos !== this.runPos + this.runLen || this.run.length >= MAX_RUN_PIECES)) this.store.flush(this);
      if (this.runLen === 0) {
        this.runPos = pos;
        this.runData = data;
        this.runOff = off;
        this.store.queued(this);
      } else {
        if (this.run.length === 0) this.run.push((this.runData as Uint8Array).subarray(this.runOff, this.runOff + this.runLen));
        this.run.push(data.subarray(off, off + len));
      }
      this.runLen += len;
      if (pos + len > this.size) this.size = pos + len;
    }
    this.store.touch(this);
    if (this.findx !== null && this.clock !== null) {
      this.findx += `${pos}|${this.clock.lastSec}.${String(this.clock.lastUsec).padStart(6, '0')}|${len}\n`;
      if (this.findx.length >= FINDX_FLUSH) this.flushFindx();
    }
  }

  /**
   * Move the whole content up by `shift` bytes; the freed front reads as zeros. Bytes
   * that would land at or past `limit` (-b; -1 for none) are dropped. The index keeps
   * pointing at the same bytes after they moved (spec B5).
   */
  shiftUp(shift: number, limit: number): void {
    const keep = limit < 0 ? this.size : Math.max(0, Math.min(this.size, limit - shift));
    const old = keep > 0 ? this.read(0, keep) : new Uint8Array(0);
    this.store.use(this);
    fs.ftruncateSync(this.fd, 0);
    const length = keep > 0 ? keep + shift : limit < 0 ? shift : Math.min(shift, limit);
    fs.ftruncateSync(this.fd, keep > 0 ? shift : length);
    if (old.length) this.store.pwrite(this, old, 0, old.length, shift);
    this.size = length;
    if (this.findx !== null) {
      this.flushFindx();
      const p = this.path + '.findx';
      const text = fs.readFileSync(p, 'latin1');
      writeFindx(p, text.replace(/^(\d+)\|/gm, (_m, o: string) => `${Number(o) + shift}|`), 'w');
    }
  }

  /** Bytes [pos, pos+len) as now on disk (short at end of file); after the end, read through a fresh descriptor. */
  read(pos: number, len: number): Uint8Array {
    if (this.ended) return readClosedFile(this.path, pos, len);
    this.store.flush(this);
    this.store.use(this);
    return readAt(this.fd, pos, len);
  }

  /** The flow ended: write out what is queued, stamp the flow's start time, close for good. */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    try {
      this.store.release(this);
    } finally {
      this.flushFindx();
      // A closed file may be kept for the straggler check: it needs its path, not its flow.
      this.clock = null;
    }
  }

  /** Everything queued written out (file and -I index); what the file holds now. */
  checkpoint(): SinkCheckpoint {
    this.store.flush(this);
    this.flushFindx();
    return {
      path: path.resolve(this.path),
      size: this.size,
      findx: this.findx === null ? null : fs.statSync(this.path + '.findx').size,
      mtime: this.mtime(),
    };
  }

  /** Create the (empty) index beside a new file. */
  startFindx(): void {
    if (this.findx !== null) writeFindx(this.path + '.findx', '', 'w');
  }

  private flushFindx(): void {
    if (this.findx === null || this.findx.length === 0) return;
    writeFindx(this.path + '.findx', this.findx, 'a');
    this.findx = '';
  }

  /** Seconds (µs precision) for futimes; +0.5 µs so the double never truncates below the intended µs. */
  mtime(): number | null {
    if (this.clock === null) return null;
    // A hostile pcapng time (64-bit ticks and offset) can pass 2^63 s, where futimes fails
    // with EINVAL: clamp it (file systems clamp far earlier anyway, ext4 at year 2446).
    return Math.max(-MAX_MTIME, Math.min(MAX_MTIME, this.clock.startSec + (this.clock.startUsec + 0.5) / 1e6));
  }
}

/**
 * A time for fs.futimesSync: node:fs stamps the current time for a negative number of
 * seconds (a pcapng time before 1970), but takes a Date as it is (to the millisecond).
 */
function fsTime(t: number): number | Date {
  return t < 0 ? new Date(t * 1000) : t;
}

/** Bytes [pos, pos+len) of an ended flow file (short at its end), through a descriptor of their own; empty when it is gone or unreadable. */
export function readClosedFile(p: string, pos: number, len: number): Uint8Array {
  let fd = -1;
  try {
    fd = fs.openSync(p, 'r');
    return readAt(fd, pos, len);
  } catch {
    return new Uint8Array(0); // nothing to compare with
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}

function readAt(fd: number, pos: number, len: number): Uint8Array {
  const b = Buffer.allocUnsafe(len);
  let got = 0;
  while (got < len) {
    const n = fs.readSync(fd, b, got, len - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return b.subarray(0, got);
}

function writeFindx(p: string, text: string, flag: 'w' | 'a'): void {
  try {
    fs.writeFileSync(p, text, { flag, encoding: 'latin1' });
  } catch (e) {
    throw outputError(p, e);
  }
}

export interface FlowFileStats {
  /** Descriptors open now, and the most at once (bounded by the store's cap). */
  descriptors: number;
  maxDescriptors: number;
  /** Files created and not yet ended (open flow files, whatever the descriptor cap). */
  open: number;
  /** The most `open` has been since the caller last reset it. */
  peak: number;
  /** Flow files this store created (each a new directory entry: O_EXCL). */
  created: number;
}

/**
 * Creates, writes and closes one worker's flow files. Writes are positional (pwrite), so
 * a file re-opened after an eviction needs no seek; contiguous writes are gathered per
 * file so a bulk flow costs one syscall per run, not per segment. Open descriptors are
 * capped (the -f limit) with least-recently-used eviction.
 */
export class FlowFileStore {
  /** Open files, least recently used first (an intrusive list: no allocation per touch). */
  private oldest: FlowFile | null = null;
  private newest: FlowFile | null = null;
  /** Files with a run waiting (a file's `pending` says it is here; written out at the latest by flushAll). */
  private pending: FlowFile[] = [];
  private readonly madeDirs = new Set<string>();
  readonly stats: FlowFileStats = { descriptors: 0, maxDescriptors: 0, open: 0, peak: 0, created: 0 };

  /** --resume: the log of files created (absolute paths as JSON strings, one a line), and its length. */
  private createdLog: { fd: number; path: string; bytes: number } | null = null;
  /** The addon once `nativeAfter` files were created (null before, or without it). */
  private native: NativeFiles | null = null;
  /** The directory's descriptor for the addon's openAt (-1: none; NOT_OPENED: not yet asked for), and the prefix it is for. */
  private dirfd = NOT_OPENED;
  private dirPrefix = '';

  /**
   * `onDebug` gets tcpflow's level-5 notes (file created, reopened, closed). `createdLog`
   * (--resume): every file is named there before it is created, so that a resumed run can
   * remove the files made after the last checkpoint. The addon (see native-files.ts) is used
   * from the `nativeAfter`th file created on (Infinity: never).
   */
  constructor(private maxOpen: number, private readonly onDebug: ((message: string) => void) | null = null,
    createdLog: string | null = null, private readonly nativeAfter = nativeFilesAfter()) {
    if (createdLog !== null) {
      try {
        this.createdLog = { fd: fs.openSync(createdLog, 'a', 0o600), path: createdLog, bytes: 0 };
      } catch (e) {
        throw outputError(createdLog, e);
      }
    }
  }

  /** End of run: close the creation log (--resume) and the directory's descriptor. */
  close(): void {
    if (this.dirfd >= 0) {
      fs.closeSync(this.dirfd);
      this.maxOpen++;
    }
    this.dirfd = -1;
    if (this.createdLog !== null) fs.closeSync(this.createdLog.fd);
    this.createdLog = null;
  }

  /** --resume: the creation log synced; its length. */
  syncCreated(): number {
    const log = this.createdLog;
    if (log === null) return 0;
    try {
      fs.fsyncSync(log.fd);
    } catch (e) {
      throw outputError(log.path, e);
    }
    return log.bytes;
  }

  private logCreation(p: string): void {
    const log = this.createdLog as { fd: number; path: string; bytes: number };
    const b = Buffer.from(JSON.stringify(path.resolve(p)) + '\n');
    try {
      // Written (not synced) before the file exists: a killed run's log names every file it made.
      for (let off = 0; off < b.length;) off += fs.writeSync(log.fd, b, off, b.length - off);
    } catch (e) {
      throw outputError(log.path, e);
    }
    log.bytes += b.length;
  }

  /**
   * A new flow file: the first name `prefix` + the template's for counts 0, 1, ... that does
   * not exist yet (tcpflow's disk-based c1, c2 ... counter); created with O_EXCL, so nothing
   * already there (a file, a directory, a symbolic link) is ever written through.
   */
  create(prefix: string, template: Template, flow: FileClock & NamingFlow, findx: boolean): FlowFile {
    const clock: FileClock = flow;
    if (this.stats.created === this.nativeAfter) this.native = nativeFiles();
    const dirfd = this.directory(prefix);
    for (let count = 0; ; count++) {
      const name = template.expand(flow, count);
      const p = prefix + name;
      if (this.createdLog !== null && fs.lstatSync(p, { throwIfNoEntry: false }) === undefined) this.logCreation(p);
      // A name from / on would be taken from the root by openat: only node:fs may open it.
      const fd = this.openWithRetry(p, O_CREAT | O_EXCL | O_RDWR, true, name.charCodeAt(0) === 0x2f ? -1 : dirfd, name);
      if (fd < 0) continue;
      this.stats.created++;
      const ff = this.adopt(new FlowFile(this, p, clock, findx), fd);
      this.onDebug?.(`${p}: created new file`);
      ff.startFindx();
      return ff;
    }
  }

  /** Create or truncate the file at `p` (-K pcaps are rewritten by every run, as in tcpflow); not stamped. */
  createTruncated(p: string): FlowFile {
    return this.adopt(new FlowFile(this, p, null, false), this.openWithRetry(p, O_CREAT | O_TRUNC | O_RDWR, false));
  }

  private adopt(ff: FlowFile, fd: number): FlowFile {
    this.attach(ff, fd);
    if (++this.stats.open > this.stats.peak) this.stats.peak = this.stats.open;
    return ff;
  }

  /** Make sure the file's descriptor is open and mark it most recently used. */
  use(ff: FlowFile): void {
    if (ff.fd >= 0) {
      this.touch(ff);
      return;
    }
    this.attach(ff, this.openWithRetry(ff.path, O_RDWR, false));
    this.onDebug?.(`${ff.path}: opening existing file`);
  }

  /** Mark most recently used, without opening. */
  touch(ff: FlowFile): void {
    if (ff.fd < 0 || this.newest === ff) return;
    this.unlink(ff);
    this.append(ff);
  }

  /** The file has a run waiting to be written. */
  queued(ff: FlowFile): void {
    if (ff.pending) return;
    ff.pending = true;
    this.pending.push(ff);
  }

  /** Write out every queued run (before the memory they point into is reused). */
  flushAll(): void {
    const list = this.pending;
    // A failed write leaves the files after it listed (and still marked) for the next flush.
    for (let i = 0; i < list.length; i++) {
      const ff = list[i];
      if (ff.runLen > 0) {
        try {
          this.flush(ff);
        } catch (e) {
          this.pending = list.slice(i + 1);
          ff.pending = false;
          throw e;
        }
      }
      ff.pending = false;
    }
    if (this.pending === list) list.length = 0;
  }

  /** Write out the file's queued run, if any (the file may stay listed as pending: flushAll skips it). */
  flush(ff: FlowFile): void {
    if (ff.runLen === 0) return;
    const data = ff.runData as Uint8Array, off = ff.runOff, run = ff.run, pos = ff.runPos, len = ff.runLen;
    ff.clearRun();
    this.use(ff);
    if (this.native !== null) {
      const r = this.native.write(ff.fd, run.length === 0 ? data : run, run.length === 0 ? off : 0, len, pos);
      if (r < 0) throw outputError(ff.path, errnoError(r, 'write', ff.path));
      return;
    }
    let done: number;
    try {
      done = run.length === 0 ? fs.writeSync(ff.fd, data, off, len, pos) : fs.writevSync(ff.fd, run, pos);
    } catch (e) {
      throw outputError(ff.path, e);
    }
    // A short write (rare: a signal, a full disk about to fail) goes on piece by piece.
    if (done < len && run.length === 0) this.pwrite(ff, data, off + done, len - done, pos + done);
    for (let i = 0, at = 0; done < len && i < run.length; at += run[i].length, i++) {
      const end = at + run[i].length;
      if (end <= done) continue;
      const skip = Math.max(0, done - at);
      this.pwrite(ff, run[i], skip, run[i].length - skip, pos + at + skip);
      done = end;
    }
  }

  pwrite(ff: FlowFile, data: Uint8Array, off: number, len: number, pos: number): void {
    this.use(ff);
    while (len > 0) {
      let n: number;
      try {
        n = fs.writeSync(ff.fd, data, off, len, pos);
      } catch (e) {
        throw outputError(ff.path, e);
      }
      off += n; len -= n; pos += n;
    }
  }

  /** The file's flow ended: write out its run, stamp it and give its descriptor back. */
  release(ff: FlowFile): void {
    this.stats.open--;
    try {
      this.closeDescriptor(ff);
    } finally {
      this.onDebug?.(`${ff.path}: closing file in tcpip::close_file`);
    }
  }

  /** Flush, stamp the flow start time, and close the descriptor (an evicted file may be used again). */
  private closeDescriptor(ff: FlowFile): void {
    if (ff.fd < 0) {
      this.flush(ff); // reopens if bytes are still queued
      if (ff.fd < 0) return;
    }
    const t = ff.mtime();
    if (this.native !== null) {
      this.finishNative(ff, this.native, t);
      return;
    }
    try {
      // A failed write (disk full) still closes the descriptor and stamps what was written.
      try { this.flush(ff); } finally { if (t !== null) fs.futimesSync(ff.fd, fsTime(t), fsTime(t)); }
    } finally {
      fs.closeSync(ff.fd);
      this.detach(ff);
    }
  }

  /** closeDescriptor's three calls (the queued run, the times, close) as one, with the addon. */
  private finishNative(ff: FlowFile, native: NativeFiles, t: number | null): void {
    const pieces = ff.run, len = ff.runLen;
    const r = native.finish(ff.fd, pieces.length === 0 ? ff.runData : pieces, pieces.length === 0 ? ff.runOff : 0, len, ff.runPos, t);
    ff.clearRun();
    this.detach(ff);
    if (r < 0) throw outputError(ff.path, errnoError(r, len > 0 ? 'write' : 'futime', ff.path));
  }

  private append(ff: FlowFile): void {
    ff.older = this.newest;
    ff.newer = null;
    if (this.newest !== null) this.newest.newer = ff; else this.oldest = ff;
    this.newest = ff;
  }

  private unlink(ff: FlowFile): void {
    if (ff.older !== null) ff.older.newer = ff.newer; else this.oldest = ff.newer;
    if (ff.newer !== null) ff.newer.older = ff.older; else this.newest = ff.older;
    ff.older = ff.newer = null;
  }

  private attach(ff: FlowFile, fd: number): void {
    ff.fd = fd;
    this.append(ff);
    if (++this.stats.descriptors > this.stats.maxDescriptors) this.stats.maxDescriptors = this.stats.descriptors;
  }

  /** attach() undone, once the descriptor is closed. */
  private detach(ff: FlowFile): void {
    this.unlink(ff);
    ff.fd = -1;
    this.stats.descriptors--;
  }

  /** Close the least recently used file to free a descriptor; false if none is open. */
  private evictOne(): boolean {
    const victim = this.oldest;
    if (victim === null) return false;
    this.closeDescriptor(victim);
    return true;
  }

  /**
   * open(2) under the descriptor cap; -1 when `exclusive` and the name exists. With a
   * `dirfd` (directory()), `p` is opened as `name` relative to it by the addon (the kernel
   * walks one name, not the output directory's path); node:fs says why that failed.
   */
  private openWithRetry(p: string, flags: number, exclusive: boolean, dirfd = -1, name = ''): number {
    while (this.stats.descriptors >= this.maxOpen && this.evictOne()) { /* make room */ }
    while (dirfd >= 0) {
      const native = this.native as NativeFiles;
      const fd = native.openAt(dirfd, name, flags, 0o666);
      if (fd >= 0) return fd;
      if (exclusive && fd === -native.errno.EEXIST) return -1;
      if ((fd !== -native.errno.EMFILE && fd !== -native.errno.ENFILE) || !this.evictOne()) break;
    }
    for (;;) {
      try {
        return fs.openSync(p, flags, 0o666);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (exclusive && code === 'EEXIST') return -1;
        if ((code === 'EMFILE' || code === 'ENFILE') && this.evictOne()) continue;
        if (code === 'ENOENT' && (flags & O_CREAT) !== 0 && this.makeParent(p)) continue;
        throw outputError(p, e);
      }
    }
  }

  /**
   * A descriptor of the directory `prefix` (create()'s: the output directory and a /, or
   * nothing for the working directory) for the addon, opened on first use; -1 without one,
   * or for another prefix than the first. It counts against the store's cap (`maxOpen`, its
   * share of -f and of the process's limit): under a cap of one it is not opened.
   */
  private directory(prefix: string): number {
    if (this.native === null) return -1; // not yet, or not built
    if (this.dirfd === NOT_OPENED) {
      const r = this.maxOpen < 2 ? -1 : this.native.openDir(prefix === '' ? '.' : prefix);
      this.dirfd = r >= 0 ? r : -1;
      this.dirPrefix = prefix;
      if (r >= 0) this.maxOpen--;
    }
    return prefix === this.dirPrefix ? this.dirfd : -1;
  }

  /** Create the directories a templated name asks for (once per directory). */
  private makeParent(p: string): boolean {
    const dir = path.dirname(p);
    if (this.madeDirs.has(dir)) return false;
    this.madeDirs.add(dir);
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o777 });
    } catch (e) {
      throw outputError(dir, e);
    }
    return true;
  }
}
