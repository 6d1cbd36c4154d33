import type { HttpBodyListener } from './http-body-listener';
import { httpScanner } from './http/http-scanner';
import type { InflateLimits } from './http/inflate';
import { md5Scanner } from './md5';
import type { Scanner } from './scanner';

/** What scanners are told about the run (workers get it in their WorkerConfig). */
export interface ScannerSettings {
  /** http: decode gzip, deflate and br bodies (false with -Z). */
  httpDecompress: boolean;
  httpLimits: InflateLimits;
}

const NO_LISTENER: HttpBodyListener = { opened: () => undefined, closed: () => undefined };

/**
 * The scanners tcpflow-ts has, by their -e name, made for one worker (a scanner may keep
 * state across the worker's flows: http pairs a connection's two directions).
 */
export function createScanners(names: readonly string[], settings: ScannerSettings, httpBodies: HttpBodyListener = NO_LISTENER): Scanner[] {
  return names.map((name) => {
    if (name === md5Scanner.name) return md5Scanner;
    if (name === 'http') return httpScanner({ decompress: settings.httpDecompress, limits: settings.httpLimits, listener: httpBodies });
    throw new Error(`internal: no scanner named ${name}`);
  });
}
