import { DEFAULT_MAX_DECOMPRESSED, DEFAULT_MAX_RATIO } from '../../src/capture/decompress';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import {
  IMPLEMENTED_SCANNERS,
  NOT_IMPLEMENTED,
  NOT_IMPLEMENTED_PARAMS,
  Options,
  parseCommandLine,
  splitParam,
  CANONICAL,
  commandFields,
} from '../../cli/options';
import { getopt, TCPFLOW_LONGOPTS } from '../../cli/getopt';
import { TCPFLOW_OPTSTRING } from '../../cli/getopt';
import { EXIT, TcpflowError } from '../../src/errors';
import { DEFAULT_MAX_FLOWS } from '../../src/flow/buckets';
import { PARAMS } from '../../cli/usage';
import { makeTempDir, PCAP_DIR, pool, POOL_SIZE, removeDir, runCli } from '../helpers/corpus';

function run(argv: string[]): Options {
  const parsed = parseCommandLine(argv);
  assert.equal(parsed.kind, 'run');
  if (parsed.kind !== 'run') throw new Error('unreachable');
  return parsed.options;
}

function fails(argv: string[], code: TcpflowError['code'], message: string): void {
  assert.throws(
    () => parseCommandLine(argv),
    (e: unknown) => e instanceof TcpflowError && e.code === code && e.exitCode === EXIT.USAGE && e.message === message,
    `${JSON.stringify(argv)} should fail with ${message}`,
  );
}

test('defaults', () => {
  assert.deepEqual(run(['-r', 'f.pcap']), {
    readFiles: ['f.pcap'],
    finishFiles: [],
    device: null,
    promiscuous: true,
    user: null,
    chroot: null,
    packetBufferTimeout: 10,
    outdir: '.',
    reportPath: null,
    debugLevel: 1,
    quiet: false,
    maxFds: null,
    workers: Math.min(availableParallelism(), 256),
    workersGiven: false,
    filter: null,
    maxBytes: -1,
    maxSeek: 16777216,
    findx: false,
    unprocessedPath: null,
    keepPcaps: false,
    maxFlows: DEFAULT_MAX_FLOWS,
    tcpTimeout: 0,
    decompress: { maxBytes: DEFAULT_MAX_DECOMPRESSED, maxRatio: DEFAULT_MAX_RATIO },
    sortInputs: false,
    jsonlPath: null,
    naming: [],
    console: null,
    scanners: [],
    tcpdemux: true,
    digests: [],
    plugin: null,
    hooks: { tcpAlertFd: null, tcpCmd: null, httpAlertFd: null, httpCmd: null },
    netviz: { maxAddresses: 200_000, dump: false },
    params: {},
    warnings: [],
    lockName: null,
    decompressHttp: true,
    httpMaxBody: 268435456,
    httpMaxRatio: 100,
    shard: null,
    resume: false,
  });
});

test('-Z: http bodies are written as sent', () => {
  assert.equal(run(['-r', 'x', '-e', 'http', '-Z']).decompressHttp, false);
  // processing order, whatever the command-line order (src/scanners/selection.ts)
  assert.deepEqual(run(['-r', 'x', '-ehttp', '-e', 'md5']).scanners, ['md5', 'http']);
  const o = run(['-r', 'x', '-S', 'http_max_body=1000', '-S', 'http_max_ratio=7']);
  assert.deepEqual([o.httpMaxBody, o.httpMaxRatio, o.warnings], [1000, 7, []]);
  fails(['-r', 'x', '-S', 'http_max_body=0'], 'USAGE', "-S http_max_body: '0' is not a whole number from 1 to 9007199254740991");
  fails(['-r', 'x', '-S', 'http_max_ratio=1e3'], 'USAGE', "-S http_max_ratio: '1e3' is not a whole number from 1 to 1000000");
});

test('-L NAME: the lock name, kept as given (last one wins)', () => {
  assert.equal(run(['-r', 'x', '-c', '-L', 'name']).lockName, 'name');
  assert.equal(run(['-r', 'x', '-L', '/tmp/a.lock', '-L-odd']).lockName, '-odd');
  assert.equal(run(['-r', 'x', '-L', '']).lockName, '');
});

