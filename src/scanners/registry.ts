import { md5Scanner } from './md5';
import type { Scanner } from './scanner';

/** The scanners tcpflow-ts has, by their -e name. */
const SCANNERS: ReadonlyMap<string, Scanner> = new Map([[md5Scanner.name, md5Scanner]]);

export function scannerNamed(name: string): Scanner {
  const s = SCANNERS.get(name);
  if (s === undefined) throw new Error(`internal: no scanner named ${name}`);
  return s;
}
