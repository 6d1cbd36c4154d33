import type { HttpBodyListener } from './http-body-listener';
import type { InflateLimits } from './http/inflate';
import { jsScanner, type PluginFunction } from './js-plugin';
import { md5Scanner, sha256Scanner } from './md5';
import type { Scanner } from './scanner';

/** What scanners are told about the run (workers get it in their WorkerConfig). */
export interface ScannerSettings {
  /** http: decode gzip, deflate and br bodies (false with -Z). */
  httpDecompress: boolean;
  httpLimits: InflateLimits;
}

const NO_LISTENER: HttpBodyListener = { opened: () => undefined, closed: () => undefined };

/**
 * The content scanners tcpflow-ts has, by name (-e md5, http, js; sha256 comes from -S
 * hash), made for one worker (a scanner may keep state across the worker's flows: http
 * pairs a connection's two directions). `plugin` is the js scanner's function, loaded
 * from its module by the worker; netviz sees packets, not flows (src/netviz/).
 */
export function createScanners(names: readonly string[], settings: ScannerSettings, httpBodies: HttpBodyListener = NO_LISTENER,
  plugin: PluginFunction | null = null): Scanner[] {
  return names.map((name) => {
    if (name === md5Scanner.name) return md5Scanner;
    if (name === sha256Scanner.name) return sha256Scanner;
    // Loaded here: runs without -e http do not load the parser and its tables.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    if (name === 'http') return (require('./http/http-scanner') as typeof import('./http/http-scanner')).httpScanner({ decompress: settings.httpDecompress, limits: settings.httpLimits, listener: httpBodies });
    if (name === 'js' && plugin !== null) return jsScanner(plugin);
    throw new Error(`internal: no scanner named ${name}${name === 'js' ? ' without its plugin function' : ''}`);
  });
}
