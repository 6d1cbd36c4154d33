/**
 * -L NAME: a lock shared between processes, held around each console write so that several
 * tcpflow-ts runs printing to one terminal, pipe or file never mix their output. tcpflow uses a
 * POSIX named semaphore (initial value 1); Node has neither those nor flock, and no native
 * package is added for it, so the lock is a file: created with O_CREAT|O_EXCL holding the
 * owner's pid and host name, removed on release. A waiter polls with a short synchronous
 * backoff, and breaks a lock whose owner is gone (isStale). The decisions are pure functions;
 * LockFile does the file system calls.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EXIT, TcpflowError } from '../errors';
import { sleepSync } from './sleep';
import { strerror } from './strerror';

/** A lock file that cannot be created, read or removed. Exit status: output error. */
export class LockFileError extends TcpflowError {
  constructor(readonly path: string, reason: string) {
    super('LOCK', `lock file ${path}: ${reason}`, EXIT.OUTPUT);
    this.name = 'LockFileError';
  }
}

/** Who holds a lock, as written in the lock file. */
export interface LockOwner {
  pid: number;
  host: string;
}

/** How old (mtime) a lock file with unreadable content must be before it is broken. The
 * owner writes its pid right after creating the file, so an empty file younger than this is
 * most likely being written; an older one was left by a process killed in between. */
export const UNREADABLE_STALE_MS = 5_000;
/** A lock owned by another host (a shared file system) cannot have its pid checked: it is
 * taken as abandoned once it is this old. Console writes are short, except when the reader of
 * the output stops reading (a paused pager): on one host that is still waited out. */
export const FOREIGN_STALE_MS = 60_000;
const MIN_BACKOFF_MS = 1;
const MAX_BACKOFF_MS = 32;
/** Enough for any pid and host name; more is not a lock file of ours (unreadable). */
const MAX_CONTENT = 512;

/**
 * tcpflow's semaphore NAME → the lock file path. A NAME with a '/' is a path, used as given,
 * except a POSIX semaphore name ('/' then no other '/', as sem_open wants), which is a name.
 * A name becomes `<tmpdir>/tcpflow-ts-<name>.lock`, every byte outside [A-Za-z0-9._-]
 * %-encoded (so the mapping is one to one and no name leaves the directory).
 */
export function lockPath(name: string, tmpdir: string = os.tmpdir()): string {
  const bare = /^\/[^/]+$/.test(name) ? name.slice(1) : name;
  if (bare.includes('/')) return bare;
  const safe = bare.replace(/[^A-Za-z0-9._-]/gu, (c) =>
    [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''));
  return path.join(tmpdir, `tcpflow-ts-${safe}.lock`);
}

/** The lock file's content: the pid and the host name, one per line. */
export function ownerText(owner: LockOwner): string {
  return `${owner.pid}\n${owner.host}\n`;
}

/** The owner written by ownerText, or null for anything else (empty, partial, foreign). */
export function parseOwner(text: string): LockOwner | null {
  const m = /^([1-9]\d{0,9})\n([^\n]*)\n$/.exec(text);
  return m ? { pid: Number(m[1]), host: m[2] } : null;
}

/**
 * Whether a lock file found in place may be broken. `owner` is its parsed content, `ageMs` the
 * time since its mtime, `self` this process (which never waits for a lock it holds itself: a
 * file naming our pid was left by an earlier process that had the same pid).
 */
export function isStale(owner: LockOwner | null, ageMs: number, self: LockOwner, alive: (pid: number) => boolean): boolean {
  if (owner === null) return ageMs > UNREADABLE_STALE_MS;
  if (owner.host !== self.host) return ageMs > FOREIGN_STALE_MS;
  if (owner.pid === self.pid) return true;
  return !alive(owner.pid);
}

/** kill(pid, 0): ESRCH means no such process; EPERM means it exists (another user's). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** A lock file as seen at one moment: its identity and content. */
interface Seen {
  dev: bigint;
  ino: bigint;
  mtimeNs: bigint;
  text: string;
}

/** Milliseconds since the file's mtime. */
function ageMs(seen: Seen): number {
  return Number(BigInt(Date.now()) * 1_000_000n - seen.mtimeNs) / 1e6;
}

function sameFile(a: Seen, b: Seen): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.mtimeNs === b.mtimeNs && a.text === b.text;
}

/** Paths this process holds now: a second acquire would wait for itself (isStale's own-pid rule
 * would even break the lock), so it is a programming error. */
const heldHere = new Set<string>();

export class LockFile {
  private held: Seen | null = null;
  private readonly self: LockOwner = { pid: process.pid, host: os.hostname() };

  constructor(readonly path: string, private readonly alive: (pid: number) => boolean = pidAlive) {}

  /** Runs `fn` with the lock held; it is released however `fn` ends. */
  hold<T>(fn: () => T): T {
    this.acquire();
    try {
      return fn();
    } finally {
      this.release();
    }
  }

  /**
   * Start-up check (where tcpflow opens its semaphore): takes and releases the lock once, so an
   * unusable location is reported before anything is read, and a stale lock is cleared.
   */
  probe(): void {
    this.hold(() => undefined);
  }

