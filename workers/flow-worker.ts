import type { FromWorker, ToWorker, WorkerTask } from '../src/shard/protocol';
import { WorkerSession } from '../src/shard/worker-session';
import { createLogger } from '../src/util/log';
import { loadPlugin } from '../src/scanners/js-plugin';
import { preloadModules } from '../src/util/chroot';
import { fullCollector } from '../src/util/heap';

/** Chunks (4 MiB of input each) between full collections of the worker's heap (src/util/heap.ts). */
const COLLECT_EVERY = 64;

const SLOW_MS = Number(/^worker-slow:(\d+)$/.exec(process.env.TCPFLOW_TS_FAULT ?? '')?.[1] ?? 0);

/**
 * Piscina task: one long-lived task per worker thread. It owns a shard of the flows and
 * answers the coordinator's messages on its port until 'end', whose answer (the result)
 * is the last message; the task then settles.
 */
export default async function flowWorker(task: WorkerTask): Promise<void> {
  const { port, slots, config } = task;
  // The port keeps the coordinator's messages until a listener is attached. The main
  // thread loaded the module once already, so a failure here is not the user's.
  if (config.preload === true) preloadModules();
  const plugin = config.plugin === null ? null : await loadPlugin(config.plugin);
  const session = new WorkerSession(slots, config, createLogger(config.debugLevel), null, plugin);
  // Looked up when first needed: --expose-gc is set once every thread has booted (src/run.ts).
  let collect: (() => void) | null = null;
  let chunks = 0;
  return new Promise((resolve) => {
    port.on('message', (msg: ToWorker) => {
      if (msg.type === 'chunk') {
        if (++chunks % COLLECT_EVERY === 0) (collect ??= fullCollector())?.();
        // Fault injection for the tests: this worker thread dies as a crash would, or never
        // answers again (blocked, without spinning).
        if (config.index === 0) {
          if (process.env.TCPFLOW_TS_FAULT === 'worker-exit') process.exit(70);
          if (process.env.TCPFLOW_TS_FAULT === 'worker-hang') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
        }
        // ... or every worker takes MS more per chunk (scripts/bench-live-rss.sh: workers slower than the link).
        if (SLOW_MS > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, SLOW_MS);
      }
      session.handle(msg, (m, transfer) => {
        port.postMessage(m, transfer);
        if (m.type === 'result') resolve();
      });
    });
    port.postMessage({ type: 'booted' } satisfies FromWorker);
  });
}
