/**
 * Strings encoded as UTF-8 one after another into one reused buffer, until its owner
 * writes them out and clears it: no Buffer per string, and no long string of thousands of
 * pieces that would outlive young-generation GCs.
 */
export class TextBatch {
  bytes: Buffer;
  /** Bytes used. */
  length = 0;

  constructor(size: number) {
    this.bytes = Buffer.allocUnsafe(size);
  }

  /** Whether `text` surely fits after what the batch holds (UTF-8 takes at most 3 bytes per UTF-16 code unit). */
  fits(text: string): boolean {
    return this.length + 3 * text.length <= this.bytes.length;
  }

  /**
   * Append `text` (the owner writes out and clears a batch it does not fit first); an
   * empty batch grows to take a string larger than it. Returns its size in bytes.
   */
  append(text: string): number {
    if (this.length === 0 && !this.fits(text)) this.bytes = Buffer.allocUnsafe(3 * text.length);
    const n = this.bytes.write(text, this.length);
    this.length += n;
    return n;
  }

  /**
   * Room for `n` more bytes written straight into `bytes` (the owner writes out and clears
   * a batch without it first): an empty batch grows to take them.
   */
  room(n: number): boolean {
    if (this.length + n <= this.bytes.length) return true;
    if (this.length === 0) this.bytes = Buffer.allocUnsafe(n);
    return this.length === 0;
  }

  clear(): void {
    this.length = 0;
  }
}