test('-w FILE and -K', () => {
  assert.equal(run(['-r', 'x', '-w', 'u.pcap']).unprocessedPath, 'u.pcap');
  assert.equal(run(['-r', 'x', '-w-', '-wlast']).unprocessedPath, 'last');
  assert.equal(run(['-r', 'x', '-K']).keepPcaps, true);
  assert.equal(run(['-r', 'x', '-cK']).keepPcaps, true);
});

test('-A x is deprecated: a warning, nothing else changes', () => {
  const { warnings, ...rest } = run(['-r', 'x', '-A', 'H', '-c']);
  assert.deepEqual(warnings, ['-A has been deprecated and is ignored']);
  assert.deepEqual({ ...run(['-r', 'x', '-c']), warnings }, { ...rest, warnings });
  assert.equal(run(['-AH', '-r', 'x', '-Ax']).warnings.length, 2);
});

test('-P is accepted and changes nothing', () => {
  for (const argv of [['-r', 'x'], ['-r', 'x', '-c', '-o', 'out'], ['-r', 'x', '-Fk', '-e', 'md5']]) {
    assert.deepEqual(run([...argv, '-P']), run(argv));
    assert.deepEqual(run(['-P', ...argv, '-PP']), run(argv));
  }
});

test('implemented options', () => {
  const o = run(['-r', 'a.pcap', '-r-', '-R', 'c.pcap', '-Rd.pcap', '-o', 'out', '-X', 'r.xml', '-q', '-f', '7', '-e', 'md5']);
  assert.deepEqual(o.readFiles, ['a.pcap', '-']);
  assert.deepEqual(o.finishFiles, ['c.pcap', 'd.pcap']);
  assert.equal(o.outdir, 'out');
  assert.equal(o.reportPath, 'r.xml');
  assert.equal(o.quiet, true);
  assert.equal(o.maxFds, 7);
  assert.deepEqual(o.scanners, ['md5']);
  // -R alone is an input too
  assert.deepEqual(run(['-R', 'x']).finishFiles, ['x']);
  // values that look like options, or are empty, are values
  assert.equal(run(['-r', 'x', '-o', '-dir']).outdir, '-dir');
  assert.equal(run(['-r', 'x', '-o', '']).outdir, '');
  assert.equal(run(['-r', 'x', '-o', 'a=b']).outdir, 'a=b');
  assert.equal(run(['-r', 'x', '-o', 'a', '-o', 'b']).outdir, 'b'); // last wins
});

test('bundling and interleaving reach the options', () => {
  const o = run(['-qr', 'f.pcap', 'port', '80', '-d3']);
  assert.deepEqual(o.readFiles, ['f.pcap']);
  assert.equal(o.quiet, true);
  assert.equal(o.debugLevel, 3);
  assert.equal(o.filter, 'port 80');
});

test('-d: a level from 0; -v is -d 10, last one wins', () => {
  assert.equal(run(['-r', 'x', '-d0']).debugLevel, 0);
  assert.equal(run(['-r', 'x', '-d', '5']).debugLevel, 5);
  assert.equal(run(['-r', 'x', '-d', '2147483647']).debugLevel, 2147483647);
  assert.equal(run(['-r', 'x', '-v']).debugLevel, 10);
  assert.equal(run(['-r', 'x', '--verbose']).debugLevel, 10);
  assert.equal(run(['-r', 'x', '-d', '5', '-v']).debugLevel, 10);
  assert.equal(run(['-r', 'x', '-v', '-d', '5']).debugLevel, 5);
  assert.equal(run(['-r', 'x', '-vd2']).debugLevel, 2);
  assert.deepEqual(run(['-r', 'x', '-d', '3']).warnings, []);
});

test('-f: at least 1', () => {
  assert.equal(run(['-r', 'x', '-f', '1']).maxFds, 1);
  assert.equal(run(['-r', 'x', '-f', '012']).maxFds, 12);
  assert.equal(run(['-r', 'x', '-f2147483647']).maxFds, 2147483647);
});

test('--workers: 1 to 256', () => {
  assert.equal(run(['-r', 'x', '--workers', '4']).workers, 4);
  assert.equal(run(['-r', 'x', '--workers=1']).workers, 1);
  assert.equal(run(['-r', 'x', '--work=256']).workers, 256);
});

