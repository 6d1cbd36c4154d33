/**
 * `tcpflow-ts merge-reports [-o merged] [--jsonl merged.jsonl] report...`: the command line
 * of the subcommand (GNU getopt rules, as the main command), then src/report/merge.ts.
 */
import { EXIT, TcpflowError } from '../src/errors';
import { getopt } from './getopt';
import { help } from './options';

export const MERGE_COMMAND = 'merge-reports';

export type MergeCommand =
  | { kind: 'help'; text: string }
  | { kind: 'merge'; inputs: string[]; out: string | null; jsonlOut: string | null };

function usage(message: string): TcpflowError {
  return new TcpflowError('USAGE', `merge-reports: ${message}`, EXIT.USAGE);
}

/** The words after `merge-reports`. Throws a usage TcpflowError. */
export function parseMergeCommand(argv: readonly string[]): MergeCommand {
  let parsed;
  try {
    parsed = getopt(argv, 'ho:', [
      { name: 'help', hasArg: false, opt: 'h' },
      { name: 'jsonl', hasArg: true, opt: 'jsonl' },
      { name: 'output', hasArg: true, opt: 'o' },
    ]);
  } catch (e) {
    throw usage((e as Error).message);
  }
  let out: string | null = null, jsonlOut: string | null = null;
  for (const { opt, arg } of parsed.options) {
    if (opt === 'h') return { kind: 'help', text: help().mergeHelpText() };
    if (opt === 'o') {
      if (out !== null) throw usage('-o given twice');
      out = arg as string;
    }
    if (opt === 'jsonl') {
      if (jsonlOut !== null) throw usage('--jsonl given twice');
      jsonlOut = arg as string;
    }
  }
  if (out === null && jsonlOut === null) throw usage('no output: give -o FILE (DFXML) and/or --jsonl FILE');
  if (parsed.operands.length === 0) throw usage('no reports to merge');
  if (out !== null && out === jsonlOut) throw usage(`-o and --jsonl both name ${out}`);
  for (const target of [out, jsonlOut]) {
    if (target !== null && parsed.operands.includes(target)) throw usage(`${target} is both an input and the output`);
  }
  return { kind: 'merge', inputs: parsed.operands, out, jsonlOut };
}
