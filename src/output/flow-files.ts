import * as fs from 'node:fs';
import * as path from 'node:path';
import { TcpflowError, EXIT } from '../errors';
import { strerror } from '../util/strerror';

const { O_CREAT, O_EXCL, O_RDWR, O_TRUNC } = fs.constants;

/** A run of contiguous writes is written out once it has this many pieces (writev's IOV_MAX is 1024). */
const MAX_RUN_PIECES = 512;
/** Largest file time (seconds) futimes is given. */
const MAX_MTIME = 2 ** 62;

/** The on-disk side of one flow: its path once created, its descriptor while open. */
export class FlowFile {
  path: string | null = null;
  fd = -1;
  /** Flow start time for the file's atime/mtime, seconds with µs precision. */
  sec = 0;
  usec = 0;
  /** Whether closing sets atime/mtime to the flow start (flow files: yes; -K pcaps: no). */
  stampTimes = true;
  /**
   * Contiguous bytes waiting to be written: views into the chunk being processed (not
   * copies), written with one writev at the latest when the chunk is done.
   */
  run: Uint8Array[] = [];
  runPos = 0;
  runLen = 0;
  /** -I index lines not yet appended to `<path>.findx`. */
  findx = '';
  /** Neighbours in the store's least-recently-used list of open files. */
  older: FlowFile | null = null;
  newer: FlowFile | null = null;
}

export interface FlowFileStats {
  openNow: number;
  maxOpen: number;
}

/**
 * Creates, writes and closes flow files for one worker. Writes are positional (pwrite),
 * so a file re-opened after an eviction needs no seek; contiguous writes are gathered
 * in a per-flow buffer so a bulk flow costs one syscall per 64 KiB, not per segment.
 * Open descriptors are capped (the -f limit) with least-recently-used eviction.
 */
export class FlowFileStore {
  /** Open files, least recently used first (an intrusive list: no allocation per touch). */
  private oldest: FlowFile | null = null;
  private newest: FlowFile | null = null;
  private readonly pending = new Set<FlowFile>();
  private readonly madeDirs = new Set<string>();
  readonly stats: FlowFileStats = { openNow: 0, maxOpen: 0 };

  /** `onDebug` gets tcpflow's level-5 note when an evicted file is opened again. */
  constructor(private readonly maxOpen: number, private readonly onDebug: ((message: string) => void) | null = null) {}

  /**
   * Create the flow's file: the first name from `nameFor(0)`, `nameFor(1)`, ... that
   * does not exist yet (tcpflow's disk-based c1, c2 ... counter).
   */
  create(ff: FlowFile, nameFor: (count: number) => string): void {
    for (let count = 0; ; count++) {
      const p = nameFor(count);
      const fd = this.openWithRetry(p, O_CREAT | O_EXCL | O_RDWR, true);
      if (fd >= 0) {
        ff.path = p;
        this.attach(ff, fd);
        return;
      }
    }
  }

  /** Create or truncate the file at `p` (-K pcaps are rewritten by every run, as in tcpflow). */
  createTruncated(ff: FlowFile, p: string): void {
    ff.path = p;
    this.attach(ff, this.openWithRetry(p, O_CREAT | O_TRUNC | O_RDWR, false));
  }

  /** Make sure the file's descriptor is open and mark it most recently used. */
  use(ff: FlowFile): void {
    if (ff.fd >= 0) {
      this.touch(ff);
      return;
    }
    if (ff.path === null) throw new Error('flow file used before it was created');
    this.attach(ff, this.openWithRetry(ff.path, O_RDWR, false));
    this.onDebug?.(`${ff.path}: opening existing file`);
  }

