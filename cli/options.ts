/**
 * Command line → validated Options. getopt.ts tokenises argv with tcpflow's GNU rules; its
 * list of options gives the fields (commandFields). What depends on the order of options (-V exiting early,
 * -S errors, refusing options not implemented yet, bad numbers) is decided on the getopt list,
 * which keeps command-line order, so the first mistake on the line is the one reported.
 */
import * as fs from 'node:fs';
import { availableParallelism } from 'node:os';
import { EXIT, TcpflowError } from '../src/errors';
import { getopt, GetoptOption } from './getopt';
import { DEFAULT_INFLATE_LIMITS } from '../src/scanners/http/inflate';
import {
  ALERT_FD_RANGE, DECOMPRESS_RANGE, HTTP_MAX_BODY_RANGE, HTTP_MAX_RATIO_RANGE, MAX_FLOWS_RANGE, NETVIZ_ADDRESSES_RANGE, PACKET_BUFFER_TIMEOUT_RANGE,
  TCP_TIMEOUT_RANGE,
  WHOLE_NUMBER_OPTIONS, wholeNumber,
} from './values';
import { selectScanners, type ScannerCommand } from '../src/scanners/selection';
import { DEFAULT_PLUGIN_FUNCTION } from '../src/scanners/js-plugin';
import { DEFAULT_NETVIZ_ADDRESSES } from '../src/netviz/collector';
import type { Features } from './usage';
import { shellWord } from '../src/util/shell';
import type { ConsoleOptions, NamingStep, Options } from '../src/options';
import { DEFAULT_MAX_SEEK } from '../src/flow/tcpdemux';
import { DEFAULT_MAX_FLOWS } from '../src/flow/buckets';
import { DEFAULT_MAX_DECOMPRESSED, DEFAULT_MAX_RATIO } from '../src/capture/decompress';
import { parseShard, shardFromEnvironment, type ShardSlice } from '../src/shard/slice';

export type { ConsoleOptions, NamingStep, Options };

/** The -V and -h texts: rendered by a module a run does not initialise (README, Start-up). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const help = (): typeof import('./help') => require('./help') as typeof import('./help');

let paramNames: ReadonlySet<string> | undefined;
/**
 * The -S names tcpflow-ts documents (cli/usage.ts): the option table is loaded when a run
 * has -S (a plain run does not initialise its ~20 kB).
 */
function knownParams(): ReadonlySet<string> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  paramNames ??= new Set((require('./usage') as typeof import('./usage')).PARAMS.map((p) => p.name));
  return paramNames;
}

/** `text` goes to stdout as is (it ends with a newline); the exit status is 0 for both, unless stdout is closed. */
export type ParsedCommand =
  | { kind: 'help'; level: number; text: string }
  | { kind: 'version'; text: string }
  | { kind: 'run'; options: Options };

/**
 * Features parsed but not implemented yet. Using one is an error, never silently ignored.
 * To implement an option: delete it here, map it in CANONICAL, add a field to TcpflowCommand
 * and to Options, check its description in usage.ts, then `npm run man` (-h and the man page
 * drop their "not implemented yet" by themselves).
 */
export const NOT_IMPLEMENTED: ReadonlySet<string> = new Set<string>([]);

/** Names -e, -E and -x accept (tcpflow 1.6.1 with wifi support, and the js plugin scanner), and those that work. */
export const SCANNER_NAMES: readonly string[] = ['md5', 'http', 'netviz', 'tcpdemux', 'wifiviz', 'js', 'all'];
export const IMPLEMENTED_SCANNERS: ReadonlySet<string> = new Set(['md5', 'http', 'netviz', 'tcpdemux', 'js', 'all']);

/**
 * tcpflow's -S parameters whose feature is missing (the wifiviz scanner, live capture):
 * refused like options, as accepting them would silently change nothing. Names tcpflow
 * does not know stay accepted, as in tcpflow, with a warning.
 */
export const NOT_IMPLEMENTED_PARAMS: ReadonlySet<string> = new Set([
  'check_fcs',
]);

