import { ShardProcessor } from '../src/shard/shard-processor';
import type { ToWorker, WorkerResult, WorkerTask } from '../src/shard/protocol';
import { errorInfo } from '../src/errors';
import { createLogger } from '../src/util/log';

/**
 * Piscina task: one long-lived task per worker thread. It owns a shard of the flows
 * and consumes chunk messages from its port until 'end', then resolves with its counters.
 */
export default function flowWorker(task: WorkerTask): Promise<WorkerResult> {
  const { port, slots, config } = task;
  const log = createLogger(config.debugLevel);
  const shard = new ShardProcessor(config, log);
  let failure: WorkerResult['error'] = null;
  return new Promise((resolve) => {
    port.on('message', (msg: ToWorker) => {
      if (msg.type === 'chunk') {
        // Fault injection for the tests: this worker thread dies as a crash would, or
        // never answers again (blocked, without spinning).
        if (process.env.TCPFLOW_TS_FAULT === 'worker-exit' && config.index === 0) process.exit(70);
        if (process.env.TCPFLOW_TS_FAULT === 'worker-hang' && config.index === 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
        if (failure === null) {
          try {
            shard.processChunk(slots[msg.slot], msg.records, msg.count, msg.base, msg.finishing);
          } catch (e) {
            failure = errorInfo(e);
            port.postMessage({ type: 'failed', ...failure });
          }
        }
        const unprocessed = shard.takeUnprocessed();
        port.postMessage({ type: 'release', slot: msg.slot, console: shard.takeConsole(), unprocessed },
          unprocessed !== null ? [unprocessed.buffer as ArrayBuffer] : []);
        return;
      }
      port.close();
      // finish() closes every flow and reports its own errors in the result.
      resolve(shard.finish(failure));
    });
  });
}