/**
 * Every option taking a whole number, with values tcpflow's atoi read as something else
 * (`abc` → 0, `100x` → 100, `-5`, wrap-around past a C int) and values out of range: one
 * line naming the option as written and the value, exit status 2. [argv, message]
 */
const BAD_VALUES: readonly (readonly [readonly string[], string])[] = [
  ...(['-b', '-m', '-d', '-f'] as const).flatMap((o) => {
    const range = { '-b': '0 to 9007199254740991', '-m': '0 to 4294967295', '-d': '0 to 2147483647', '-f': '1 to 2147483647' }[o];
    return ['abc', '', '100x', 'x1', '-5', '-0', '+5', ' 5', '5 ', '1.5', '1e3', '0x10', '99999999999999999999']
      .map((v) => [[o, v], `${o}: '${v}' is not a whole number from ${range}`] as const);
  }),
  [['-b', '9007199254740992'], "-b: '9007199254740992' is not a whole number from 0 to 9007199254740991"],
  [['-m', '4294967296'], "-m: '4294967296' is not a whole number from 0 to 4294967295"],
  [['-m', '5000000000'], "-m: '5000000000' is not a whole number from 0 to 4294967295"],
  [['-f', '0'], "-f: '0' is not a whole number from 1 to 2147483647"],
  [['-f', '2147483648'], "-f: '2147483648' is not a whole number from 1 to 2147483647"],
  [['-d', '2147483648'], "-d: '2147483648' is not a whole number from 0 to 2147483647"],
  [['-babc'], "-b: 'abc' is not a whole number from 0 to 9007199254740991"],
  [['-qd-1'], "-d: '-1' is not a whole number from 0 to 2147483647"],
  // an overridden value is still checked, and the first mistake on the line is reported
  [['-b', 'abc', '-b', '100'], "-b: 'abc' is not a whole number from 0 to 9007199254740991"],
  [['-m', '1', '-f', '0', '-b', 'x'], "-f: '0' is not a whole number from 1 to 2147483647"],
  ...['0', '257', '-1', '2.5', 'abc', '', ' 3', '1e2', '+4'].map((v) =>
    [['--workers', v], `--workers: '${v}' is not a whole number from 1 to 256`] as const),
  [['--workers=0'], "--workers: '0' is not a whole number from 1 to 256"],
  [['--wor', '300'], "--workers: '300' is not a whole number from 1 to 256"],
  ...['0', '-5', '1e6', '1.5', 'many', ' 9', '99999999999999999999', '9007199254740992'].map((v) =>
    [['-S', `max_flows=${v}`], `-S max_flows: '${v}' is not a whole number from 1 to 9007199254740991`] as const),
  [['-S', 'max_flows=0', '-S', 'max_flows=7'], "-S max_flows: '0' is not a whole number from 1 to 9007199254740991"],
];

test('bad whole numbers: the exact message, exit status 2', () => {
  for (const [argv, message] of BAD_VALUES) fails(['-r', 'x', ...argv], 'USAGE', message);
});

test('bad whole numbers through the CLI: one line naming option and value, the --help hint, exit 2, nothing written', async () => {
  const dir = makeTempDir();
  try {
    // A third of the table (every option is in it): the messages themselves are checked above.
    const cases = BAD_VALUES.filter((_, i) => i % 3 === 0);
    await pool(cases, POOL_SIZE, async ([argv, message]) => {
      const r = await runCli(['-r', path.join(PCAP_DIR, 'tcpflow__test1.pcap'), '-o', 'out', ...argv], { cwd: dir });
      assert.equal(r.code, EXIT.USAGE, `${argv}`);
      assert.equal(r.stderr, `tcpflow-ts: ${message}\nTry 'tcpflow-ts --help' for more information.\n`);
      assert.equal(r.stdout.length, 0);
    });
    assert.deepEqual(fs.readdirSync(dir), []);
  } finally {
    removeDir(dir);
  }
});

test('values tcpflow accepts and means still work: -b 0, -m 0, -d 0, the bounds', () => {
  assert.equal(run(['-r', 'x', '-b', '0']).maxBytes, 0);
  assert.equal(run(['-r', 'x', '-b', '9007199254740991']).maxBytes, Number.MAX_SAFE_INTEGER);
  assert.equal(run(['-r', 'x', '-m', '0']).maxSeek, 0);
  assert.equal(run(['-r', 'x', '-m', '4294967295']).maxSeek, 4294967295);
  assert.equal(run(['-r', 'x', '-d', '0']).debugLevel, 0);
  assert.equal(run(['-r', 'x', '-S', 'max_flows=9007199254740991']).maxFlows, Number.MAX_SAFE_INTEGER);
});