/** Digests -S hash may name. */
export const HASH_NAMES: readonly string[] = ['md5', 'sha256'];

/** -S hash=LIST: the digests named, each once. */
export function hashParam(text: string | undefined): string[] {
  if (text === undefined) return [];
  const names = text.split(',');
  for (const n of names) {
    if (!HASH_NAMES.includes(n)) {
      throw new TcpflowError('USAGE', `-S hash: '${text}' is not a list of ${HASH_NAMES.join(', ')} (comma-separated)`, EXIT.USAGE);
    }
  }
  return [...new Set(names)];
}

/** -S tcp_alert_fd / http_alert_fd: a descriptor, or null for -1 (tcpflow's "none"). */
export function alertFdParam(name: string, text: string | undefined): number | null {
  return text === undefined || text === '-1' ? null : wholeNumber(`-S ${name}`, text, ALERT_FD_RANGE);
}

/** What -h and the man page mark as not implemented yet. */
export const FEATURES: Features = {
  notImplemented: NOT_IMPLEMENTED,
  notImplementedParams: NOT_IMPLEMENTED_PARAMS,
  implementedScanners: IMPLEMENTED_SCANNERS,
};

/**
 * The implemented options' values as parseCommandLine reads them: a flag is true when
 * given, a value is the last one given, a list holds every one in command-line order.
 */
export interface CommandFields {
  readFiles: string[];
  finishFiles: string[];
  listFiles: boolean;
  device?: string;
  noPromisc: boolean;
  user?: string;
  chroot?: string;
  outdir: string;
  reportPath?: string;
  // Whole numbers arrive checked (wholeNumber, on the getopt list).
  debugLevel: string;
  quiet: boolean;
  maxFds?: string;
  workers?: string;
  jsonl?: string;
  sortInputs: boolean;
  shard?: string;
  shards?: string;
  resume: boolean;
  params: string[];
  operands: string[];
  maxBytes?: string;
  maxSeek?: string;
  findx: boolean;
  unprocessedPath?: string;
  keepPcaps: boolean;
  templates: string[];
  formats: string[];
  consoleMode: boolean;
  consoleBare: boolean;
  hex: boolean;
  color: boolean;
  strip: boolean;
  binary: boolean;
  noNewline: boolean;
  json: boolean;
  lock?: string;
  noDecompress: boolean;
}

type FieldsOf<V> = { [K in keyof CommandFields]-?: CommandFields[K] extends V ? K : never }[keyof CommandFields];
/** Where a getopt option goes: a flag, a value (`is`: this one instead of the argument) or a list. */
export type Canonical = { flag: FieldsOf<boolean> } | { value: FieldsOf<string | undefined>; is?: string } | { list: FieldsOf<string[]> };

/**
 * getopt option → its field. -v is exactly "-d 10", so both set debugLevel and the last one
 * wins, as in tcpflow. -h and -V never get here (they are handled on the getopt list).
 * null: accepted and without effect.
 */
export const CANONICAL: Readonly<Record<string, Canonical | null>> = {
  r: { list: 'readFiles' },
  R: { list: 'finishFiles' },
  l: { flag: 'listFiles' },
  i: { value: 'device' },
  p: { flag: 'noPromisc' },
  U: { value: 'user' },
  z: { value: 'chroot' },
  o: { value: 'outdir' },
  X: { value: 'reportPath' },
  d: { value: 'debugLevel' },
  v: { value: 'debugLevel', is: '10' },
  q: { flag: 'quiet' },
  f: { value: 'maxFds' },
  // -e, -E, -x and -a are applied in command-line order from the getopt list (selectScanners).
  e: null,
  E: null,
  x: null,
  a: null,
  S: { list: 'params' },
  workers: { value: 'workers' },
  jsonl: { value: 'jsonl' },
  'sort-inputs': { flag: 'sortInputs' },
  shard: { value: 'shard' },
  shards: { value: 'shards' },
  resume: { flag: 'resume' },
  b: { value: 'maxBytes' },
  m: { value: 'maxSeek' },
  I: { flag: 'findx' },
  w: { value: 'unprocessedPath' },
  K: { flag: 'keepPcaps' },
  // -T and -F are applied in command-line order from the getopt list (naming steps).
  T: { list: 'templates' },
  F: { list: 'formats' },
  c: { flag: 'consoleMode' },
  C: { flag: 'consoleBare' },
  D: { flag: 'hex' },
  g: { flag: 'color' },
  s: { flag: 'strip' },
  B: { flag: 'binary' },
  0: { flag: 'noNewline' },
  J: { flag: 'json' },
  L: { value: 'lock' },
  Z: { flag: 'noDecompress' },
  // -P "no purge" (in the man page, refused by 1.6.1's getopt): accepted and ignored; flows
  // are always purged from memory when they close, as in tcpflow 1.6.1.
  P: null,
  // -A x: deprecated; tcpflow 1.6.1 says so and goes on (the warning is issued in order).
  A: null,
};

