import type { ConsoleOptions } from '../../cli/options';
import type { Flow } from '../flow/flow';
import type { FlowOutput, SavedFlow } from '../flow/tcpdemux';
import { renderConsole } from './console';
import { outdirPrefix, Template } from './template';
import { renderFileobject } from '../report/fileobject';
import type { FragmentWriter } from '../report/fragments';

/** What one worker printed for one chunk: packet numbers and their text, in packet order. */
export interface ConsoleBatch {
  packets: number[];
  text: string[];
}

/**
 * The FlowOutput of console modes (-c, -C): nothing goes to disk; each payload becomes
 * a piece of text tagged with its packet number, so the coordinator can print the
 * pieces of all workers in arrival order.
 */
export class ConsoleOutput implements FlowOutput {
  private readonly template: Template;
  private readonly prefix: string;
  private batch: ConsoleBatch = { packets: [], text: [] };

  constructor(private readonly options: ConsoleOptions, outdir: string, template: string,
    private readonly report: FragmentWriter | null) {
    this.template = new Template(template);
    this.prefix = outdirPrefix(outdir);
  }

  /** The name a flow would get (count 0: console mode never looks at the disk). */
  private name(flow: Flow): string {
    return this.prefix + this.template.expand(flow, 0);
  }

  print(flow: Flow, packetNo: number, data: Uint8Array, off: number, len: number): void {
    this.batch.packets.push(packetNo);
    this.batch.text.push(renderConsole(this.options, flow, this.name(flow), data, off, len));
  }

  /** Hand over what was printed since the last call (null if nothing). */
  take(): ConsoleBatch | null {
    if (this.batch.packets.length === 0) return null;
    const b = this.batch;
    this.batch = { packets: [], text: [] };
    return b;
  }

  open(): void { /* nothing is stored */ }
  write(): void { /* nothing is stored */ }
  shiftUp(): void { /* nothing is stored */ }
  touch(): void { /* no files to keep open */ }
  savedEquals(_s: SavedFlow): boolean { return false; }

  closed(flow: Flow, closePacket: number): void {
    if (this.report === null) return;
    // In console mode the report names the file that would have been written.
    this.report.add(closePacket, flow.firstPacket, renderFileobject(flow, null, this.name(flow)));
  }
}