test('-S name=value: exactly two fields, ignoring one trailing empty field', () => {
  assert.deepEqual(run(['-r', 'x', '-S', 'tdelta=5', '-Senable_report=NO']).params, { tdelta: '5', enable_report: 'NO' });
  assert.deepEqual(run(['-r', 'x', '-S', '=b']).params, { '': 'b' });
  assert.deepEqual(run(['-r', 'x', '-S', 'a=b=']).params, { a: 'b' });
  assert.deepEqual(run(['-r', 'x', '-S', 'a==']).params, { a: '' });
  assert.deepEqual(run(['-r', 'x', '-S', 'a=1', '-S', 'a=2']).params, { a: '2' });
  const proto = run(['-r', 'x', '-S', '__proto__=x']).params;
  assert.equal(Object.getPrototypeOf(proto), Object.prototype);
  assert.deepEqual(Object.entries(proto), [['__proto__', 'x']]);
  for (const bad of ['a=', 'a', 'a=b=c', '', '=']) {
    fails(['-r', 'x', '-S', bad], 'USAGE', `Invalid paramter: ${bad}`);
    assert.throws(() => splitParam(bad), TcpflowError);
  }
  assert.deepEqual(splitParam('=b'), ['', 'b']);
});

test('-S max_flows=N, default DEFAULT_MAX_FLOWS', () => {
  assert.equal(run(['-r', 'x', '-S', 'max_flows=640']).maxFlows, 640);
  assert.equal(run(['-r', 'x', '-S', 'max_flows=1']).maxFlows, 1);
  assert.equal(run(['-r', 'x', '-S', 'max_flows=5', '-S', 'max_flows=7']).maxFlows, 7);
  assert.equal(run(['-r', 'x']).maxFlows, DEFAULT_MAX_FLOWS);
  const help = parseCommandLine(['-hh']);
  assert.ok(help.kind === 'help' && help.text.includes(`\n   -S max_flows=${DEFAULT_MAX_FLOWS}    `), 'listed by -hh');
});

test('-l makes operands input files, after the -r files', () => {
  const o = run(['-l', 'a.pcap', '-r', 'r.pcap', 'b.pcap']);
  assert.deepEqual(o.readFiles, ['r.pcap', 'a.pcap', 'b.pcap']);
  assert.equal(o.filter, null);
  assert.deepEqual(run(['-l', 'only.pcap']).readFiles, ['only.pcap']);
  assert.deepEqual(run(['-l', '--', '-weird.pcap']).readFiles, ['-weird.pcap']);
});

test('filter: operands joined by single spaces, spaces inside an operand kept', () => {
  assert.equal(run(['-r', 'f', 'port   80', 'and', 'host', '10.0.0.1']).filter, 'port   80 and host 10.0.0.1');
  assert.equal(run(['-r', 'f', 'tcp']).filter, 'tcp');
  assert.equal(run(['-r', 'f', '--', '-x', '-']).filter, '-x -');
  assert.equal(run(['-r', 'f']).filter, null);
});

test('-V / --version name the program, its version and tcpflow 1.6.1', () => {
  const text = 'tcpflow-ts 0.1.0 (tcpflow 1.6.1 compatible)\n';
  assert.deepEqual(parseCommandLine(['-V']), { kind: 'version', text });
  assert.deepEqual(parseCommandLine(['-c', '--version', '-h']), { kind: 'version', text });
  // as in tcpflow, an -S error before -V is reported, one after is not reached
  fails(['-S', 'a', '-V'], 'USAGE', 'Invalid paramter: a');
  assert.equal(parseCommandLine(['-V', '-S', 'a']).kind, 'version');
});