/**
 * -S splits on '=' like C++ getline: a trailing empty field does not count. It must then give
 * exactly a name and a value (`=b` is fine: empty name; `a=`, `a`, `a=b=c` are not).
 */
export function splitParam(arg: string): [string, string] {
  const fields = arg.split('=');
  if (fields[fields.length - 1] === '') fields.pop();
  if (fields.length !== 2) throw new TcpflowError('USAGE', `Invalid paramter: ${arg}`, EXIT.USAGE); // sic
  return [fields[0], fields[1]];
}

/** -S http_max_body / http_max_ratio (the http scanner's decompression limits), default DEFAULT_INFLATE_LIMITS. */
/** -S max_flows=N (the open-flow cap), default DEFAULT_MAX_FLOWS. */
export function maxFlowsParam(text: string | undefined): number {
  return text === undefined ? DEFAULT_MAX_FLOWS : wholeNumber('-S max_flows', text, MAX_FLOWS_RANGE);
}

/** Whole-number -S parameters other than max_flows: their ranges and defaults. */
const NUMBER_PARAMS: Readonly<Record<string, { range: typeof MAX_FLOWS_RANGE; dflt: number }>> = {
  tcp_timeout: { range: TCP_TIMEOUT_RANGE, dflt: 0 },
  decompress_max_bytes: { range: DECOMPRESS_RANGE, dflt: DEFAULT_MAX_DECOMPRESSED },
  decompress_max_ratio: { range: DECOMPRESS_RANGE, dflt: DEFAULT_MAX_RATIO },
  http_max_body: { range: HTTP_MAX_BODY_RANGE, dflt: DEFAULT_INFLATE_LIMITS.maxBytes },
  http_max_ratio: { range: HTTP_MAX_RATIO_RANGE, dflt: DEFAULT_INFLATE_LIMITS.maxRatio },
  // libpcap's live read timeout in milliseconds (tcpflow's default 10)
  'packet-buffer-timeout': { range: PACKET_BUFFER_TIMEOUT_RANGE, dflt: 10 },
  netviz_histogram_size: { range: NETVIZ_ADDRESSES_RANGE, dflt: DEFAULT_NETVIZ_ADDRESSES },
  netviz_histogram_dump: { range: { min: 0, max: 2 ** 31 - 1 }, dflt: 0 },
};

/** A whole-number -S parameter of NUMBER_PARAMS: its value, checked, or its default. */
export function numberParam(name: keyof typeof NUMBER_PARAMS, text: string | undefined): number {
  const p = NUMBER_PARAMS[name];
  return text === undefined ? p.dflt : wholeNumber(`-S ${name}`, text, p.range);
}

/**
 * The fields of the getopt list and the operands. getopt.ts has split the words by tcpflow's
 * rules, so what is left is a rename: a clipanion Command did it, through its own parser's
 * state machine (48 nodes, 1,300 transitions) over words made here, and its option specs,
 * ~2.5 ms and ~230 kB of short-lived objects of every run, and ~35 kB of code initialised
 * (README, Start-up).
 */
