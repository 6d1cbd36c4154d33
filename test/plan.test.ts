import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommandLine } from '../cli/options';
import { EXIT, TcpflowError } from '../src/errors';
import { planRun, type RunPlan } from '../src/plan';

/** The plan of a command line, as if the process could open `fds` files. */
function plan(argv: string[], fds = 1024): RunPlan {
  const parsed = parseCommandLine([...argv, '--workers', '4']);
  if (parsed.kind !== 'run') throw new Error('not a run');
  return planRun(parsed.options, fds);
}

test('the output mode follows -c/-C, -K and -FX; files by default', () => {
  assert.equal(plan(['-r', 'x']).mode, 'files');
  assert.equal(plan(['-r', 'x', '-c']).mode, 'console');
  assert.equal(plan(['-r', 'x', '-K']).mode, 'pcaps');
  assert.equal(plan(['-r', 'x', '-FX']).mode, 'report-only');
  assert.equal(plan(['-r', 'x', '-K', '-c']).mode, 'pcaps');
});

test('inputs: -r files (and -l operands) start connections, -R files after them only continue', () => {
  assert.deepEqual(plan(['-R', 'c', '-r', 'a', '-r', 'b']).inputs,
    [{ path: 'a', finishing: false }, { path: 'b', finishing: false }, { path: 'c', finishing: true }]);
  assert.deepEqual(plan(['-l', 'a', 'b']).inputs.map((i) => i.path), ['a', 'b']);
});

test('reports: report.xml in the output directory or -X; none in console mode unless enable_report; --jsonl beside it', () => {
  assert.deepEqual(plan(['-r', 'x', '-o', 'out']).reports, { dfxml: 'out/report.xml', jsonl: null });
  assert.deepEqual(plan(['-r', 'x', '-X', 'r.xml', '--jsonl', 'r.jsonl']).reports, { dfxml: 'r.xml', jsonl: 'r.jsonl' });
  assert.deepEqual(plan(['-r', 'x', '-S', 'enable_report=NO', '--jsonl', 'r.jsonl']).reports, { dfxml: null, jsonl: 'r.jsonl' });
  assert.deepEqual(plan(['-r', 'x', '-c']).reports, { dfxml: null, jsonl: null });
  assert.deepEqual(plan(['-r', 'x', '-c', '-S', 'enable_report=1']).reports, { dfxml: 'report.xml', jsonl: null });
  const c = plan(['-r', 'x', '-c', '--jsonl', 'r.jsonl']);
  assert.equal(c.reports.jsonl, null);
  assert.deepEqual(c.warnings, ['--jsonl r.jsonl ignored: console output (-c/-C) reports no flow files']);
  assert.equal(plan(['-r', 'x']).worker.records, true);
  assert.equal(plan(['-r', 'x', '-c']).worker.records, false);
});

test('scanners: -e md5 and -FM run the md5 scanner once; -e with -FX is refused; console and -K warn', () => {
  assert.deepEqual(plan(['-r', 'x']).worker.scanners, []);
  assert.deepEqual(plan(['-r', 'x', '-e', 'md5', '-FM']).worker.scanners, ['md5']);
  assert.deepEqual(plan(['-r', 'x', '-FM']).worker.scanners, ['md5']);
  assert.throws(() => plan(['-r', 'x', '-FX', '-e', 'md5']),
    (e: unknown) => e instanceof TcpflowError && e.exitCode === EXIT.USAGE && /requires storing output/.test(e.message));
  const c = plan(['-r', 'x', '-c', '-e', 'md5']);
  assert.deepEqual(c.worker.scanners, []);
  assert.deepEqual(c.warnings, ['-e md5 ignored: console output (-c/-C) stores no flow files to scan']);
  assert.deepEqual(plan(['-r', 'x', '-K', '-FM']).warnings, ['-e md5 ignored: -K stores no flow files to scan']);
});

test('workers: one when the template lets different connections share a name, else as asked', () => {
  assert.equal(plan(['-r', 'x']).workers, 4);
  assert.equal(plan(['-r', 'x', '-Fk', '-Fc']).workers, 4);
  assert.equal(plan(['-r', 'x', '-T', '%A/%a/%B/%b/%c%N.flow']).workers, 4);
  const one = plan(['-r', 'x', '-T', '%A']);
  assert.equal(one.workers, 1);
  assert.deepEqual(one.notes.map((n) => n.level), [2]);
  assert.equal(plan(['-r', 'x', '-K', '-T', '%t-%#']).workers, 1);
  // Console names never take a counter from the disk; -FX has none.
  assert.equal(plan(['-r', 'x', '-c', '-T', '%A']).workers, 4);
  assert.equal(plan(['-r', 'x', '-FX', '-T', '%A']).workers, 4);
});

test('workers: one for -FX unless --workers asks for more (no flow files: a second thread only costs its start-up)', () => {
  const parsed = (argv: string[]) => {
    const r = parseCommandLine(argv);
    if (r.kind !== 'run') throw new Error('not a run');
    return r.options;
  };
  const fx = planRun({ ...parsed(['-r', 'x', '-FX']), workers: 4 }, 1024);
  assert.equal(fx.workers, 1);
  assert.deepEqual(fx.notes.map((n) => n.level), [2]);
  assert.equal(planRun({ ...parsed(['-r', 'x']), workers: 4 }, 1024).workers, 4);
  assert.equal(planRun(parsed(['-r', 'x', '-FX', '--workers', '3']), 1024).workers, 3);
});