test('every option is implemented now; -z needs -U and refuses what cannot work inside the new root', () => {
  assert.deepEqual([...NOT_IMPLEMENTED], []);
  assert.equal(run(['-r', 'x', '--relinquish-privileges=nobody']).user, 'nobody');
  assert.equal(run(['-r', 'x', '-U', 'nobody', '-z', '/srv/jail']).chroot, '/srv/jail');
  assert.equal(run(['-U', 'nobody', '--chroot', 'jail', '-i', 'eth0', 'port', '80']).chroot, 'jail');
  assert.equal(run(['-r', 'x']).chroot, null);
  // tcpflow: "-z option requires -U option", exit 1
  assert.throws(() => parseCommandLine(['-r', 'x', '-z', '/d']), (e: unknown) => e instanceof TcpflowError && e.exitCode === 1 &&
    e.message === '-z /d requires -U USER: a chroot is no barrier to a process that stays root');
  const conflict = (args: string[], what: string): void => fails(['-U', 'nobody', '-z', '/d', ...args], 'USAGE', `-z /d cannot be combined with ${what}`);
  conflict(['-r', 'a', '-r', 'b'], 'more than one input file (the later ones would be looked up inside the new root): give one -r file, or capture live');
  conflict(['-r', 'a', '-R', 'b'], 'more than one input file (the later ones would be looked up inside the new root): give one -r file, or capture live');
  conflict(['-r', 'a', 'port', '80'], 'a filter expression on files (libpcap selects the records in a child process, which needs node outside the new root)');
  conflict(['-r', 'a', '-L', 'x'], "-L (its lock file lives outside the new root)");
  conflict(['-r', 'a', '--resume'], '--resume (the journal names files outside the new root)');
  // a filter on a live capture is compiled in the process: allowed
  assert.equal(run(['-U', 'nobody', '-z', '/d', '-i', 'lo', 'tcp']).filter, 'tcp');
});

test('every letter of the option string is implemented, refused, or -h/-V', () => {
  const handled = new Set(['h', 'V', 'H', 'a', 'E', 'x', 'r', 'R', 'l', 'i', 'p', 'U', 'o', 'X', 'd', 'v', 'q', 'f', 'e', 'S', 'b', 'm', 'I', 'T', 'F',
    'c', 'C', 'D', 'g', 's', 'B', '0', 'J', 'L', 'P', 'w', 'K', 'A', 'Z', 'z']);
  for (const letter of TCPFLOW_OPTSTRING.replace(/:/g, '')) {
    assert.ok(handled.has(letter) !== NOT_IMPLEMENTED.has(letter), `letter ${letter}`);
  }
});

test('-S parameters whose feature is missing are refused; unknown names are accepted', () => {
  for (const name of NOT_IMPLEMENTED_PARAMS) fails(['-r', 'x', '-S', `${name}=1`], 'NOT_IMPLEMENTED', `-S ${name} is not implemented yet`);
  assert.deepEqual([...NOT_IMPLEMENTED_PARAMS].sort(), ['check_fcs']);
  assert.ok([...NOT_IMPLEMENTED_PARAMS].every((n) => PARAMS.some((p) => p.name === n)));
  assert.deepEqual(run(['-r', 'x', '-S', 'no_such_thing=1']).params, { no_such_thing: '1' });
});

test('-e, -E, -x, -a: applied in command-line order; scanners not implemented yet and unknown names refused', () => {
  assert.deepEqual(run(['-r', 'x', '-e', 'md5', '-emd5']).scanners, ['md5']);
  assert.deepEqual(run(['-r', 'x', '-e', 'netviz', '-e', 'md5']).scanners, ['md5', 'netviz']);
  assert.deepEqual(run(['-r', 'x', '-a', '-x', 'netviz']).scanners, allBut('netviz'));
  assert.deepEqual(run(['-r', 'x', '-x', 'netviz', '-a']).scanners, allBut());
  assert.deepEqual(run(['-r', 'x', '-e', 'md5', '-E', 'netviz']).scanners, ['netviz']);
  // -a's md5 comes after every other command (tcpflow's queue)
  assert.deepEqual(run(['-r', 'x', '-a', '-E', 'netviz']).scanners, ['md5', 'netviz']);
  assert.deepEqual(run(['-r', 'x', '-e', 'all', '-x', 'all']).scanners, []);
  const off = run(['-r', 'x', '-x', 'tcpdemux', '-x', 'wifiviz']);
  assert.deepEqual([off.scanners, off.tcpdemux], [[], false]);
  assert.ok(IMPLEMENTED_SCANNERS.has('md5') && IMPLEMENTED_SCANNERS.has('netviz') && IMPLEMENTED_SCANNERS.has('js'));
  for (const name of ['wifiviz', ...(IMPLEMENTED_SCANNERS.has('http') ? [] : ['http'])]) {
    fails(['-r', 'x', '-e', name], 'NOT_IMPLEMENTED', `option -e ${name} is not implemented yet`);
    fails(['-r', 'x', '-E', name], 'NOT_IMPLEMENTED', `option -E ${name} is not implemented yet`);
  }
  for (const name of ['python', 'MD5', 'bogus', '']) {
    for (const opt of ['-e', '-E', '-x']) fails(['-r', 'x', opt, name], 'USAGE', `Invalid scanner name '${name}'`);
  }
  fails(['-r', 'x', '-e', 'js'], 'USAGE', '-e js needs -S js_module=PATH: the module whose function runs on every flow');
  assert.deepEqual(run(['-r', 'x', '-e', 'js', '-S', 'js_module=m.js']).plugin, { module: 'm.js', function: 'scan' });
  assert.deepEqual(run(['-r', 'x', '-e', 'js', '-S', 'js_module=m.js', '-S', 'js_function=f']).plugin, { module: 'm.js', function: 'f' });
  assert.deepEqual(run(['-r', 'x', '-S', 'js_module=m.js']).warnings, ['-S js_module ignored: the js scanner is not enabled (-e js)']);
});

