import * as fs from 'node:fs';

/** Where progress goes: a redrawn bar on a terminal, a periodic log line, or nowhere. */
export type ProgressMode = 'bar' | 'log' | 'off';

/** What the run knows at a point: the input being read and the totals so far. */
export interface ProgressState {
  /** Input being read, from 0. */
  file: number;
  name: string;
  /** Bytes of that input's file read so far (compressed bytes for a compressed file). */
  fileBytes: number;
  /** Packets read so far, all inputs. */
  packets: number;
  /** Flows open in the workers (as of their latest answers). */
  openFlows: number;
}

const BAR_EVERY_MS = 200;
const LOG_EVERY_MS = 10_000;

/**
 * Whether stderr is a terminal. process.stderr.isTTY sets up Node's stderr stream (loading
 * net and stream: ~2 ms of a small run's start-up, README Performance) although every
 * message is written with fs.writeSync; a file, a pipe, a socket or /dev/null is told by
 * an fstat, and only another character device is asked with isatty.
 */
export function stderrIsTerminal(): boolean {
  let st: fs.Stats;
  try {
    st = fs.fstatSync(2);
  } catch {
    return false;
  }
  if (!st.isCharacterDevice() || st.rdev === fs.statSync('/dev/null', { throwIfNoEntry: false })?.rdev) return false;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('node:tty') as typeof import('node:tty')).isatty(2);
}

/**
 * Progress over all inputs of a run: files done of total, bytes read of total, packets/s,
 * open flows and an estimate of the time left (from bytes: the rate so far over the bytes
 * still to read). On a terminal, one line of stderr redrawn at most 5 times a second;
 * at -d 2 and more, a log line every 10 s instead (it mixes with other messages); never
 * with -q, off a terminal below -d 2, nor at -d 0.
 */
export class Progress {
  private last = 0;
  private shown = false;
  private readonly started: number;
  /** Bytes of the inputs finished so far. */
  private bytesBefore = 0;

  constructor(readonly mode: ProgressMode, private readonly files: number, private readonly totalBytes: number,
    private readonly write: (text: string) => void, private readonly now: () => number = Date.now) {
    this.started = now();
  }

  /** The mode for a run's settings; `log` writes the periodic lines. */
  static forStderr(debugLevel: number, quiet: boolean, files: number, totalBytes: number, log: (line: string) => void): Progress {
    const mode: ProgressMode = quiet || debugLevel < 1 ? 'off' : debugLevel >= 2 ? 'log' : stderrIsTerminal() ? 'bar' : 'off';
    const write = mode === 'bar' ? (text: string) => { try { fs.writeSync(2, text); } catch { /* stderr gone: no progress */ } } : log;
    return new Progress(mode, files, totalBytes, write);
  }

  update(state: ProgressState): void {
    if (this.mode === 'off') return;
    const now = this.now();
    if (now - this.last < (this.mode === 'bar' ? BAR_EVERY_MS : LOG_EVERY_MS)) return;
    this.last = now;
    if (this.mode === 'bar') {
      const width = Math.max(40, (process.stderr.columns || 100) - 1);
      this.write(`\r\x1b[K${this.line(state, now, width)}`);
      this.shown = true;
    } else {
      this.write(`progress: ${this.line(state, now, 0)}`);
    }
  }

  /** An input is finished: its bytes count as read. */
  fileDone(bytes: number): void {
    this.bytesBefore += bytes;
  }

  /** Erase the bar before anything else is printed, and at the end. */
  clear(): void {
    if (!this.shown) return;
    this.write('\r\x1b[K');
    this.shown = false;
  }

  /** The text for `state`: a bar fitted to `width` columns, or (width 0) a log line. */
  line(state: ProgressState, now: number, width: number): string {
    const secs = Math.max(0.001, (now - this.started) / 1000);
    const done = this.bytesBefore + state.fileBytes;
    const total = this.totalBytes > 0 ? Math.max(this.totalBytes, done) : 0;
    const rate = done / secs;
    const pct = total > 0 ? Math.min(100, Math.floor((done * 100) / total)) : null;
    const eta = total > 0 && rate > 0 ? (total - done) / rate : null;
    const pps = Math.round(state.packets / secs);
    const parts = [
      `${Math.min(state.file + 1, this.files)}/${this.files} files`,
      total > 0 ? `${bytesText(done)} of ${bytesText(total)}${pct !== null ? ` (${pct}%)` : ''}` : bytesText(done),
      `${pps.toLocaleString('en-US')} packets/s`,
      `${state.openFlows.toLocaleString('en-US')} open flows`,
      eta !== null ? `ETA ${durationText(eta)}` : 'ETA unknown',
    ];
    if (width === 0) return `${parts.join(', ')}; reading ${state.name}`;
    const text = parts.join('  ');
    const room = width - text.length - 3;
    if (pct === null || room < 10) return text.slice(0, width);
    const barWidth = Math.min(30, room);
    const filled = Math.round((pct / 100) * barWidth);
    return `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${text}`.slice(0, width);
  }
}

function bytesText(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let u = 0;
  while (n >= 1000 && u < units.length - 1) { n /= 1000; u++; }
  return u === 0 ? `${n} B` : `${n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0)} ${units[u]}`;
}

function durationText(s: number): string {
  const t = Math.ceil(s);
  const h = Math.floor(t / 3600), m = Math.floor(t / 60) % 60, sec = t % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

/**
 * Live capture's one-line status on a terminal (not with -q or -d 0): packets, packets/s,
 * flows open, packets lost (kernel, interface, and ours when the workers fall behind).
 */
export class LiveStatus {
  private shown = false;
  private lastPackets = 0;
  private lastAt = Date.now();

  constructor(private enabled: boolean, private readonly device: string) {}

  static forStderr(debugLevel: number, quiet: boolean, device: string): LiveStatus {
    return new LiveStatus(!quiet && debugLevel >= 1 && stderrIsTerminal(), device);
  }

  update(s: { captured: number; dropped: number; ifdropped: number; backlogDropped: number }, openFlows: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    const rate = ((s.captured - this.lastPackets) * 1000) / Math.max(1, now - this.lastAt);
    this.lastPackets = s.captured;
    this.lastAt = now;
    const lost = s.dropped + s.ifdropped + s.backlogDropped;
    const line = `${this.device}: ${s.captured.toLocaleString('en-US')} packets  ${Math.round(rate).toLocaleString('en-US')} packets/s  ` +
      `${openFlows.toLocaleString('en-US')} flows open  ${lost.toLocaleString('en-US')} dropped`;
    this.write(`\r\x1b[K${line}`);
    this.shown = true;
  }

  clear(): void {
    if (!this.shown) return;
    this.write('\r\x1b[K');
    this.shown = false;
  }

  private write(text: string): void {
    try {
      fs.writeSync(2, text);
    } catch {
      // The terminal is gone (hung up): the capture goes on without its status line.
      this.enabled = false;
    }
  }
}
