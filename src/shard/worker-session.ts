import type { Chunk } from '../capture/chunk';
import { errorInfo, type ErrorInfo } from '../errors';
import type { SinkFactory } from '../flow/sink';
import type { PluginFunction } from '../scanners/js-plugin';
import type { Logger } from '../util/log';
import type { FromWorker, ToWorker, WorkerConfig } from './protocol';
import { ShardProcessor } from './shard-processor';

export type Reply = (m: FromWorker, transfer: ArrayBuffer[]) => void;

/**
 * A worker's side of the protocol, whatever carries the messages (a thread's port, or a
 * direct call in-process): every chunk is answered by its release, 'end' by the result,
 * which is the last message. A failure while processing is reported at once and then at
 * the end; releases go on, so the coordinator never waits for a chunk in vain.
 */
export class WorkerSession {
  private readonly shard: ShardProcessor;
  private failure: ErrorInfo | null = null;

  constructor(private readonly slots: readonly Chunk[], config: WorkerConfig, log: Logger, sinks: SinkFactory | null = null,
    plugin: PluginFunction | null = null) {
    this.shard = new ShardProcessor(config, log, sinks, plugin);
  }

  /** The processor, for in-process tests that look at the record being processed. */
  get processor(): ShardProcessor {
    return this.shard;
  }

  handle(msg: ToWorker, reply: Reply): void {
    if (msg.type === 'end') {
      // The result waits for the flows' commands (tcp_cmd, http_cmd): none outlives the run.
      const result = this.shard.finish(this.failure);
      void this.shard.hooks.drain().then(() => {
        result.hooks = this.shard.hooks.stats();
        reply({ type: 'result', result }, []);
      });
      return;
    }
    if (msg.type === 'ready') {
      reply({ type: 'ready' }, []);
      return;
    }
    if (msg.type === 'checkpoint') {
      let checkpoint = null;
      if (this.failure === null) {
        try {
          checkpoint = this.shard.checkpoint(msg.seq);
        } catch (e) {
          this.failure = errorInfo(e);
          reply({ type: 'failed', ...this.failure }, []);
        }
      }
      reply({ type: 'checkpointed', checkpoint }, []);
      return;
    }
    if (this.failure === null) {
      try {
        this.shard.processChunk(this.slots[msg.slot], msg.records, msg.count, msg.base, msg.finishing, msg.size);
      } catch (e) {
        this.failure = errorInfo(e);
        reply({ type: 'failed', ...this.failure }, []);
        // What the chunk queued must still be written (or fail) before its memory is reused.
        try { this.shard.chunkDone(); } catch { /* the first error is the one reported */ }
      }
    }
    // Copied, not transferred (they are small): a transfer detaches their buffers, and V8
    // then drops the thread's optimised code that reads typed arrays (coordinator.ts, recordLists).
    reply(this.shard.release(msg.slot), []);
  }
}
