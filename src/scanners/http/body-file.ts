import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';

const BUFFER_BYTES = 64 * 1024;

/**
 * One -HTTPBODY- file being written. Bytes are gathered in a small buffer and appended
 * with a short-lived descriptor, so bodies of any number of open flows hold no descriptor
 * between writes (the flow files' -f budget stays theirs). Created (truncated, 0644) when
 * the body starts, as tcpflow does; `finish` removes it again when it stayed empty.
 */
export class BodyFile {
  private buf: Buffer | null = null;
  private used = 0;
  private written = 0;
  /** The first error writing the file (a full disk): later bytes are dropped, the size stays what is on disk. */
  error: string | null = null;

  constructor(readonly path: string) {
    this.withFd('w', () => undefined);
  }

  /** Bytes written so far (on disk or buffered). */
  get size(): number {
    return this.written + this.used;
  }

  append(bytes: Uint8Array): void {
    if (this.error !== null || bytes.length === 0) return;
    if (this.used + bytes.length > BUFFER_BYTES) this.flush();
    if (bytes.length >= BUFFER_BYTES) {
      this.withFd('a', (fd) => writeAll(fd, bytes));
      if (this.error === null) this.written += bytes.length;
      return;
    }
    this.buf ??= Buffer.allocUnsafe(BUFFER_BYTES);
    this.buf.set(bytes, this.used);
    this.used += bytes.length;
  }

  /** The body is complete: flush it, or delete the file when nothing was written. Returns the size. */
  finish(): number {
    this.flush();
    this.buf = null;
    if (this.written === 0) removeFile(this.path);
    return this.written;
  }

  /** Drop the body: its file is removed whatever it holds. */
  discard(): void {
    this.buf = null;
    this.used = 0;
    this.written = 0;
    this.finish();
  }

  private flush(): void {
    if (this.used === 0 || this.buf === null) return;
    const bytes = this.buf.subarray(0, this.used);
    this.used = 0;
    this.withFd('a', (fd) => writeAll(fd, bytes));
    if (this.error === null) this.written += bytes.length;
  }

  private withFd(flags: 'w' | 'a', f: (fd: number) => void): void {
    if (this.error !== null) return;
    let fd = -1;
    try {
      fd = openSync(this.path, flags, 0o644);
      f(fd);
    } catch (e) {
      this.error = `cannot write ${this.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
    } finally {
      if (fd >= 0) closeSync(fd);
    }
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, bytes.length - off);
}

/** Remove a body file; one that was never created (an error was recorded) or is already gone is no error. */
export function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Nothing to remove.
  }
}