/** -a's scanners (md5, http when it works, netviz) without `but`. */
function allBut(...but: string[]): string[] {
  return ['md5', 'http', 'netviz'].filter((n) => IMPLEMENTED_SCANNERS.has(n) && !but.includes(n));
}

test('scanner parameters: hash, alert descriptors, commands, netviz; bad values refused in one line', () => {
  assert.deepEqual(run(['-r', 'x', '-S', 'hash=sha256']).digests, ['sha256']);
  assert.deepEqual(run(['-r', 'x', '-S', 'hash=md5,sha256,md5']).digests, ['md5', 'sha256']);
  for (const bad of ['sha1', 'md5,', 'SHA256', 'md5;sha256']) {
    fails(['-r', 'x', '-S', `hash=${bad}`], 'USAGE', `-S hash: '${bad}' is not a list of md5, sha256 (comma-separated)`);
  }
  const hooks = run(['-r', 'x', '-S', 'tcp_alert_fd=3', '-S', 'http_alert_fd=-1', '-S', 'tcp_cmd=echo', '-S', 'http_cmd=ls -l']).hooks;
  assert.deepEqual(hooks, { tcpAlertFd: 3, tcpCmd: 'echo', httpAlertFd: null, httpCmd: 'ls -l' });
  fails(['-r', 'x', '-S', 'tcp_alert_fd=x'], 'USAGE', "-S tcp_alert_fd: 'x' is not a whole number from 0 to 2147483647");
  fails(['-r', 'x', '-S', 'http_alert_fd=-2'], 'USAGE', "-S http_alert_fd: '-2' is not a whole number from 0 to 2147483647");
  assert.deepEqual(run(['-r', 'x', '-S', 'netviz_histogram_size=10', '-S', 'netviz_histogram_dump=1']).netviz, { maxAddresses: 10, dump: true });
  assert.deepEqual(run(['-r', 'x', '-S', 'netviz_histogram_dump=0']).netviz, { maxAddresses: 200_000, dump: false });
  fails(['-r', 'x', '-S', 'netviz_histogram_size=0'], 'USAGE', "-S netviz_histogram_size: '0' is not a whole number from 1 to 100000000");
});

test('-H: every scanner with its parameters, then all parameters; -S names no scanner knows are listed', () => {
  const help = parseCommandLine(['-H', '-S', 'bogus=1', '-S', 'hash=sha256', '-c']);
  assert.equal(help.kind, 'help');
  const text = (help as { text: string }).text;
  for (const name of ['md5', 'http', 'netviz', 'tcpdemux', 'wifiviz', 'js']) assert.match(text, new RegExp(`^Scanner Name: ${name}`, 'm'));
  assert.match(text, /Scanner Name: tcpdemux\nflags:  SCANNER_ENABLED\n/);
  assert.match(text, /Scanner Name: js\nflags:  SCANNER_DISABLED \(tcpflow-ts only\)\n/);
  assert.match(text, /Scanner Name: wifiviz \(not implemented yet\)/);
  for (const p of PARAMS.filter((q) => q.scanner !== undefined)) {
    const block = text.slice(text.indexOf(`Scanner Name: ${p.scanner}`)).split('\n\n')[0];
    assert.ok(block.includes(`-S ${p.name}=`), `${p.name} under ${p.scanner}`);
  }
  assert.match(text, /Parameters given that no scanner knows \(ignored\):\n   -S bogus=1\n$/);
  assert.equal(parseCommandLine(['-h', '-H']).kind, 'help');
  assert.ok(!(parseCommandLine(['-H']) as { text: string }).text.includes('no scanner knows'));
});

