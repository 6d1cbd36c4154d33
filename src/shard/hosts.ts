import * as path from 'node:path';
import type { Piscina } from 'piscina';
import type { Chunk } from '../capture/chunk';
import type { SinkFactory } from '../flow/sink';
import type { Logger } from '../util/log';
import { BUNDLED, DIST_ROOT } from '../util/dist';
import type { PluginFunction } from '../scanners/js-plugin';
import type { FromWorker, ToWorker, WorkerConfig, WorkerTask } from './protocol';
import { WorkerSession } from './worker-session';

/** The coordinator's line to one worker. */
export interface WorkerLink {
  send(msg: ToWorker, transfer: ArrayBuffer[]): void;
  close(): void;
  /** A thread of its own (it says when it has booted), or a session in this thread (its chunks are processed as they are sent). */
  readonly thread: boolean;
}

export interface WorkerEvents {
  /** A message of worker `i`, in the order the worker sent them. */
  message(i: number, m: FromWorker): void;
  /** Worker `i` is gone without its result (a dead thread). */
  died(i: number, e: unknown): void;
}

/** Where workers run: threads, or the coordinator's own thread. */
export interface WorkerHost {
  start(n: number, slots: Chunk[], config: (i: number) => WorkerConfig, events: WorkerEvents): WorkerLink[];
  destroy(): Promise<void>;
}

/** Worker threads (piscina), one long-lived task each, talking over a port of its own. */
export class ThreadHost implements WorkerHost {
  private pool: Piscina | null = null;
  private tasks: Promise<unknown>[] = [];

  start(n: number, slots: Chunk[], config: (i: number) => WorkerConfig, events: WorkerEvents): WorkerLink[] {
    // Loaded here: a run without threads (a small input) does not pay for them.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { MessageChannel } = require('node:worker_threads') as typeof import('node:worker_threads');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Piscina: Pool } = require('piscina') as typeof import('piscina');
    const pool = this.pool = new Pool({
      // From the bundle, its loader compiles it with V8's code cache (workers/bundle-boot.ts).
      filename: path.join(DIST_ROOT, BUNDLED ? 'workers/bundle-boot.js' : 'workers/flow-worker.js'),
      minThreads: n,
      maxThreads: n,
      concurrentTasksPerWorker: 1,
      idleTimeout: Infinity,
      // Tasks are long-lived and event driven: the worker's event loop must keep running.
      atomics: 'disabled',
      // Node would record every descriptor a worker opens and closes in a set of its own
      // (to close them if the thread exits), ~2 % of a worker's time on many small flow
      // files; the workers close their files themselves and live as long as the run.
      trackUnmanagedFds: false,
    });
    return Array.from({ length: n }, (_, i) => {
      const { port1, port2 } = new MessageChannel();
      port1.on('message', (m: FromWorker) => events.message(i, m));
      const task: WorkerTask = { port: port2, slots, config: config(i) };
      // A task settles after its result was sent; it rejects only when the thread dies.
      this.tasks.push((pool.run(task, { transferList: [port2] }) as Promise<void>).catch((e: unknown) => events.died(i, e)));
      return {
        send: (msg, transfer) => port1.postMessage(msg, transfer),
        close: () => port1.close(),
        thread: true,
      };
    });
  }

  /** After every worker's result: the tasks settle right after it (destroying earlier would fail them). */
  async destroy(): Promise<void> {
    await Promise.all(this.tasks);
    await this.pool?.destroy();
    this.pool = null;
  }
}

/**
 * Workers as sessions in the coordinator's thread: each chunk is processed when it is
 * sent, and the answers arrive as separate events, in order, as they would from a
 * thread. Runs on small inputs use it (src/shard/host-choice.ts: no thread start-up to
 * pay); the fuzzer runs the real coordinator and dispatch this way, with sinks of its
 * own (`sinks(i)`).
 */
export class InProcessHost implements WorkerHost {
  readonly sessions: WorkerSession[] = [];

  constructor(private readonly log: Logger, private readonly sinks: (i: number) => SinkFactory | null = () => null,
    private readonly plugin: PluginFunction | null = null) {}

  start(n: number, slots: Chunk[], config: (i: number) => WorkerConfig, events: WorkerEvents): WorkerLink[] {
    return Array.from({ length: n }, (_, i) => {
      const session = new WorkerSession(slots, config(i), this.log, this.sinks(i), this.plugin);
      this.sessions.push(session);
      return {
        send: (msg) => session.handle(msg, (m) => queueMicrotask(() => events.message(i, m))),
        close: () => {},
        thread: false,
      };
    });
  }

  async destroy(): Promise<void> {}
}

/**
 * The last worker as a session in the coordinator's thread, the others on threads: on a
 * machine with as many cores as workers, the main thread's spare time (it also reads,
 * dispatches and merges the records) goes to flows, and there is one isolate fewer to
 * boot, compile the hot code and collect garbage (README, Performance). The coordinator
 * sends each chunk to the workers in order, so the threads have their records before the
 * main thread works on its own; the bucket split gives the main session a smaller share
 * (src/shard/bucket-split.ts, src/shard/host-choice.ts).
 */
export class MixedHost implements WorkerHost {
  private readonly threads = new ThreadHost();
  private readonly main: InProcessHost;

  constructor(log: Logger) {
    this.main = new InProcessHost(log);
  }

  start(n: number, slots: Chunk[], config: (i: number) => WorkerConfig, events: WorkerEvents): WorkerLink[] {
    const last = n - 1;
    const links = this.threads.start(last, slots, config, events);
    links.push(...this.main.start(1, slots, () => config(last), {
      message: (_, m) => events.message(last, m),
      died: (_, e) => events.died(last, e),
    }));
    return links;
  }

  async destroy(): Promise<void> {
    await this.threads.destroy();
  }
}