export function commandFields(options: readonly GetoptOption[], operands: readonly string[]): CommandFields {
  const f: CommandFields = {
    readFiles: [], finishFiles: [], listFiles: false, noPromisc: false, outdir: '.', debugLevel: '1', quiet: false,
    sortInputs: false, resume: false, params: [], operands: [...operands], findx: false, keepPcaps: false, templates: [],
    formats: [], consoleMode: false, consoleBare: false, hex: false, color: false, strip: false, binary: false,
    noNewline: false, json: false, noDecompress: false,
  };
  for (const { opt, arg } of options) {
    const c = CANONICAL[opt];
    if (c === null) continue;
    if (c === undefined) throw new Error(`internal: option ${opt} is neither implemented nor refused`);
    if ('flag' in c) {
      f[c.flag] = true;
      continue;
    }
    const value = 'value' in c ? c.is ?? arg : arg;
    if (value === undefined) throw new Error(`internal: option ${opt} has no argument`);
    if ('list' in c) f[c.list].push(value);
    else f[c.value] = value;
  }
  return f;
}

/**
 * `tcpflow-ts x.pcap`: without -r, -R or -l, tcpflow reads operands as a filter expression
 * for a live capture (and so do we), which is never what an existing file name means unless
 * an interface is named with -i (then the operands are taken as the expression they are).
 */
function suggestInputs(operands: readonly string[]): void {
  const files = operands.filter((o) => fs.statSync(o, { throwIfNoEntry: false })?.isFile() ?? false);
  if (files.length === 0) return;
  const suggestion = files.map((f) => `-r ${shellWord(f)}`).join(' ');
  throw new TcpflowError('USAGE', `no input: operands are a filter expression unless -l is given; did you mean ${suggestion}?`, EXIT.USAGE);
}


function notImplemented(what: string): TcpflowError {
  return new TcpflowError('NOT_IMPLEMENTED', `${what} is not implemented yet`, EXIT.USAGE);
}

/** --shard K/N or --shards N (K from the environment); one of them, once. */
function shardOption(options: readonly GetoptOption[], env: NodeJS.ProcessEnv): ShardSlice | null {
  const given = options.filter((o) => o.opt === 'shard' || o.opt === 'shards');
  if (given.length === 0) return null;
  if (given.length > 1) {
    throw new TcpflowError('USAGE', `--${given[0].opt} ${given[0].arg} and --${given[1].opt} ${given[1].arg}: give one shard option, once`, EXIT.USAGE);
  }
  const { opt, arg = '' } = given[0];
  return opt === 'shard' ? parseShard(arg) : shardFromEnvironment(arg, env);
}

/**
 * -z DIR: what cannot work once the process is inside DIR is refused before anything runs.
 * A chroot while still root is no barrier (root can leave it), so -U is required as by
 * tcpflow. Only one input: the others would be looked up inside DIR (tcpflow's behaviour,
 * and a surprise). The filter child, -L's semaphore file and --resume's later runs need
 * files outside DIR.
 */
function chrootConflicts(dir: string, c: { user?: string; inputs: number; filter: boolean; lock?: string; resume: boolean }): void {
  if (c.user === undefined) {
    throw new TcpflowError('USAGE', `-z ${dir} requires -U USER: a chroot is no barrier to a process that stays root`, EXIT.INPUT);
  }
  const conflict = c.inputs > 1 ? 'more than one input file (the later ones would be looked up inside the new root): give one -r file, or capture live'
    : c.filter ? 'a filter expression on files (libpcap selects the records in a child process, which needs node outside the new root)'
      : c.lock !== undefined ? '-L (its lock file lives outside the new root)'
        : c.resume ? '--resume (the journal names files outside the new root)' : null;
  if (conflict !== null) throw new TcpflowError('USAGE', `-z ${dir} cannot be combined with ${conflict}`, EXIT.USAGE);
}

/**
 * Parses the user's arguments (process.argv.slice(2)). Throws TcpflowError (exit EXIT.USAGE).
 * `env` is read for --shards N only.
 */
