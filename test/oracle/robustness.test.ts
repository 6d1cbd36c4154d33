/**
 * Robustness: every capture of fixtures/corpus/pcaps (the malformed ones included: cut
 * files, files that are not captures, unsupported link types, fuzzed packets) ends within
 * 20 s with exit status 0 or 1, prints only `tcpflow-ts: ` lines and no stack trace on
 * stderr, and leaves a well-formed report.xml that ends with "</dfxml>\n". Then the error
 * paths of the command line: missing input, a directory as input, an output directory that
 * is a regular file, a missing option argument, an option not implemented yet (the first one
 * cli/options.ts still refuses), an output directory below a regular file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { create } from 'xmlbuilder2';
import {
  assertWellFormedXml,
  makeTempDir,
  PCAP_DIR,
  POOL_SIZE,
  removeDir,
  REPORT,
  runCli,
  RunResult,
  stackFrames,
  unprefixedLines,
} from '../helpers/corpus';
import { IMPLEMENTED_SCANNERS, NOT_IMPLEMENTED, SCANNER_NAMES } from '../../cli/options';
import { TCPFLOW_OPTSTRING } from '../../cli/getopt';

const RUN_TIMEOUT_MS = 20_000;

const captures = fs.readdirSync(PCAP_DIR).filter((f) => fs.statSync(path.join(PCAP_DIR, f)).isFile()).sort();

/** stderr: no stack trace, every line `tcpflow-ts: ...`. */
function assertCleanStderr(run: RunResult, cmd: string): void {
  assert.deepEqual(stackFrames(run.stderr), [], `${cmd}: stack trace on stderr:\n${run.stderr}`);
  assert.deepEqual(unprefixedLines(run.stderr), [], `${cmd}: stderr lines without the 'tcpflow-ts: ' prefix:\n${run.stderr}`);
}

function assertGoodReport(file: string, cmd: string): void {
  assert.ok(fs.existsSync(file), `${cmd}: no ${REPORT}`);
  const bytes = fs.readFileSync(file);
  assert.doesNotThrow(() => assertWellFormedXml(bytes), `${cmd}: ${REPORT} is not well-formed`);
  assert.doesNotThrow(() => create(bytes.toString('utf8')), `${cmd}: xmlbuilder2 cannot parse ${REPORT}`);
  assert.ok(bytes.toString('utf8').endsWith('</dfxml>\n'), `${cmd}: ${REPORT} does not end with "</dfxml>\\n"`);
}

/** Runs the CLI in a fresh temporary directory (cwd), `out` inside it. */
async function inTemp<T>(fn: (tmp: string) => Promise<T>): Promise<T> {
  const tmp = makeTempDir('tcpflow-ts-robust-');
  try {
    return await fn(tmp);
  } finally {
    removeDir(tmp);
  }
}

test('every corpus capture: clean exit, clean stderr, complete report', { concurrency: POOL_SIZE }, async (t) => {
  assert.ok(captures.length > 0, 'no captures in fixtures/corpus/pcaps (run scripts/copy-corpus.sh)');
  await Promise.all(captures.map((capture) => t.test(capture, () => inTemp(async (tmp) => {
    const out = path.join(tmp, 'out');
    const args = ['-r', path.join(PCAP_DIR, capture), '-o', out];
    const cmd = `tcpflow-ts ${args.join(' ')}`;
    const run = await runCli(args, { timeoutMs: RUN_TIMEOUT_MS, cwd: tmp });
    assert.ok(!run.timedOut, `${cmd}: no exit within ${RUN_TIMEOUT_MS / 1000} s`);
    assert.ok(run.signal === null && (run.code === 0 || run.code === 1),
      `${cmd}: exit status ${run.code ?? run.signal}, expected 0 or 1\n${run.stderr}`);
    assertCleanStderr(run, cmd);
    assertGoodReport(path.join(out, REPORT), cmd);
  }))));
});

test('missing input file: exit 1, the message names the file', () => inTemp(async (tmp) => {
  const missing = path.join(tmp, 'no-such-capture.pcap');
  const run = await runCli(['-r', missing, '-o', path.join(tmp, 'out')], { cwd: tmp, timeoutMs: RUN_TIMEOUT_MS });
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /no-such-capture\.pcap/);
  assertCleanStderr(run, 'missing input');
  if (fs.existsSync(path.join(tmp, 'out', REPORT))) assertGoodReport(path.join(tmp, 'out', REPORT), 'missing input');
}));

