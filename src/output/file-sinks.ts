import type { Flow } from '../flow/flow';
import type { FlowSink, SinkFactory } from '../flow/sink';
import { FlowFileStore, readClosedFile } from './flow-files';
import { outdirPrefix, Template } from './template';

export interface FileSinksConfig {
  outdir: string;
  template: string;
  /** Descriptors this worker may keep open (its share of -f). */
  maxOpenFiles: number;
  /** -I: a `<flow file>.findx` index of every write. */
  findx: boolean;
  /** Debug level 5 messages (file created, reopened, closed), or null when not wanted. */
  onDebug: ((message: string) => void) | null;
  /** --resume: where every file is named before it is created (FlowFileStore). */
  createdLog?: string | null;
}

/** Flow files: each flow that stores a byte gets a file named by the template, in the output directory. */
export class FileSinks implements SinkFactory {
  readonly store: FlowFileStore;
  private readonly template: Template;
  private readonly prefix: string;

  constructor(private readonly config: FileSinksConfig) {
    this.store = new FlowFileStore(config.maxOpenFiles, config.onDebug, config.createdLog ?? null);
    this.template = new Template(config.template);
    this.prefix = outdirPrefix(config.outdir);
  }

  open(flow: Flow): FlowSink {
    return this.store.create(this.prefix, this.template, flow, this.config.findx);
  }

  nameOf(): null {
    return null; // a flow that stored nothing has no file
  }

  readClosed(name: string, pos: number, len: number): Uint8Array {
    return readClosedFile(name, pos, len); // the name is the path
  }
}
