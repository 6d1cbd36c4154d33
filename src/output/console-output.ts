import type { ConsoleOptions } from '../options';
import type { Flow } from '../flow/flow';
import type { FlowSink, SinkFactory } from '../flow/sink';
import { renderConsole } from './console';
import { outdirPrefix, Template } from './template';

/** What one worker printed for one chunk: packet numbers and their text, in packet order. */
export interface ConsoleBatch {
  packets: number[];
  text: string[];
}

/** A flow's console sink: each write becomes a piece of text tagged with the packet that brought it. */
class ConsoleSink implements FlowSink {
  constructor(private readonly owner: ConsoleSinks, private readonly flow: Flow, readonly name: string) {}

  write(_pos: number, data: Uint8Array, off: number, len: number): void {
    this.owner.print(this.flow, this.name, data, off, len);
  }

  shiftUp(): void { /* console output is never placed by sequence number */ }

  read(): Uint8Array {
    return new Uint8Array(0); // nothing is kept: a straggler never matches
  }

  close(): void {}
}

/**
 * The sinks of console modes (-c, -C): nothing goes to disk; each payload becomes a piece
 * of text tagged with its packet number, so the coordinator can print the pieces of all
 * workers in arrival order. Names are those the flows would have had as files (count 0:
 * console mode never looks at the disk).
 */
export class ConsoleSinks implements SinkFactory {
  private readonly template: Template;
  private readonly prefix: string;
  private batch: ConsoleBatch = { packets: [], text: [] };

  constructor(private readonly options: ConsoleOptions, outdir: string, template: string) {
    this.template = new Template(template);
    this.prefix = outdirPrefix(outdir);
  }

  open(flow: Flow): FlowSink {
    return new ConsoleSink(this, flow, this.nameOf(flow));
  }

  nameOf(flow: Flow): string {
    return this.prefix + this.template.expand(flow, 0);
  }

  readClosed(): Uint8Array {
    return new Uint8Array(0); // nothing is kept: a straggler never matches
  }

  print(flow: Flow, name: string, data: Uint8Array, off: number, len: number): void {
    this.batch.packets.push(flow.lastPacket);
    this.batch.text.push(renderConsole(this.options, flow, name, data, off, len));
  }

  /** Hand over what was printed since the last call (null if nothing). */
  take(): ConsoleBatch | null {
    if (this.batch.packets.length === 0) return null;
    const b = this.batch;
    this.batch = { packets: [], text: [] };
    return b;
  }
}
