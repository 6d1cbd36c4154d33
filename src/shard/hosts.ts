import * as path from 'node:path';
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

/**
 * What a worker thread runs: the task module's default export (workers/flow-worker.ts, or
 * the bundle's loader, workers/bundle-boot.ts) called with the task, which ends once its
 * result is sent; the thread then ends by itself when the coordinator closes its port.
 */
const THREAD_MAIN = `const { workerData } = require('node:worker_threads'); require(workerData.module).default(workerData.task);`;

/**
 * Worker threads (node:worker_threads), one long-lived task each, talking over a port of
 * its own. Until session 11 a piscina pool ran them: loading piscina took ~7-8 ms of the
 * main thread before the first thread was started, and its worker script (its modules,
 * the task module loaded through a promise) more in each thread; the pool's queueing,
 * resizing and idle timeouts are of no use to tasks that live as long as the run
 * (README, Performance).
 */
export class ThreadHost implements WorkerHost {
  private threads: import('node:worker_threads').Worker[] = [];

  start(n: number, slots: Chunk[], config: (i: number) => WorkerConfig, events: WorkerEvents): WorkerLink[] {
    // Loaded here: a run without threads (a small input) does not pay for them.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { MessageChannel, Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
    // From the bundle, its loader compiles it with V8's code cache (workers/bundle-boot.ts).
    const module = path.join(DIST_ROOT, BUNDLED ? 'workers/bundle-boot.js' : 'workers/flow-worker.js');
    return Array.from({ length: n }, (_, i) => {
      const { port1, port2 } = new MessageChannel();
      let answered = false, gone = false;
      const die = (e: unknown): void => {
        if (gone) return;
        gone = true;
        events.died(i, e);
      };
      port1.on('message', (m: FromWorker) => {
        if (m.type === 'result') answered = true;
        events.message(i, m);
      });
      const task: WorkerTask = { port: port2, slots, config: config(i) };
      const thread = new Worker(THREAD_MAIN, {
        eval: true,
        workerData: { module, task },
        transferList: [port2],
        // Node would record every descriptor a worker opens and closes in a set of its own
        // (to close them if the thread exits), ~2 % of a worker's time on many small flow
        // files; the workers close their files themselves and live as long as the run.
        trackUnmanagedFds: false,
      });
      // An exception nothing caught, or a module that did not load; a thread that ends
      // before its result (process.exit in it) dies too.
      thread.on('error', die);
      this.threads.push(thread);
      thread.on('exit', (code) => {
        if (!answered) die(new Error(`worker exited with code: ${code}`));
      });
      return {
        send: (msg, transfer) => port1.postMessage(msg, transfer),
        close: () => port1.close(),
        thread: true,
      };
    });
  }

  /**
   * After every worker's result: nothing is left to do in the threads. They are stopped
   * without waiting for them to end: a thread's end (its isolate and heap torn down) took
   * 20-26 ms on conc.pcap, while the run can write its reports; the process's end
   * (src/util/exit.ts) does not wait for them either, and with Node's shutdown deadlock
   * (nodejs/node#54918) a thread's end may never come.
   */
  async destroy(): Promise<void> {
    for (const t of this.threads) void t.terminate();
    this.threads = [];
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
