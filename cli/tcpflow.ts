import { parseCommandLine } from './options';
import { TcpflowError, EXIT } from '../src/errors';
import { createLogger, PROGRAM_NAME } from '../src/util/log';
import { run } from '../src/run';
import { writeStdout } from '../src/util/stdout';
import { exitProcess } from '../src/util/exit';
import { MERGE_COMMAND, parseMergeCommand } from './merge';

/**
 * Entry point: parse, run, exit with a meaningful status. Errors meant for users are one
 * line naming the file and the problem; anything else is a bug and says so.
 */
async function main(argv: string[]): Promise<number> {
  if (argv[0] === MERGE_COMMAND) return mergeMain(argv.slice(1));
  let cmd;
  try {
    cmd = parseCommandLine(argv);
  } catch (e) {
    if (e instanceof TcpflowError) {
      process.stderr.write(`${PROGRAM_NAME}: ${e.message}\n`);
      if (e.code === 'USAGE') process.stderr.write(`Try '${PROGRAM_NAME} --help' for more information.\n`);
      return e.exitCode;
    }
    throw e;
  }
  if (cmd.kind !== 'run') {
    try {
      writeStdout(cmd.text);
    } catch (e) {
      // `tcpflow-ts -hh | head -1`: the reader had all it wanted.
      if (e instanceof TcpflowError && e.code === 'STDOUT_CLOSED') return e.exitCode;
      throw e;
    }
    return EXIT.OK;
  }
  const opts = cmd.options;
  const log = createLogger(opts.debugLevel);
  for (const w of opts.warnings) log.warn(w);
  // node_pcap frees a live handle only when a packet arrives after close(), so its poller
  // would keep a quiet process alive: a live run exits explicitly (everything is written).
  try {
    return await run(opts, argv, log);
  } catch (e) {
    if (e instanceof TcpflowError) {
      log.error(e.message);
      return e.exitCode;
    }
    throw e;
  }
}

/** `tcpflow-ts merge-reports ...`: exit 0 merged, 1 bad report, 2 usage, 3 output error. */
function mergeMain(argv: string[]): number {
  const log = createLogger(1);
  try {
    const cmd = parseMergeCommand(argv);
    if (cmd.kind === 'help') {
      writeStdout(cmd.text);
      return EXIT.OK;
    }
    // Loaded for this subcommand only: a run does not initialise the merge's modules.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { mergeReports } = require('../src/report/merge') as typeof import('../src/report/merge');
    mergeReports(cmd, (w) => log.warn(w));
    return EXIT.OK;
  } catch (e) {
    if (!(e instanceof TcpflowError)) throw e;
    if (e.code === 'STDOUT_CLOSED') return e.exitCode;
    log.error(e.message);
    if (e.code === 'USAGE') process.stderr.write(`Try '${PROGRAM_NAME} merge-reports --help' for more information.\n`);
    return e.exitCode;
  }
}

/**
 * A bug: an exception nothing caught, thrown in the run's promise chain or in a callback of
 * its own (an unhandled rejection becomes one too). Said as one, with status 4 (Node's own
 * handler would say it with status 1, which here means a bad input), and the process ended
 * by exitProcess: Node's own exit path may hang (src/util/exit.ts).
 */
function internalError(e: unknown): never {
  process.stderr.write(`${PROGRAM_NAME}: internal error (please report): ${e instanceof Error ? e.stack : String(e)}\n`);
  // Worker threads (or a capture) may still hold the event loop: nothing will finish them now.
  exitProcess(EXIT.WORKER);
}

process.on('uncaughtException', internalError);
main(process.argv.slice(2)).then((code) => exitProcess(code), internalError);
