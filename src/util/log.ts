import * as fs from 'node:fs';
import pino from 'pino';

export type Logger = pino.Logger;

export const PROGRAM_NAME = 'tcpflow-ts';

/**
 * tcpflow's -d levels on pino's: 0 warnings and errors only, 1 (default) adds notices,
 * 2-9 debug detail, 10 and more (-v) everything.
 */
export function levelFor(debugLevel: number): pino.Level {
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
    fs.writeSync(2, `${PROGRAM_NAME}: ${msg.replace(/\n$/, '')}\n`);
  },
};

export function createLogger(debugLevel: number): Logger {
  const json = process.env.TCPFLOW_TS_LOG_JSON === '1';
  return pino(
    { level: levelFor(debugLevel), base: undefined, timestamp: json ? pino.stdTimeFunctions.isoTime : false },
    json ? pino.destination({ fd: 2, sync: true }) : humanStderr,
  );
}