test('getopt errors surface unchanged', () => {
  fails(['-y'], 'USAGE', "invalid option -- 'y'");
  fails(['-r', 'x', '-y'], 'USAGE', "invalid option -- 'y'");
  fails(['-r'], 'USAGE', "option requires an argument -- 'r'");
  fails(['-V', '-y'], 'USAGE', "invalid option -- 'y'"); // the whole line is checked first
});

test('no input at all is live capture: -i, -p, the expression, -S packet-buffer-timeout', () => {
  const live = run([]);
  assert.deepEqual([live.readFiles, live.finishFiles, live.device, live.promiscuous, live.filter], [[], [], null, true, null]);
  assert.deepEqual(run(['-q', 'port', '80']).filter, 'port 80');
  assert.deepEqual(run(['-l']).filter, null);
  const i = run(['-p', '-i', 'eth1', 'tcp', 'port', '80']);
  assert.deepEqual([i.device, i.promiscuous, i.filter], ['eth1', false, 'tcp port 80']);
  // -i names the interface: an operand that is a file is still an expression word then
  assert.equal(run(['-i', 'eth1', '/']).filter, '/');
  assert.equal(run(['-S', 'packet-buffer-timeout=250']).packetBufferTimeout, 250);
  for (const bad of ['0', '10001', '1.5', 'x']) {
    fails(['-S', `packet-buffer-timeout=${bad}`], 'USAGE', `-S packet-buffer-timeout: '${bad}' is not a whole number from 1 to 10000`);
  }
  // with input files, -i and -p do nothing, and say so
  assert.deepEqual(run(['-r', 'x', '-i', 'eth0', '-p']).warnings,
    ['-i eth0 ignored: input files are given (-r, -R or -l)', '-p ignored: input files are given (-r, -R or -l)']);
});

test('an existing file as an operand without an input option: did you mean -r?', () => {
  const dir = makeTempDir();
  try {
    const file = path.join(dir, 'x.pcap');
    const odd = path.join(dir, "it's a capture");
    fs.writeFileSync(file, '');
    fs.writeFileSync(odd, '');
    const hint = (s: string) => `no input: operands are a filter expression unless -l is given; did you mean ${s}?`;
    fails([file], 'USAGE', hint(`-r ${file}`));
    fails(['-c', file, 'port', '80', odd], 'USAGE', hint(`-r ${file} -r '${dir}/it'\\''s a capture'`));
    // with an input option, or -l, operands keep their meaning; a directory is no capture
    assert.equal(run(['-r', file, file]).filter, file);
    assert.deepEqual(run(['-R', file, file]).finishFiles, [file]);
    assert.deepEqual(run(['-l', file]).readFiles, [file]);
    assert.equal(run([dir]).filter, dir); // a directory is no capture: a (live) expression word
  } finally {
    removeDir(dir);
  }
});

// No timing assertion: a loaded machine failed one. A quadratic argv would show in the
// suite's run time, not as a flaky failure.
test('thousands of input files, with -l and as repeated -r, all arrive in order', () => {
  const files = Array.from({ length: 5000 }, (_, i) => `f${i}.pcap`);
  assert.deepEqual(run(['-l', ...files]).readFiles, files);
  assert.deepEqual(run(files.flatMap((f) => ['-r', f])).readFiles, files);
});

test('-b, -m, -I', () => {
  assert.equal(run(['-r', 'x', '-b', '100']).maxBytes, 100);
  assert.equal(run(['-r', 'x', '-b100']).maxBytes, 100);
  assert.equal(run(['-r', 'x']).maxBytes, -1);
  assert.equal(run(['-r', 'x', '-m', '1000']).maxSeek, 1000);
  assert.equal(run(['-r', 'x', '-I']).findx, true);
});