  /** Mark most recently used, without opening. */
  touch(ff: FlowFile): void {
    if (ff.fd < 0 || this.newest === ff) return;
    this.unlink(ff);
    this.append(ff);
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

  /**
   * Queue data[off, off+len) for position `pos`. The bytes are not copied: `data` must
   * stay unchanged until flushAll() (the caller's chunk is released only after it).
   */
  write(ff: FlowFile, pos: number, data: Uint8Array, off: number, len: number): void {
    if (len <= 0) return;
    if (ff.runLen > 0 && (pos !== ff.runPos + ff.runLen || ff.run.length >= MAX_RUN_PIECES)) this.flush(ff);
    if (ff.runLen === 0) {
      ff.runPos = pos;
      this.pending.add(ff);
    }
    ff.run.push(data.subarray(off, off + len));
    ff.runLen += len;
  }

  /** Write out every queued run (before the memory they point into is reused). */
  flushAll(): void {
    for (const ff of this.pending) this.flush(ff);
  }

  /** Bytes [pos, pos+len) as now on disk (short at end of file). */
  read(ff: FlowFile, pos: number, len: number): Buffer {
    this.flush(ff);
    this.use(ff);
    const b = Buffer.alloc(len);
    let got = 0;
    while (got < len) {
      const n = fs.readSync(ff.fd, b, got, len - got, pos + got);
      if (n === 0) break;
      got += n;
    }
    return b.subarray(0, got);
  }

  /**
   * Move the whole content up by `shift` bytes; the freed front reads as zeros. Bytes
   * that would land at or past `limit` (-b; -1 for none) are dropped.
   */
  shiftUp(ff: FlowFile, shift: number, size: number, limit: number): void {
    const keep = limit < 0 ? size : Math.max(0, Math.min(size, limit - shift));
    const old = keep > 0 ? this.read(ff, 0, keep) : Buffer.alloc(0);
    this.use(ff);
    fs.ftruncateSync(ff.fd, 0);
    fs.ftruncateSync(ff.fd, limit < 0 ? shift : Math.min(shift, limit));
    if (old.length) this.pwrite(ff, old, 0, old.length, shift);
  }

  /** Flush, stamp the flow start time, and close the descriptor (the file may be used again). */
  close(ff: FlowFile): void {
    if (ff.fd < 0) {
      this.flush(ff); // reopens if bytes are still queued
      if (ff.fd < 0) return;
    }
    // +0.5 µs: the double never truncates below the intended µs. A hostile pcapng time
    // (64-bit ticks and offset) can pass 2^63 s, where futimes fails with EINVAL: clamp it
    // (file systems clamp far earlier anyway, ext4 at year 2446).
    const t = Math.max(-MAX_MTIME, Math.min(MAX_MTIME, ff.sec + (ff.usec + 0.5) / 1e6));
    try {
      // A failed write (disk full) still closes the descriptor and stamps what was written.
      try { this.flush(ff); } finally { if (ff.stampTimes) fs.futimesSync(ff.fd, t, t); }
    } finally {
      fs.closeSync(ff.fd);
      this.unlink(ff);
      ff.fd = -1;
      this.stats.openNow--;
    }
  }

  /** Write out the flow's queued run, if any. */
  flush(ff: FlowFile): void {
    if (ff.runLen === 0) return;
    const run = ff.run, pos = ff.runPos, len = ff.runLen;
    ff.run = [];
    ff.runLen = 0;
    this.pending.delete(ff);
    this.use(ff);
    let done: number;
    try {
      done = run.length === 1 ? fs.writeSync(ff.fd, run[0], 0, len, pos) : fs.writevSync(ff.fd, run, pos);
    } catch (e) {
      throw outputError(ff.path ?? '?', e);
    }
    // A short write (rare: a signal, a full disk about to fail) goes on piece by piece.
    for (let i = 0, at = 0; done < len && i < run.length; at += run[i].length, i++) {
      const end = at + run[i].length;
      if (end <= done) continue;
      const skip = Math.max(0, done - at);
      this.pwrite(ff, run[i], skip, run[i].length - skip, pos + at + skip);
      done = end;
    }
  }

  private pwrite(ff: FlowFile, data: Uint8Array, off: number, len: number, pos: number): void {
    this.use(ff);
    while (len > 0) {
      let n: number;
      try {
        n = fs.writeSync(ff.fd, data, off, len, pos);
      } catch (e) {
        throw outputError(ff.path ?? '?', e);
      }
      off += n; len -= n; pos += n;
    }
  }

  private attach(ff: FlowFile, fd: number): void {
    ff.fd = fd;
    this.append(ff);
    this.stats.openNow++;
    if (this.stats.openNow > this.stats.maxOpen) this.stats.maxOpen = this.stats.openNow;
  }

  /** Close the least recently used file to free a descriptor; false if none is open. */
  private evictOne(): boolean {
    const victim = this.oldest;
    if (victim === null) return false;
    this.close(victim);
    return true;
  }

  /** open(2) under the descriptor cap; -1 when `exclusive` and the name exists. */
  private openWithRetry(p: string, flags: number, exclusive: boolean): number {
    while (this.stats.openNow >= this.maxOpen && this.evictOne()) { /* make room */ }
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

export function outputError(p: string, e: unknown): TcpflowError {
  return new TcpflowError('OUTPUT', `${p}: ${strerror(e)}`, EXIT.OUTPUT);
}