test('missing -R file after a good -r file: exit 1, the message names the file', () => inTemp(async (tmp) => {
  const missing = path.join(tmp, 'no-such-finish.pcap');
  const run = await runCli(['-r', path.join(PCAP_DIR, 'tcpflow__test1.pcap'), '-R', missing, '-o', path.join(tmp, 'out')],
    { cwd: tmp, timeoutMs: RUN_TIMEOUT_MS });
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /no-such-finish\.pcap/);
  assertCleanStderr(run, 'missing -R input');
  assertGoodReport(path.join(tmp, 'out', REPORT), 'missing -R input');
}));

test('a directory as input: exit 1, the message names it', () => inTemp(async (tmp) => {
  const dir = path.join(tmp, 'a-directory');
  fs.mkdirSync(dir);
  const run = await runCli(['-r', dir, '-o', path.join(tmp, 'out')], { cwd: tmp, timeoutMs: RUN_TIMEOUT_MS });
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /a-directory/);
  assertCleanStderr(run, 'directory input');
  if (fs.existsSync(path.join(tmp, 'out', REPORT))) assertGoodReport(path.join(tmp, 'out', REPORT), 'directory input');
}));

test('output directory that is a regular file: exit 3', () => inTemp(async (tmp) => {
  const file = path.join(tmp, 'plain-file');
  fs.writeFileSync(file, 'not a directory\n');
  const run = await runCli(['-r', path.join(PCAP_DIR, 'tcpflow__test1.pcap'), '-o', file], { cwd: tmp, timeoutMs: RUN_TIMEOUT_MS });
  assert.equal(run.code, 3, run.stderr);
  assert.match(run.stderr, /plain-file/);
  assertCleanStderr(run, 'outdir is a file');
  assert.equal(fs.readFileSync(file, 'utf8'), 'not a directory\n', 'the file was changed');
}));

test('output path below a regular file (-o file/sub): exit 3, one line naming it, the file untouched', () => inTemp(async (tmp) => {
  const file = path.join(tmp, 'plain-file');
  fs.writeFileSync(file, 'not a directory\n');
  const out = path.join(file, 'sub');
  const run = await runCli(['-r', path.join(PCAP_DIR, 'tcpflow__test1.pcap'), '-o', out], { cwd: tmp, timeoutMs: RUN_TIMEOUT_MS });
  assert.equal(run.code, 3, run.stderr);
  assert.deepEqual(run.stderr.split('\n').filter((l) => l !== ''), [`tcpflow-ts: ${out}: Not a directory`]);
  assertCleanStderr(run, 'outdir below a file');
  assert.equal(fs.readFileSync(file, 'utf8'), 'not a directory\n', 'the file was changed');
  assert.deepEqual(fs.readdirSync(tmp), ['plain-file']);
}));

test('-r without its argument: exit 2', () => inTemp(async (tmp) => {
  const run = await runCli(['-r'], { cwd: tmp, timeoutMs: RUN_TIMEOUT_MS });
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /^tcpflow-ts: .*requires an argument/m);
  assert.deepEqual(stackFrames(run.stderr), [], run.stderr); // the usage hint line has no prefix, like GNU tools
  assert.deepEqual(fs.readdirSync(tmp), [], 'nothing is written on a usage error');
}));

/** An option letter still refused as not implemented (with an argument if it takes one), or null. */
function unimplementedOption(): string[] | null {
  for (const letter of TCPFLOW_OPTSTRING.replace(/:/g, '')) {
    // -z says why it cannot be (Node.js has no chroot): test/cli/options.test.ts checks its message
    if (NOT_IMPLEMENTED.has(letter) && letter !== 'z') return TCPFLOW_OPTSTRING.includes(`${letter}:`) ? [`-${letter}`, 'x'] : [`-${letter}`];
  }
  const scanner = SCANNER_NAMES.find((n) => !IMPLEMENTED_SCANNERS.has(n));
  return scanner ? ['-e', scanner] : null;
}

test('an option not implemented yet: exit 2, "not implemented yet", nothing written', async (t) => {
  const option = unimplementedOption();
  if (option === null) {
    t.skip('every tcpflow option is implemented');
    return;
  }
  await inTemp(async (tmp) => {
    const args = [...option, '-r', path.join(PCAP_DIR, 'tcpflow__test1.pcap'), '-o', path.join(tmp, 'out')];
    const run = await runCli(args, { cwd: tmp, timeoutMs: RUN_TIMEOUT_MS });
    assert.equal(run.code, 2, `tcpflow-ts ${args.join(' ')}\n${run.stderr}`);
    // `-e NAME` is named with its scanner, an option letter alone (`-i`, not `-i x`)
    const named = option[0] === '-e' ? option.join(' ') : option[0];
    assert.match(run.stderr, new RegExp(`^tcpflow-ts: option ${named} is not implemented yet$`, 'm'));
    assert.deepEqual(stackFrames(run.stderr), [], run.stderr);
    assert.ok(!fs.existsSync(path.join(tmp, 'out')), 'nothing is written for a refused option');
  });
});
