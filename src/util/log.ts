import * as fs from 'node:fs';
import type * as Pino from 'pino';

import { PROGRAM_NAME } from '../version';

export { PROGRAM_NAME };

type Level = 'error' | 'warn' | 'info' | 'debug' | 'trace';

/** What the code logs through: pino's level methods, with plain string messages. */
export interface Logger {
  error(msg: string): void;
  warn(msg: string): void;
  info(msg: string): void;
  debug(msg: string): void;
  trace(msg: string): void;
  isLevelEnabled(level: Level): boolean;
  /** tcpflow's -d level: messages of spec §6.6 are printed when it is at least theirs. */
  readonly debugLevel: number;
  /** A message of tcpflow debug level `n` (2-9 go out at pino's debug, 10 and more at trace). */
  at(n: number, msg: string): void;
}

/**
 * tcpflow's -d levels on pino's: 0 warnings and errors only, 1 (default) adds notices,
 * 2-9 debug detail, 10 and more (-v) everything.
 */
export function levelFor(debugLevel: number): Level {
  if (debugLevel <= 0) return 'warn';
  if (debugLevel === 1) return 'info';
  if (debugLevel < 10) return 'debug';
  return 'trace';
}

/**
 * tcpflow's look: `tcpflow-ts: message` lines on stderr, written synchronously (every line
 * of a message gets the prefix, so stderr stays `tcpflow-ts: ...` lines).
 */
function writeHuman(msg: string): void {
  try {
    fs.writeSync(2, msg.replace(/\n$/, '').split('\n').map((l) => `${PROGRAM_NAME}: ${l}\n`).join(''));
  } catch (e) {
    // Nobody reads stderr any more (`2>&1 | head`): the run goes on without its messages.
    if ((e as NodeJS.ErrnoException).code !== 'EPIPE') throw e;
  }
}

const RANK: Record<Level, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50 };

/**
 * Messages at the -d level's rank or above. TCPFLOW_TS_LOG_JSON=1: pino's JSON lines
 * (pino loaded on first use); otherwise tcpflow's text lines, written directly: going
 * through pino to print a message's text cost a small run ~15 ms of start-up for loading
 * it (pino, sonic-boom, assert ...), in every worker thread too.
 */
export function createLogger(debugLevel: number): Logger {
  const level = levelFor(debugLevel);
  const json = process.env.TCPFLOW_TS_LOG_JSON === '1';
  let real: Pino.Logger | null = null;
  const pinoLogger = (): Pino.Logger => {
    if (real === null) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const pino = require('pino') as typeof Pino.default;
      real = pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ fd: 2, sync: true }));
    }
    return real;
  };
  const emit = (l: Level, msg: string) => { if (json) pinoLogger()[l](msg); else writeHuman(msg); };
  const enabled = (l: Level) => RANK[l] >= RANK[level];
  const at = (l: Level) => (msg: string) => { if (enabled(l)) emit(l, msg); };
  const byNumber = (n: number, msg: string) => {
    if (debugLevel < n) return;
    emit(n >= 10 ? 'trace' : n >= 2 ? 'debug' : n === 1 ? 'info' : 'warn', msg);
  };
  return {
    error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), trace: at('trace'),
    isLevelEnabled: enabled, debugLevel, at: byNumber,
  };
}
