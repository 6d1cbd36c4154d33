/**
 * The end of a run (src/util/exit.ts): with the addon native/tcpflow-ts-files the process
 * ends by _exit(2) once every 'exit' listener has run, without process.exit()'s shutdown
 * of V8's platform, which waits for background compile jobs and hangs for good when one
 * waits for a garbage collection by the main thread (nodejs/node#54918). A V8 flag delays
 * every concurrent compile job by a minute: a run that waited for them would take that long.
 * What the run wrote must be all there: flow files, report, standard output through a pipe,
 * and its exit status, the same as through process.exit() (TCPFLOW_TS_NATIVE_FILES=0).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nativeFiles } from '../../src/output/native-files';
import { childEnv, CLI, makeTempDir, md5hex, PCAP_DIR, removeDir, REPO_ROOT } from '../helpers/corpus';

const skip = nativeFiles() === null ? 'the optional tcpflow-ts-files addon is not built (npm ci builds it with a C compiler)' : false;

/** Every concurrent compile job sleeps this long; --interrupt-budget makes functions hot (and compiled) at once. */
const SLOW_COMPILES = ['--concurrent-recompilation-delay=60000', '--interrupt-budget=1000'];
/** Far below the compile jobs' delay, far above a run of a small capture on a loaded machine. */
const WAIT_MS = 30_000;

interface Ended {
  status: number | null;
  stdout: Buffer;
  stderr: string;
}

function cli(args: string[], opts: { slowCompiles: boolean; env?: NodeJS.ProcessEnv; cwd?: string }): Ended {
  const env: NodeJS.ProcessEnv = { ...childEnv(), ...opts.env };
  const r = spawnSync(process.execPath, [...(opts.slowCompiles ? SLOW_COMPILES : []), CLI, ...args], {
    cwd: opts.cwd ?? REPO_ROOT, env, timeout: WAIT_MS, killSignal: 'SIGKILL', maxBuffer: 64 << 20,
  });
  assert.ok(r.error === undefined || (r.error as NodeJS.ErrnoException).code !== 'ETIMEDOUT',
    `still running after ${WAIT_MS} ms: the run waited for V8's compile jobs`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

/** Flow files and report, by name: md5 (the report without its run-specific lines). */
function outcome(out: string): Record<string, string> {
  const r: Record<string, string> = {};
  for (const f of fs.readdirSync(out).sort()) {
    let data = fs.readFileSync(path.join(out, f));
    if (f === 'report.xml') {
      assert.match(data.toString(), /<\/dfxml>\n$/);
      data = Buffer.from(data.toString().replace(/<(start_time|clocktime|utime|stime|maxrss|minflt|majflt|nswap|inblock|oublock|nvcsw|nivcsw|host|uid|username|pid|command_line|workers)>.*<\/\1>/g, ''));
    }
    r[f] = md5hex(data);
  }
  return r;
}

test('a run ends once written, not when V8\'s background compile jobs do; what it wrote is all there', { skip }, () => {
  const tmp = makeTempDir('tcpflow-ts-exit-');
  try {
    const cap = path.join(PCAP_DIR, 'tcpflow__jpegs.cap');
    // Files and report (`-o out` in a directory of each run's own: the same names).
    for (const d of ['fast', 'plain']) fs.mkdirSync(path.join(tmp, d));
    const fast = cli(['-r', cap, '-o', 'out'], { slowCompiles: true, cwd: path.join(tmp, 'fast') });
    assert.equal(fast.status, 0, fast.stderr);
    const plain = cli(['-r', cap, '-o', 'out'], { slowCompiles: false, env: { TCPFLOW_TS_NATIVE_FILES: '0' }, cwd: path.join(tmp, 'plain') });
    assert.equal(plain.status, 0, plain.stderr);
    const files = outcome(path.join(tmp, 'fast', 'out'));
    assert.ok(Object.keys(files).length > 2);
    assert.deepEqual(files, outcome(path.join(tmp, 'plain', 'out')));
    // With worker threads (their isolates' compile jobs delayed too; their teardown is not waited for).
    fs.mkdirSync(path.join(tmp, 'threads'));
    const threads = cli(['--workers', '2', '-r', cap, '-o', 'out'], { slowCompiles: true, cwd: path.join(tmp, 'threads') });
    assert.equal(threads.status, 0, threads.stderr);
    assert.deepEqual(outcome(path.join(tmp, 'threads', 'out')), files);
    // Standard output through a pipe (-c: every flow's bytes, ~300 KB), and the messages.
    const fastC = cli(['-c', '-r', cap], { slowCompiles: true });
    const plainC = cli(['-c', '-r', cap], { slowCompiles: false, env: { TCPFLOW_TS_NATIVE_FILES: '0' } });
    assert.equal(fastC.status, 0, fastC.stderr);
    assert.ok(fastC.stdout.length > 100_000);
    assert.equal(md5hex(fastC.stdout), md5hex(plainC.stdout));
    assert.equal(fastC.stderr, plainC.stderr);
    // A failed run keeps its status and message.
    const missing = path.join(tmp, 'missing.pcap');
    const fastE = cli(['-r', missing, '-o', path.join(tmp, 'e1')], { slowCompiles: true });
    const plainE = cli(['-r', missing, '-o', path.join(tmp, 'e2')], { slowCompiles: false, env: { TCPFLOW_TS_NATIVE_FILES: '0' } });
    assert.notEqual(fastE.status, 0);
    assert.equal(fastE.status, plainE.status);
    assert.equal(fastE.stderr.replace(/e1/g, 'e2'), plainE.stderr);
  } finally {
    removeDir(tmp);
  }
});