  /** Waits (synchronously: the thread blocks, as in sem_wait) until the lock is ours. */
  acquire(): void {
    if (this.held !== null || heldHere.has(this.path)) throw new Error(`internal: lock ${this.path} acquired twice`);
    let backoff = MIN_BACKOFF_MS;
    for (;;) {
      if (this.tryCreate()) return;
      const seen = this.look(this.path);
      if (seen === null) continue; // released between our create and our look: try again now
      if (isStale(parseOwner(seen.text), ageMs(seen), this.self, this.alive) && this.breakStale(seen)) continue;
      sleepSync(backoff);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }

  /** Removes the lock file if it is still the one this process created. */
  release(): void {
    const mine = this.held;
    if (mine === null) return;
    this.held = null;
    heldHere.delete(this.path);
    // Another file in its place (a new inode may reuse ours: the content tells) means ours was
    // broken: that one is not ours to remove.
    this.unlinkIfSame(this.path, mine);
  }

  /**
   * Unlinks `p` if it is still the file `seen` (the same inode, mtime and content); `what`
   * prefixes the reason of a failure.
   */
  private unlinkIfSame(p: string, seen: Seen, what = ''): void {
    const now = this.look(p);
    if (now === null || !sameFile(now, seen)) return;
    try {
      fs.unlinkSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new LockFileError(p, what + strerror(e));
    }
  }

  /** O_CREAT|O_EXCL: true if the lock is now ours, false if a lock file is in place. */
  private tryCreate(): boolean {
    const held = this.create(this.path);
    if (held === null) return false;
    this.held = held;
    heldHere.add(this.path);
    return true;
  }

  /** Creates `p` (O_CREAT|O_EXCL) holding our pid and host: the file as created, or null if one is in place. */
  private create(p: string): Seen | null {
    let fd: number;
    try {
      fd = fs.openSync(p, 'wx', 0o666);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return null;
      throw new LockFileError(this.path, strerror(e));
    }
    try {
      const text = ownerText(this.self);
      fs.writeSync(fd, text);
      const st = fs.fstatSync(fd, { bigint: true });
      return { dev: st.dev, ino: st.ino, mtimeNs: st.mtimeNs, text };
    } catch (e) {
      fs.rmSync(p, { force: true });
      throw new LockFileError(this.path, strerror(e));
    } finally {
      fs.closeSync(fd);
    }
  }

  /** The file at `p` now, or null if there is none. Not following a symlink and not blocking
   * on a FIFO: anything but a regular file is refused rather than waited for forever. */
  private look(p: string): Seen | null {
    let fd: number;
    try {
      fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return null;
      throw new LockFileError(this.path, code === 'ELOOP' ? 'is a symbolic link, not a lock file' : strerror(e));
    }
    try {
      const st = fs.fstatSync(fd, { bigint: true });
      if (!st.isFile()) throw new LockFileError(this.path, 'not a regular file');
      const buf = Buffer.alloc(MAX_CONTENT + 1);
      const n = fs.readSync(fd, buf, 0, buf.length, 0);
      return { dev: st.dev, ino: st.ino, mtimeNs: st.mtimeNs, text: buf.toString('latin1', 0, n) };
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * Removes a stale lock without removing a live one; false if another waiter is removing it
   * (the caller waits its turn). Two waiters may judge the same file stale, and the first may
   * already have broken it and made its own lock, which the second must not remove. So
   * waiters break a lock one at a time, each holding the lock's breaker file
   * (`<path>.break`, created as the lock is), and remove the lock only if it is still the
   * file judged stale: holders remove only their own lock, and the owner of a stale one is
   * gone, so nothing can replace it between that check and the unlink.
   */
  private breakStale(seen: Seen): boolean {
    const breaker = `${this.path}.break`;
    const mine = this.create(breaker);
    if (mine === null) {
      const other = this.look(breaker);
      if (other !== null && isStale(parseOwner(other.text), ageMs(other), this.self, this.alive)) this.removeAside(breaker, other);
      return false;
    }
    try {
      this.unlinkIfSame(this.path, seen, 'cannot remove stale lock: ');
    } finally {
      this.unlinkIfSame(breaker, mine);
    }
    return true;
  }

  /**
   * Removes the breaker file of a waiter that died while breaking a lock (a window of a few
   * system calls). Two waiters may judge it stale at once: the file is renamed to a name of
   * our own, checked to be the one judged stale, and linked back if it is not (unless yet
   * another appeared meanwhile: then two waiters can break locks at once, and even then
   * only a lock still found stale is removed).
   */
  private removeAside(p: string, seen: Seen): void {
    // node:crypto loaded here, when a breaker is found stale: loading it cost every run ~1-3 ms of start-up.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { randomBytes } = require('node:crypto') as typeof import('node:crypto');
    const aside = `${p}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      fs.renameSync(p, aside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // another waiter removed it
      throw new LockFileError(this.path, `cannot remove stale lock: ${strerror(e)}`);
    }
    try {
      const moved = this.look(aside);
      if (moved !== null && !sameFile(moved, seen)) {
        try {
          fs.linkSync(aside, p);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new LockFileError(this.path, strerror(e));
        }
      }
    } finally {
      fs.rmSync(aside, { force: true });
    }
  }
}
