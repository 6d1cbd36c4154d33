import { closeSync, openSync, unlinkSync, writeSync, writevSync } from 'node:fs';

/** Bytes gathered before they are written. */
const BUFFER_BYTES = 64 * 1024;

/**
 * One -HTTPBODY- file being written. Bytes are gathered and written with a short-lived descriptor, so bodies of any
 * number of open flows hold no descriptor between writes (the flow files' -f budget stays
 * theirs), and a small body costs one open. The file is created (truncated, 0644) with
 * its first bytes; `finish` leaves no file when there were none.
 */
export class BodyFile {
  private pieces: Uint8Array[] = [];
  /** pieces[lent...] are the caller's memory (see lend), not yet copied; -1: none. */
  private lent = -1;
  private used = 0;
  private written = 0;
  private created = false;
  /** The first error writing the file (a full disk): later bytes are dropped, the size stays what is on disk. */
  error: string | null = null;

  constructor(readonly path: string) {}

  /** Bytes the caller may reuse as soon as this returns: copied. */
  append(bytes: Uint8Array): void {
    if (this.error !== null || bytes.length === 0) return;
    this.add(copyOf(bytes));
  }

  /**
   * Bytes that stay valid until the caller's next `settle()`: kept as they are, so a body
   * that ends before then (the usual small body, complete in one packet's data) is
   * written straight from where it lies, never copied.
   */
  lend(bytes: Uint8Array): void {
    if (this.error !== null || bytes.length === 0) return;
    if (this.lent < 0) this.lent = this.pieces.length;
    this.add(bytes);
  }

  /** The lent bytes are about to be reused: copy those still waiting to be written. */
  settle(): void {
    const pieces = this.pieces;
    if (this.lent < 0) return;
    for (let i = this.lent; i < pieces.length; i++) pieces[i] = copyOf(pieces[i]);
    this.lent = -1;
  }

  private add(bytes: Uint8Array): void {
    this.pieces.push(bytes);
    this.used += bytes.length;
    if (this.used >= BUFFER_BYTES) this.flush();
  }

  /** The body is complete: write what is gathered. Returns the size of the file (0: no file). */
  finish(): number {
    this.flush();
    return this.written;
  }

  /** Drop the body: its file is removed whatever it holds. */
  discard(): void {
    this.pieces = [];
    this.lent = -1;
    this.used = 0;
    if (this.created) removeFile(this.path);
    this.written = 0;
  }

  private flush(): void {
    if (this.used === 0) return;
    const pieces = this.pieces;
    this.pieces = [];
    this.lent = -1;
    this.used = 0;
    if (this.error !== null) return;
    let fd = -1;
    let done = 0;
    try {
      fd = openSync(this.path, this.created ? 'a' : 'w', 0o644);
      this.created = true;
      done = pieces.length === 1 ? writeSync(fd, pieces[0]) : writevSync(fd, pieces);
      // A short write (a nearly full disk): go on piece by piece until it fails.
      let skip = done;
      for (const p of pieces) {
        if (skip >= p.length) {
          skip -= p.length;
          continue;
        }
        for (let off = skip; off < p.length;) {
          const k = writeSync(fd, p, off, p.length - off);
          if (k <= 0) throw new Error('no room left');
          off += k;
          done += k;
        }
        skip = 0;
      }
    } catch (e) {
      this.error = `cannot write ${this.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
    } finally {
      this.written += done;
      if (fd >= 0) closeSync(fd);
    }
  }
}

/**
 * A copy of bytes about to be reused. Buffer.allocUnsafe carves small copies (a packet's
 * data) out of Node's shared pool: no ArrayBuffer of its own per copy, as slice() makes,
 * which cost the worker GC time when every body came in a few packets.
 */
export function copyOf(bytes: Uint8Array): Buffer {
  const copy = Buffer.allocUnsafe(bytes.length);
  copy.set(bytes);
  return copy;
}

/** Remove a body file; one already gone is no error. */
export function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Nothing to remove.
  }
}