test('-T and -F are kept in command-line order as naming steps', () => {
  assert.deepEqual(run(['-r', 'x', '-Fk', '-T', '%A', '-Ftc', '-F', 'M']).naming, [
    { kind: 'format', letters: 'k' },
    { kind: 'template', value: '%A' },
    { kind: 'format', letters: 'tc' },
    { kind: 'format', letters: 'M' },
  ]);
});

test('console modes: -c/-C and their modifiers', () => {
  assert.equal(run(['-r', 'x']).console, null);
  assert.deepEqual(run(['-r', 'x', '-c']).console, { header: true, hex: false, json: false, color: false, binary: false, newline: true });
  assert.deepEqual(run(['-r', 'x', '-CDg0']).console, { header: false, hex: true, json: false, color: true, binary: false, newline: false });
  assert.deepEqual(run(['-r', 'x', '-cJB']).console, { header: false, hex: false, json: true, color: false, binary: true, newline: true });
  // modifiers without -c/-C do not turn console mode on
  assert.equal(run(['-r', 'x', '-D']).console, null);
});

test('--jsonl FILE (our own long option, any getopt form)', () => {
  assert.equal(run(['-r', 'f.pcap', '--jsonl', 'r.jsonl']).jsonlPath, 'r.jsonl');
  assert.equal(run(['--jsonl=r.jsonl', '-r', 'f.pcap']).jsonlPath, 'r.jsonl');
  assert.equal(run(['-r', 'f.pcap', '--jsonl', 'a', '--jsonl', 'b']).jsonlPath, 'b');
  assert.throws(() => parseCommandLine(['-r', 'f.pcap', '--jsonl']), (e: unknown) => e instanceof TcpflowError && e.exitCode === EXIT.USAGE);
});

test('-S with a name no feature reads: accepted as tcpflow does, with a warning', () => {
  const o = run(['-r', 'f.pcap', '-S', 'enable_reprot=NO']);
  assert.deepEqual(o.params, { enable_reprot: 'NO' });
  assert.equal(o.warnings.length, 1);
  assert.match(o.warnings[0], /^-S enable_reprot: unknown parameter, ignored \(known: enable_report, tdelta, max_flows, /);
  assert.deepEqual(run(['-r', 'f.pcap', '-S', 'enable_report=NO', '-S', 'max_flows=10']).warnings, []);
});

test('each option goes to a field of its kind: a flag without an argument, a value or a list with one', () => {
  const takesArg = new Map<string, boolean>();
  for (let i = 0; i < TCPFLOW_OPTSTRING.length; i++) if (TCPFLOW_OPTSTRING[i] !== ':') takesArg.set(TCPFLOW_OPTSTRING[i], TCPFLOW_OPTSTRING[i + 1] === ':');
  for (const l of TCPFLOW_LONGOPTS) takesArg.set(l.opt, l.hasArg);
  const defaults = commandFields([], []) as unknown as Record<string, unknown>;
  for (const [opt, c] of Object.entries(CANONICAL)) {
    assert.ok(takesArg.has(opt), `${opt} is a getopt option`);
    if (c === null) continue;
    const field = 'flag' in c ? c.flag : 'list' in c ? c.list : c.value;
    assert.ok(field in defaults || !('flag' in c || 'list' in c), `${opt}: field ${field}`);
    assert.equal(takesArg.get(opt), !('flag' in c) && !('is' in c), `${opt}: ${JSON.stringify(c)}`);
  }
  // Lists keep every value in order, values the last one, flags are set; operands are a list of their own.
  const { options, operands } = getopt(['-r', 'a', '-o', '-x', '-r', '-', '-q', '-o', 'b', '-v', 'port', '80', '-S', 'x=1']);
  const f = commandFields(options, operands);
  assert.deepEqual([f.readFiles, f.outdir, f.quiet, f.debugLevel, f.operands, f.params, f.listFiles], [['a', '-'], 'b', true, '10', ['port', '80'], ['x=1'], false]);
  assert.throws(() => commandFields([{ opt: 'o' }], []), /internal: option o has no argument/);
  assert.throws(() => commandFields([{ opt: 'Y' }], []), /internal: option Y is neither implemented nor refused/);
});
