import * as fs from 'node:fs';
import { TextBatch } from '../util/text-batch';

/** The two file operations the writer needs (a test can make them fail at will). */
export interface ReportIo {
  /** pwrite(2): bytes written, fewer only when the disk is filling up. */
  write(fd: number, b: Buffer, off: number, len: number, pos: number): number;
  truncate(fd: number, len: number): void;
}

const fsIo: ReportIo = {
  write: (fd, b, off, len, pos) => fs.writeSync(fd, b, off, len, pos),
  truncate: (fd, len) => fs.ftruncateSync(fd, len),
};

/**
 * Room taken for the records when the report is opened (about 550 records): on a disk
 * that fills up during the run they are written there, over allocated space.
 */
export const REPORT_RESERVE = 256 * 1024;

/**
 * Allocate room for the records by writing `bytes` blanks at `at`, as far as the disk
 * allows; returns the end of what was written.
 */
export function reserveSpace(fd: number, at: number, bytes: number, io: ReportIo = fsIo): number {
  const blank = Buffer.alloc(Math.min(bytes, 64 * 1024), 0x20);
  let end = at;
  try {
    while (end < at + bytes) {
      const n = io.write(fd, blank, 0, Math.min(blank.length, at + bytes - end), end);
      if (n <= 0) break;
      end += n;
    }
  } catch {
    // A disk already (nearly) full: whatever was reserved will do.
  }
  return end;
}

/** Records gathered into one write. */
const BATCH_BYTES = 1 << 20;
/** Sizes of the last records written, to give them back when the footer does not fit. */
const RECENT = 256;

/**
 * Writes the report's records and footer after its header so that the file is a
 * well-formed document even when the disk fills up on the way: a failed write is cut
 * back to the last whole record, the records that do not fit are counted (the footer can
 * say how many), and when even the footer does not fit the last records are given back
 * one by one, down to none, to make room for it.
 */
export class ReportWriter {
  /** End of the last whole record. */
  private pos: number;
  /** Records not yet written, and each one's size in bytes. */
  private readonly batch = new TextBatch(BATCH_BYTES);
  private sizes: number[] = [];
  private readonly recent = new Float64Array(RECENT);
  private recentCount = 0;
  /** Records in the file. */
  written = 0;
  /** The first write error, once there is one: records after it are not written. */
  error: unknown = null;

  /**
   * `start`: the end of the header; `reserved`: the end of the blanks after it, cut off
   * once the footer is written.
   */
  constructor(private readonly fd: number, private readonly start: number, private readonly reserved = start,
    private readonly io: ReportIo = fsIo) {
    this.pos = start;
  }

  /** Where the next record goes in the file. */
  get position(): number {
    return this.pos + this.batch.length;
  }

  add(record: string): void {
    if (this.error !== null) return;
    if (!this.batch.fits(record)) this.flush();
    this.sizes.push(this.batch.append(record));
  }

  /**
   * A record written straight into the batch: room for `max` bytes at `batch.length` of
   * `batch.bytes`, where the caller writes it, then added() with its end. Null after a
   * write error (the record is not written, as add() drops it).
   */
  room(max: number): TextBatch | null {
    if (this.error !== null) return null;
    if (!this.batch.room(max)) {
      this.flush();
      this.batch.room(max);
    }
    return this.batch;
  }

  /** The record room() made room for ends at `end`. */
  added(end: number): void {
    this.sizes.push(end - this.batch.length);
    this.batch.length = end;
  }

  /**
   * Write the footer after the records; `footer` gets the number of records written so
   * far (it may shrink while room is made). Throws the write error when not even the
   * footer alone fits; the file then ends after the header.
   */
  finish(footer: (written: number) => string): void {
    this.flush();
    for (;;) {
      const b = Buffer.from(footer(this.written));
      try {
        this.writeAt(b, 0, b.length, this.pos);
        // Unused reserve, or leftovers of earlier attempts, may lie beyond the footer.
        if (this.error !== null || this.pos + b.length < this.reserved) this.cut(this.pos + b.length);
        return;
      } catch (e) {
        this.error ??= e;
        if (this.written === 0) {
          this.cut(this.pos);
          throw e;
        }
        this.giveBack();
      }
    }
  }

  private flush(): void {
    const sizes = this.sizes;
    if (sizes.length === 0) return;
    const { bytes: b, length: n } = this.batch;
    this.sizes = [];
    this.batch.clear();
    try {
      this.writeAt(b, 0, n, this.pos);
      this.pos += n;
      for (const size of sizes) this.remember(size);
      return;
    } catch (e) {
      this.error = e;
      this.cut(this.pos);
    }
    // The disk filled up inside this batch: keep as many of its records as still fit.
    let off = 0;
    for (const size of sizes) {
      try {
        this.writeAt(b, off, size, this.pos);
      } catch {
        this.cut(this.pos);
        return;
      }
      off += size;
      this.pos += size;
      this.remember(size);
    }
  }

  private remember(size: number): void {
    this.recent[this.written % RECENT] = size;
    this.written++;
    this.recentCount = Math.min(this.recentCount + 1, RECENT);
  }

  /** Drop the last record written (or, past the remembered ones, all of them). */
  private giveBack(): void {
    if (this.recentCount > 0) {
      this.written--;
      this.recentCount--;
      this.pos -= this.recent[this.written % RECENT];
    } else {
      this.written = 0;
      this.pos = this.start;
    }
    this.cut(this.pos);
  }

  private cut(len: number): void {
    try {
      this.io.truncate(this.fd, len);
    } catch {
      // Nothing more to do: a later write at `len` overwrites what is there.
    }
  }

  private writeAt(b: Buffer, off: number, len: number, pos: number): void {
    while (len > 0) {
      const n = this.io.write(this.fd, b, off, len, pos);
      if (n <= 0) throw new Error('write made no progress');
      off += n; len -= n; pos += n;
    }
  }
}
