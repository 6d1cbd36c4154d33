/**
 * Which scanners run (spec §1.4): -e, -E, -x and -a are applied in command-line order, and
 * -a queues "enable md5" after all of them, as tcpflow does (so `-a -x md5` still hashes).
 * tcpflow-ts differs where tcpflow's rule would lose work: `-E name` keeps tcpdemux, so
 * flows are still written (tcpflow's -E md5 writes nothing), and `all` means every
 * post-processing scanner, never tcpdemux, which only `-x tcpdemux` turns off.
 */

/** One -e/-E/-x/-a on the command line. */
export type ScannerCommand = { op: 'enable' | 'disable' | 'only'; name: string } | { op: 'all' };

/** Post-processing scanners in processing order (tcpflow's load order, then the plugin). */
export const POST_SCANNERS: readonly string[] = ['md5', 'http', 'netviz', 'wifiviz', 'js'];

/** What `all` and -a turn on: the built-in scanners that work (the js plugin must be named). */
export function allScanners(implemented: ReadonlySet<string>): string[] {
  return POST_SCANNERS.filter((n) => n !== 'js' && implemented.has(n));
}

export interface ScannerSelection {
  /** Enabled post-processing scanners, in processing order. */
  scanners: string[];
  /** TCP reassembly (the tcpdemux scanner): off only with -x tcpdemux. */
  tcpdemux: boolean;
}

/** The scanners that run after `commands`; `implemented` are the names that work (tcpdemux aside). */
export function selectScanners(commands: readonly ScannerCommand[], implemented: ReadonlySet<string>): ScannerSelection {
  const on = new Set<string>();
  let tcpdemux = true;
  let md5After = false;
  const all = allScanners(implemented);
  const set = (name: string, value: boolean) => {
    if (name === 'tcpdemux') tcpdemux = value;
    else if (name === 'all') for (const n of value ? all : POST_SCANNERS) value ? on.add(n) : on.delete(n);
    else if (value) on.add(name);
    else on.delete(name);
  };
  for (const c of commands) {
    if (c.op === 'all') {
      set('all', true);
      md5After = true;
    } else if (c.op === 'only') {
      on.clear();
      set(c.name, true);
    } else {
      set(c.name, c.op === 'enable');
    }
  }
  if (md5After) on.add('md5');
  return { scanners: POST_SCANNERS.filter((n) => on.has(n)), tcpdemux };
}