test('descriptors: -f, else the process limit less a reserve, shared by the workers', () => {
  const p = plan(['-r', 'x'], 1024);
  assert.equal(p.fileDescriptors, 1024 - 32);
  assert.equal(p.worker.maxOpenFiles, Math.floor(992 / 4));
  const f = plan(['-r', 'x', '-f', '10'], 1024);
  assert.equal(f.fileDescriptors, 10);
  assert.equal(f.worker.maxOpenFiles, 2);
  assert.equal(plan(['-r', 'x', '-f', '2'], 1024).worker.maxOpenFiles, 1);
});

test('a bad template is refused before anything runs (spec B25)', () => {
  assert.throws(() => plan(['-r', 'x', '-T', '%Q']), (e: unknown) => e instanceof TcpflowError && e.exitCode === EXIT.USAGE);
});

test('-X where no report is written (console mode, enable_report=NO) is said to be ignored', () => {
  assert.deepEqual(plan(['-r', 'x', '-c', '-X', 'r.xml']).warnings,
    ['-X r.xml ignored: console output (-c/-C) writes no report unless -S enable_report=YES']);
  assert.deepEqual(plan(['-r', 'x', '-S', 'enable_report=NO', '-X', 'r.xml']).warnings, ['-X r.xml ignored: -S enable_report is off']);
  assert.deepEqual(plan(['-r', 'x', '-c', '-S', 'enable_report=YES', '-X', 'r.xml']).warnings, []);
});

test('-S tdelta: a whole number of seconds, signed', () => {
  assert.equal(plan(['-r', 'x', '-S', 'tdelta=-3600']).worker.tdelta, -3600);
  assert.equal(plan(['-r', 'x', '-S', 'tdelta=+5']).worker.tdelta, 5);
  for (const bad of ['abc', '5x', '1.5', '--1']) {
    assert.throws(() => plan(['-r', 'x', '-S', `tdelta=${bad}`]),
      (e: unknown) => e instanceof TcpflowError && e.exitCode === EXIT.USAGE && e.message === `-S tdelta: '${bad}' is not a whole number of seconds`, bad);
  }
});

test('scanners: content scanners in processing order; -FM, -S hash add digests; netviz counts packets in every mode', () => {
  assert.deepEqual(plan(['-r', 'x', '-a', '-S', 'hash=sha256']).worker.scanners, ['md5', 'sha256', ...(plan(['-r', 'x', '-a']).worker.scanners.includes('http') ? ['http'] : [])]);
  assert.deepEqual(plan(['-r', 'x', '-S', 'hash=sha256']).worker.scanners, ['sha256']);
  assert.deepEqual(plan(['-r', 'x', '-FM', '-S', 'hash=sha256']).worker.scanners, ['md5', 'sha256']);
  assert.deepEqual(plan(['-r', 'x', '-e', 'js', '-S', 'js_module=m.js', '-e', 'md5']).worker.scanners, ['md5', 'js']);
  assert.deepEqual(plan(['-r', 'x', '-e', 'js', '-S', 'js_module=m.js']).worker.plugin, { module: 'm.js', function: 'scan' });
  assert.deepEqual(plan(['-r', 'x', '-e', 'netviz', '-S', 'netviz_histogram_size=7']).worker.netviz, { maxAddresses: 7 });
  assert.equal(plan(['-r', 'x', '-e', 'md5']).worker.netviz, null);
  // netviz needs no flow files: fine with -FX, -c and -K; the content scanners are not
  const fx = plan(['-r', 'x', '-FX', '-e', 'netviz']);
  assert.deepEqual([fx.worker.scanners, fx.netviz !== null, fx.warnings], [[], true, []]);
  for (const asked of [['-e', 'md5'], ['-S', 'hash=sha256'], ['-a']]) {
    assert.throws(() => plan(['-r', 'x', '-FX', ...asked]), (e: unknown) => e instanceof TcpflowError && e.exitCode === EXIT.USAGE &&
      e.message === 'post-processing (-e) requires storing output (not -FX)');
  }
  const c = plan(['-r', 'x', '-c', '-e', 'netviz', '-S', 'hash=sha256', '-e', 'md5']);
  assert.deepEqual([c.worker.scanners, c.worker.netviz !== null], [[], true]);
  assert.deepEqual(c.warnings, ['-e md5, -S hash=sha256 ignored: console output (-c/-C) stores no flow files to scan']);
  assert.equal(plan(['-r', 'x', '-x', 'tcpdemux']).worker.tcpdemux, false);
});

test('hooks: tcp ones need flow files, http ones the http scanner; commands are shared out, 10 at once in all', () => {
  const p = plan(['-r', 'x', '-S', 'tcp_alert_fd=3', '-S', 'tcp_cmd=echo']);
  assert.deepEqual(p.worker.hooks, { tcpAlertFd: 3, tcpCmd: 'echo', httpAlertFd: null, httpCmd: null, commandLimit: 2 });
  const c = plan(['-r', 'x', '-c', '-S', 'tcp_cmd=echo', '-S', 'http_alert_fd=4']);
  assert.deepEqual(c.worker.hooks, { tcpAlertFd: null, tcpCmd: null, httpAlertFd: null, httpCmd: null, commandLimit: 2 });
  assert.deepEqual(c.warnings, ['-S tcp_alert_fd and -S tcp_cmd ignored: console output (-c/-C) writes no flow files',
    '-S http_alert_fd and -S http_cmd ignored: the http scanner is not enabled (-e http)']);
  const one = parseCommandLine(['-r', 'x', '--workers', '1', '-S', 'tcp_cmd=echo']);
  if (one.kind !== 'run') throw new Error('not a run');
  assert.equal(planRun(one.options, 1024).worker.hooks.commandLimit, 10);
});
