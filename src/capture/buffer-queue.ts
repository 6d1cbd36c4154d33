/**
 * A stream's buffers as they arrive, read out in order into the caller's chunk: the
 * queue behind the decompressed input and the filter child's output.
 */
export class BufferQueue {
  private readonly parts: Buffer[] = [];
  private head = 0; // offset in parts[0]
  /** Bytes pushed and not yet read. */
  queued = 0;

  push(b: Buffer): void {
    this.parts.push(b);
    this.queued += b.length;
  }

  /** Moves up to `len` queued bytes to `dst` at `off`; returns how many (0 when none is queued). */
  read(dst: Uint8Array, off: number, len: number): number {
    let n = 0;
    while (n < len && this.parts.length > 0) {
      const b = this.parts[0];
      const take = Math.min(len - n, b.length - this.head);
      dst.set(b.subarray(this.head, this.head + take), off + n);
      n += take;
      this.head += take;
      if (this.head === b.length) {
        this.parts.shift();
        this.head = 0;
      }
    }
    this.queued -= n;
    return n;
  }
}
