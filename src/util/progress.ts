import * as fs from 'node:fs';

/**
 * A one-line progress display on stderr for long runs on a terminal: input number,
 * name, percentage of the file read, rate and packets. Redrawn at most 5 times a
 * second and only when stderr is a TTY, so logs and pipes never see it.
 */
export class Progress {
  private last = 0;
  private shown = false;
  private readonly started = Date.now();
  private bytesBefore = 0;

  constructor(private readonly enabled: boolean, private readonly inputs: number) {}

  static forStderr(debugLevel: number, inputs: number): Progress {
    return new Progress(debugLevel >= 1 && process.stderr.isTTY === true, inputs);
  }

  /** Report that `bytes` of input `index` (0-based, size `size` or 0 if unknown) are read. */
  update(index: number, file: string, bytes: number, size: number, packets: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 200) return;
    this.last = now;
    const secs = Math.max(0.001, (now - this.started) / 1000);
    const total = this.bytesBefore + bytes;
    const pct = size > 0 ? ` ${Math.min(100, Math.floor((bytes * 100) / size))}%` : '';
    const line = `[${index + 1}/${this.inputs}] ${file}${pct}  ${(total / 1e6 / secs).toFixed(0)} MB/s  ${packets.toLocaleString('en-US')} packets`;
    fs.writeSync(2, `\r\x1b[K${line}`);
    this.shown = true;
  }

  /** An input is finished: its bytes count towards the overall rate. */
  fileDone(bytes: number): void {
    this.bytesBefore += bytes;
  }

  /** Erase the line before anything else is printed and at the end. */
  clear(): void {
    if (!this.shown) return;
    fs.writeSync(2, '\r\x1b[K');
    this.shown = false;
  }
}

/**
 * Live capture's one-line status on a terminal: packets/s, flow files open, packets lost
 * (kernel, interface, and ours when the workers fall behind).
 */
export class LiveStatus {
  private shown = false;
  private lastPackets = 0;
  private lastAt = Date.now();

  constructor(private readonly enabled: boolean, private readonly device: string) {}

  static forStderr(debugLevel: number, device: string): LiveStatus {
    return new LiveStatus(debugLevel >= 1 && process.stderr.isTTY === true, device);
  }

  update(s: { captured: number; dropped: number; ifdropped: number; backlogDropped: number }, openFiles: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    const rate = ((s.captured - this.lastPackets) * 1000) / Math.max(1, now - this.lastAt);
    this.lastPackets = s.captured;
    this.lastAt = now;
    const lost = s.dropped + s.ifdropped + s.backlogDropped;
    const line = `${this.device}: ${s.captured.toLocaleString('en-US')} packets  ${Math.round(rate).toLocaleString('en-US')} packets/s  ` +
      `${openFiles} flow files open  ${lost.toLocaleString('en-US')} dropped`;
    fs.writeSync(2, `\r\x1b[K${line}`);
    this.shown = true;
  }

  clear(): void {
    if (!this.shown) return;
    fs.writeSync(2, '\r\x1b[K');
    this.shown = false;
  }
}