export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ParsedCommand {
  const { options, operands } = getopt(argv);

  // What tcpflow does while parsing, in order: -V exits at once, -S is checked.
  const warnings: string[] = [];
  let helpLevel = 0;
  let scannerHelp = false;
  const unknownParams: string[] = [];
  for (const { opt, arg = '' } of options) {
    if (opt === 'V') return { kind: 'version', text: help().VERSION_TEXT };
    if (opt === 'h') helpLevel++;
    if (opt === 'H') scannerHelp = true;
    if (opt === 'S' && !knownParams().has(splitParam(arg)[0])) unknownParams.push(arg);
    if (opt === 'A') warnings.push('-A has been deprecated and is ignored');
  }
  // tcpflow loads its scanners, then answers -H, then -h (spec §1.7).
  if (scannerHelp) return { kind: 'help', level: 0, text: help().scannerHelpText(FEATURES, unknownParams) };
  // Help comes before refusing unimplemented options, so "-h -c" still shows help.
  if (helpLevel > 0) {
    const text = help().helpText(helpLevel, FEATURES);
    return { kind: 'help', level: helpLevel, text };
  }

  const scannerCommands: ScannerCommand[] = [];
  for (const { opt, arg = '' } of options) {
    if (NOT_IMPLEMENTED.has(opt)) throw notImplemented(`option -${opt}`);
    if (opt === 'e' || opt === 'E' || opt === 'x') {
      if (!SCANNER_NAMES.includes(arg)) throw new TcpflowError('USAGE', `Invalid scanner name '${arg}'`, EXIT.USAGE);
      // Turning off a scanner that does not work yet is harmless; asking for it is not.
      if (opt !== 'x' && !IMPLEMENTED_SCANNERS.has(arg)) throw notImplemented(`option -${opt} ${arg}`);
      scannerCommands.push({ op: opt === 'e' ? 'enable' : opt === 'E' ? 'only' : 'disable', name: arg });
    }
    if (opt === 'a') scannerCommands.push({ op: 'all' });
    // Every occurrence is checked, the overridden ones too: a mistake is never hidden.
    const range = WHOLE_NUMBER_OPTIONS[opt];
    if (range !== undefined) wholeNumber(opt.length === 1 ? `-${opt}` : `--${opt}`, arg, range);
    if (opt === 'S') {
      const [name, value] = splitParam(arg);
      if (NOT_IMPLEMENTED_PARAMS.has(name)) throw notImplemented(`-S ${name}`);
      if (name === 'max_flows') maxFlowsParam(value);
      if (Object.hasOwn(NUMBER_PARAMS, name)) numberParam(name, value);
      if (name === 'hash') hashParam(value);
      if (name === 'tcp_alert_fd' || name === 'http_alert_fd') alertFdParam(name, value);
      if (name === 'tdelta' && !/^[+-]?\d{1,15}$/.test(value)) {
        throw new TcpflowError('USAGE', `-S tdelta: '${value}' is not a whole number of seconds`, EXIT.USAGE);
      }
      // tcpflow keeps names it does not know without a word; a misspelt one would then do nothing unseen.
      if (!knownParams().has(name)) warnings.push(`-S ${name}: unknown parameter, ignored (known: ${[...knownParams()].join(', ')})`);
    }
  }

  const shard = shardOption(options, env);
  const cmd = commandFields(options, operands);
  const readFiles = cmd.listFiles ? [...cmd.readFiles, ...cmd.operands] : cmd.readFiles;
  const live = readFiles.length === 0 && cmd.finishFiles.length === 0;
  if (live && cmd.device === undefined) suggestInputs(cmd.operands);
  if (!live && cmd.device !== undefined) warnings.push(`-i ${cmd.device} ignored: input files are given (-r, -R or -l)`);
  if (!live && cmd.noPromisc) warnings.push('-p ignored: input files are given (-r, -R or -l)');
  if (cmd.chroot !== undefined) chrootConflicts(cmd.chroot, { user: cmd.user, inputs: readFiles.length + cmd.finishFiles.length, filter: !live && cmd.operands.length > 0 && !cmd.listFiles, lock: cmd.lock, resume: cmd.resume });
  const params: Record<string, string> = {};
  for (const p of cmd.params) {
    const [name, value] = splitParam(p);
    // defineProperty, so that "-S __proto__=x" is a parameter, not a prototype change.
    Object.defineProperty(params, name, { value, enumerable: true, writable: true, configurable: true });
  }
  const selection = selectScanners(scannerCommands, IMPLEMENTED_SCANNERS);
  if (selection.scanners.includes('js') && params.js_module === undefined) {
    throw new TcpflowError('USAGE', '-e js needs -S js_module=PATH: the module whose function runs on every flow', EXIT.USAGE);
  }
  if (!selection.scanners.includes('js')) {
    for (const name of ['js_module', 'js_function']) if (params[name] !== undefined) warnings.push(`-S ${name} ignored: the js scanner is not enabled (-e js)`);
  }
  return {
    kind: 'run',
    options: {
      readFiles,
      finishFiles: cmd.finishFiles,
      device: cmd.device ?? null,
      promiscuous: !cmd.noPromisc,
      user: cmd.user ?? null,
      chroot: cmd.chroot ?? null,
      packetBufferTimeout: numberParam('packet-buffer-timeout', params['packet-buffer-timeout']),
      outdir: cmd.outdir,
      reportPath: cmd.reportPath ?? null,
      debugLevel: Number(cmd.debugLevel),
      quiet: cmd.quiet,
      maxFds: cmd.maxFds === undefined ? null : Number(cmd.maxFds),
      workers: cmd.workers === undefined ? Math.min(availableParallelism(), WHOLE_NUMBER_OPTIONS.workers.max) : Number(cmd.workers),
      workersGiven: cmd.workers !== undefined,
      filter: cmd.listFiles || cmd.operands.length === 0 ? null : cmd.operands.join(' '),
      scanners: selection.scanners,
      tcpdemux: selection.tcpdemux,
      digests: hashParam(params.hash),
      plugin: selection.scanners.includes('js')
        ? { module: params.js_module, function: params.js_function ?? DEFAULT_PLUGIN_FUNCTION } : null,
      hooks: {
        tcpAlertFd: alertFdParam('tcp_alert_fd', params.tcp_alert_fd),
        tcpCmd: params.tcp_cmd ?? null,
        httpAlertFd: alertFdParam('http_alert_fd', params.http_alert_fd),
        httpCmd: params.http_cmd ?? null,
      },
      netviz: {
        maxAddresses: numberParam('netviz_histogram_size', params.netviz_histogram_size),
        dump: numberParam('netviz_histogram_dump', params.netviz_histogram_dump) !== 0,
      },
      params,
      warnings,
      maxBytes: cmd.maxBytes === undefined ? -1 : Number(cmd.maxBytes),
      maxSeek: cmd.maxSeek === undefined ? DEFAULT_MAX_SEEK : Number(cmd.maxSeek),
      findx: cmd.findx,
      unprocessedPath: cmd.unprocessedPath ?? null,
      keepPcaps: cmd.keepPcaps,
      maxFlows: maxFlowsParam(params.max_flows),
      tcpTimeout: numberParam('tcp_timeout', params.tcp_timeout),
      decompress: { maxBytes: numberParam('decompress_max_bytes', params.decompress_max_bytes), maxRatio: numberParam('decompress_max_ratio', params.decompress_max_ratio) },
      sortInputs: cmd.sortInputs,
      jsonlPath: cmd.jsonl ?? null,
      decompressHttp: !cmd.noDecompress,
      httpMaxBody: numberParam('http_max_body', params.http_max_body),
      httpMaxRatio: numberParam('http_max_ratio', params.http_max_ratio),
      console: cmd.consoleMode || cmd.consoleBare
        ? { header: !cmd.consoleBare && !cmd.json, hex: cmd.hex, json: cmd.json, color: cmd.color, binary: cmd.binary, newline: !cmd.noNewline }
        : null,
      naming: options.flatMap((o): NamingStep[] => o.opt === 'T' ? [{ kind: 'template', value: o.arg ?? '' }]
        : o.opt === 'F' ? [{ kind: 'format', letters: o.arg ?? '' }] : []),
      lockName: cmd.lock ?? null,
      shard,
      resume: cmd.resume,
    },
  };
}
