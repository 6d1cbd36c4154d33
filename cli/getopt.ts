/**
 * A GNU getopt_long tokeniser. tcpflow parses its command line with getopt_long, so users
 * rely on its rules: bundled flags, "-Fk" and "-F k" alike, options after operands (GNU
 * permutation), "--" ending options, unambiguous prefixes of long options (options.ts types
 * the resulting list).
 * Pure: it reads no environment (GNU's POSIXLY_CORRECT is deliberately not honoured).
 */
import { EXIT, TcpflowError } from '../src/errors';

/** One option occurrence. `opt` is the short letter, or the long name of a long-only option. */
export interface GetoptOption {
  opt: string;
  arg?: string;
}

export interface GetoptResult {
  options: GetoptOption[]; // in command-line order
  operands: string[];      // in command-line order
}

export interface LongOption {
  name: string;
  hasArg: boolean;
  opt: string; // what GetoptOption.opt becomes
}

/**
 * tcpflow 1.6.1's option string (the duplicate "E:" is tcpflow's; harmless), plus -P, which
 * the man page documents ("no purge") but 1.6.1's getopt refuses.
 */
export const TCPFLOW_OPTSTRING = 'aA:Bb:cCd:DE:e:E:F:f:gHhIi:lL:m:o:PpqR:r:S:sT:U:Vvw:x:X:z:ZK0J';

export const TCPFLOW_LONGOPTS: readonly LongOption[] = [
  { name: 'chroot', hasArg: true, opt: 'z' },
  { name: 'help', hasArg: false, opt: 'h' },
  { name: 'relinquish-privileges', hasArg: true, opt: 'U' },
  { name: 'verbose', hasArg: false, opt: 'v' },
  { name: 'version', hasArg: false, opt: 'V' },
  { name: 'workers', hasArg: true, opt: 'workers' }, // ours, no short form
  { name: 'jsonl', hasArg: true, opt: 'jsonl' }, // ours, no short form
  { name: 'sort-inputs', hasArg: false, opt: 'sort-inputs' }, // ours, no short form
  { name: 'shard', hasArg: true, opt: 'shard' }, // ours
  { name: 'shards', hasArg: true, opt: 'shards' }, // ours
  { name: 'resume', hasArg: false, opt: 'resume' }, // ours
];

// Messages are glibc's, without its "argv[0]: " prefix (the caller adds the program name).
function usageError(message: string): TcpflowError {
  return new TcpflowError('USAGE', message, EXIT.USAGE);
}

/** letter → takes an argument. ':' only marks arguments, so it is never an option itself. */
function parseOptstring(optstring: string): Map<string, boolean> {
  const letters = new Map<string, boolean>();
  for (let i = 0; i < optstring.length; i++) {
    const c = optstring[i];
    if (c === ':') continue;
    letters.set(c, optstring[i + 1] === ':');
  }
  return letters;
}

/** An exact name wins; otherwise a prefix must select a single option, as in glibc, whose
 * messages quote the whole word (`shown`), "=value" included. */
function findLong(name: string, longopts: readonly LongOption[], shown: string): LongOption {
  const exact = longopts.find((l) => l.name === name);
  if (exact) return exact;
  const matches = longopts.filter((l) => l.name.startsWith(name));
  if (matches.length === 1) return matches[0];
  if (matches.length === 0) throw usageError(`unrecognized option '${shown}'`);
  const possibilities = matches.map((l) => `'--${l.name}'`).join(' ');
  throw usageError(`option '${shown}' is ambiguous; possibilities: ${possibilities}`);
}

export function getopt(
  argv: readonly string[],
  optstring: string = TCPFLOW_OPTSTRING,
  longopts: readonly LongOption[] = TCPFLOW_LONGOPTS,
): GetoptResult {
  const letters = parseOptstring(optstring);
  const options: GetoptOption[] = [];
  const operands: string[] = [];

  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (word === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (word === '-' || !word.startsWith('-')) {
      operands.push(word); // permutation: keep scanning for options after an operand
      continue;
    }
    if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      const name = eq < 0 ? word.slice(2) : word.slice(2, eq);
      const long = findLong(name, longopts, word);
      if (!long.hasArg) {
        if (eq >= 0) throw usageError(`option '--${long.name}' doesn't allow an argument`);
        options.push({ opt: long.opt });
      } else if (eq >= 0) {
        options.push({ opt: long.opt, arg: word.slice(eq + 1) });
      } else {
        if (i + 1 >= argv.length) throw usageError(`option '--${long.name}' requires an argument`);
        options.push({ opt: long.opt, arg: argv[++i] });
      }
      continue;
    }
    // A cluster of short options; the first one taking an argument ends it.
    for (let j = 1; j < word.length; j++) {
      const c = word[j];
      const hasArg = letters.get(c);
      if (hasArg === undefined) throw usageError(`invalid option -- '${c}'`);
      if (!hasArg) {
        options.push({ opt: c });
      } else if (j + 1 < word.length) {
        options.push({ opt: c, arg: word.slice(j + 1) });
        break;
      } else {
        // The next word is the argument even if it looks like an option ("-o -x", "-r -").
        if (i + 1 >= argv.length) throw usageError(`option requires an argument -- '${c}'`);
        options.push({ opt: c, arg: argv[++i] });
      }
    }
  }
  return { options, operands };
}
