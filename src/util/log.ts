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
 * A synchronous stderr destination that prints `tcpflow-ts: message` lines, the way
 * tcpflow's messages look, instead of JSON (TCPFLOW_TS_LOG_JSON=1 keeps pino's JSON).
 */
const humanStderr = {
  write(line: string): void {
    let msg = line;
    try {
      const o = JSON.parse(line) as { msg?: string };
      msg = o.msg ?? line;
    } catch { /* not JSON: print as is */ }
    // Every line of a message gets the prefix, so stderr stays `tcpflow-ts: ...` lines.
    try {
      fs.writeSync(2, msg.replace(/\n$/, '').split('\n').map((l) => `${PROGRAM_NAME}: ${l}\n`).join(''));
    } catch (e) {
      // Nobody reads stderr any more (`2>&1 | head`): the run goes on without its messages.
      if ((e as NodeJS.ErrnoException).code !== 'EPIPE') throw e;
    }
  },
};

const RANK: Record<Level, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50 };

/**
 * A pino logger created on first use: most runs log nothing below the warning level,
 * and loading pino in every worker thread would cost start-up time for nothing.
 */
export function createLogger(debugLevel: number): Logger {
  const level = levelFor(debugLevel);
  let real: Pino.Logger | null = null;
  const get = (): Pino.Logger => {
    if (real === null) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const pino = require('pino') as typeof Pino.default;
      const json = process.env.TCPFLOW_TS_LOG_JSON === '1';
      real = pino(
        { level, base: undefined, timestamp: json ? pino.stdTimeFunctions.isoTime : false },
        json ? pino.destination({ fd: 2, sync: true }) : humanStderr,
      );
    }
    return real;
  };
  const enabled = (l: Level) => RANK[l] >= RANK[level];
  const at = (l: Level) => (msg: string) => { if (enabled(l)) get()[l](msg); };
  const byNumber = (n: number, msg: string) => {
    if (debugLevel < n) return;
    get()[n >= 10 ? 'trace' : n >= 2 ? 'debug' : n === 1 ? 'info' : 'warn'](msg);
  };
  return {
    error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), trace: at('trace'),
    isLevelEnabled: enabled, debugLevel, at: byNumber,
  };
}
