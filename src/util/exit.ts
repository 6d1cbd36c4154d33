import { nativeFiles } from '../output/native-files';

/**
 * End the process with `code`, as process.exit() does ('exit' listeners first), but without
 * its shutdown of V8's platform when the addon native/tcpflow-ts-files is there: that
 * shutdown joins V8's worker threads, and a concurrent compile job waiting in one of them
 * for the main thread to collect garbage never finishes. The run then hangs after its last
 * word, for good (nodejs/node#54918, open for Node 20; 4 runs in ~2,000 of a small capture
 * here on a loaded machine, once in CI). Everything a run writes is written synchronously
 * by then (flow files, reports, standard output and pino's logs), so nothing is lost.
 *
 * Left to process.exit(): without the addon (the hang stays possible), with
 * TCPFLOW_TS_NATIVE_FILES=0, and when Node has profiles or coverage to write at exit.
 */
export function exitProcess(code: number): never {
  const native = fastExitAllowed() ? nativeFiles() : null;
  // Registered last: it runs after every other 'exit' listener, as process.exit() would end then.
  if (native !== null) process.once('exit', (c: number) => native.exitNow(c));
  process.exit(code);
}

function fastExitAllowed(): boolean {
  if (process.env.TCPFLOW_TS_NATIVE_FILES === '0' || process.env.NODE_V8_COVERAGE !== undefined) return false;
  const flags = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
  return !/--(cpu-prof|heap-prof|prof)\b/.test(flags);
}
