import type { Logger } from '../util/log';
import { shellWord } from '../util/shell';

/** tcpflow runs at most this many tcp_cmd / http_cmd children at once. */
export const MAX_CHILDREN = 10;

export interface CommandStats {
  run: number;
  failed: number;
}

/**
 * -S tcp_cmd=CMD / http_cmd=CMD: `CMD path` through /bin/sh for each file, as tcpflow's
 * system() call does, the path quoted as one word. At most `limit` run at once; the
 * rest wait in a queue, so the packet pipeline never waits for a command. A command that
 * cannot start, exits with a non-zero status or dies of a signal gets a warning and is
 * counted; `drain` resolves once every command has finished.
 */
export class CommandRunner {
  private readonly queue: string[] = [];
  private head = 0;
  private running = 0;
  private idle: (() => void) | null = null;
  readonly stats: CommandStats = { run: 0, failed: 0 };

  constructor(private readonly command: string, private readonly param: string, private readonly limit: number,
    private readonly log: Logger) {}

  run(path: string): void {
    this.queue.push(path);
    this.next();
  }

  /** Every command queued so far has finished. */
  drain(): Promise<void> {
    if (this.running === 0 && this.head === this.queue.length) return Promise.resolve();
    return new Promise((resolve) => { this.idle = resolve; });
  }

  private next(): void {
    while (this.running < this.limit && this.head < this.queue.length) {
      const path = this.queue[this.head++];
      if (this.head === this.queue.length) {
        this.queue.length = 0;
        this.head = 0;
      }
      this.start(path);
    }
    if (this.running === 0 && this.head === this.queue.length && this.idle !== null) {
      const idle = this.idle;
      this.idle = null;
      idle();
    }
  }

  private start(path: string): void {
    const line = `${this.command} ${shellWord(path)}`;
    this.running++;
    this.stats.run++;
    let settled = false;
    const done = (problem: string | null) => {
      if (settled) return;
      settled = true;
      this.running--;
      if (problem !== null) {
        this.stats.failed++;
        this.log.warn(`-S ${this.param}: '${line}' ${problem}`);
      }
      this.next();
    };
    // node:child_process loaded on the first command: it is ~1 ms of start-up (net, dgram ...).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { spawn } = require('node:child_process') as typeof import('node:child_process');
    const child = spawn('/bin/sh', ['-c', line], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', (e) => done(`could not be run: ${e.message}`));
    child.on('exit', (code, signal) => done(signal !== null ? `was killed by ${signal}` : code !== 0 ? `exited with status ${code}` : null));
  }
}
