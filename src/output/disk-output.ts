import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import type { Flow } from '../flow/flow';
import type { FlowOutput, SavedFlow } from '../flow/tcpdemux';
import { FlowFileStore, outputError } from './flow-files';
import { outdirPrefix, Template } from './template';
import { renderFileobject } from '../report/fileobject';
import type { FragmentWriter } from '../report/fragments';

export interface DiskOutputConfig {
  outdir: string;
  template: string;
  maxOpenFiles: number;
  md5: boolean;
  /** -I: a `<flow file>.findx` index of every write. */
  findx: boolean;
  /** Debug level 5 messages (file created, reopened, closed), or null when not wanted. */
  onDebug?: ((message: string) => void) | null;
}

/** Index lines kept in memory per flow before they are appended to its .findx file. */
const FINDX_FLUSH = 64 * 1024;

/** Flow files on disk, plus what happens when a flow closes (hash, report record). */
export class DiskOutput implements FlowOutput {
  readonly store: FlowFileStore;
  private readonly template: Template;
  private readonly prefix: string;

  constructor(private readonly config: DiskOutputConfig, private readonly report: FragmentWriter | null) {
    this.store = new FlowFileStore(config.maxOpenFiles, config.onDebug ?? null);
    this.template = new Template(config.template);
    this.prefix = outdirPrefix(config.outdir);
  }

  open(flow: Flow): void {
    if (flow.file.path === null) {
      const ff = flow.file;
      this.store.create(ff, (count) => this.prefix + this.template.expand(flow, count));
      if (ff.path !== null) this.config.onDebug?.(`${ff.path}: created new file`);
      if (this.config.findx && ff.path !== null) this.writeFindx(ff.path, '', 'w');
    } else {
      this.store.use(flow.file);
    }
  }

  write(flow: Flow, pos: number, data: Uint8Array, off: number, len: number): void {
    this.store.write(flow.file, pos, data, off, len);
    if (this.config.findx) {
      const ff = flow.file;
      ff.findx += `${pos}|${flow.lastSec}.${String(flow.lastUsec).padStart(6, '0')}|${len}\n`;
      if (ff.findx.length >= FINDX_FLUSH) this.flushFindx(flow);
    }
  }

  shiftUp(flow: Flow, shift: number, limit: number): void {
    this.store.shiftUp(flow.file, shift, flow.lastByte, limit);
    if (this.config.findx && flow.file.path !== null) {
      // The index keeps pointing at the same bytes after they moved (spec B5).
      this.flushFindx(flow);
      const p = flow.file.path + '.findx';
      const text = fs.readFileSync(p, 'latin1');
      this.writeFindx(flow.file.path, text.replace(/^(\d+)\|/gm, (_m, o: string) => `${Number(o) + shift}|`), 'w');
    }
  }

  touch(flow: Flow): void {
    this.store.touch(flow.file);
  }

  savedEquals(saved: SavedFlow, pos: number, data: Uint8Array, off: number, len: number): boolean {
    if (saved.path === null) return false;
    let fd = -1;
    try {
      fd = fs.openSync(saved.path, 'r');
      const b = Buffer.allocUnsafe(len);
      const n = fs.readSync(fd, b, 0, len, pos);
      return n === len && Buffer.compare(b, data.subarray(off, off + len)) === 0;
    } catch {
      return false;
    } finally {
      if (fd >= 0) fs.closeSync(fd);
    }
  }

  closed(flow: Flow, closePacket: number): void {
    const ff = flow.file;
    let md5: string | null = null;
    try {
      if (ff.path !== null) {
        // Every flow with a file gets its hash, small or repetitive ones too (spec B11).
        try {
          if (this.config.md5) md5 = this.hashFile(flow);
        } finally {
          this.store.close(ff);
          this.config.onDebug?.(`${ff.path}: closing file in tcpip::close_file`);
        }
        if (this.config.findx) this.flushFindx(flow);
      }
    } finally {
      // The flow is reported even when its file could not be completed.
      this.report?.add(closePacket, flow.firstPacket, renderFileobject(flow, md5));
    }
  }

  private flushFindx(flow: Flow): void {
    const ff = flow.file;
    if (ff.findx.length === 0 || ff.path === null) return;
    this.writeFindx(ff.path, ff.findx, 'a');
    ff.findx = '';
  }

  private writeFindx(flowPath: string, text: string, flag: 'w' | 'a'): void {
    const p = flowPath + '.findx';
    try {
      fs.writeFileSync(p, text, { flag, encoding: 'latin1' });
    } catch (e) {
      throw outputError(p, e);
    }
  }

  private hashFile(flow: Flow): string {
    const h = createHash('md5');
    const step = 1 << 20;
    for (let pos = 0; ; pos += step) {
      const b = this.store.read(flow.file, pos, step);
      h.update(b);
      if (b.length < step) break;
    }
    return h.digest('hex');
  }
}
