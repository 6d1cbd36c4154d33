/**
 * dist/bundle/tcpflow-ts.js (scripts/bundle.ts: esbuild's one-scope bundle of the TypeScript
 * sources, which cli/main.ts runs) against tsc's modules (dist/cli/tcpflow.js, which the
 * rest of the suite imports): the same files, report, messages and exit status, through
 * the paths that load modules on first use (the http scanner, help text, merge-reports,
 * worker threads, input errors) and the packages it leaves to node_modules (decompressors,
 * pino for JSON logs). And the build's code cache is one V8 accepts: a refused
 * cache is silent, and costs every run its whole compile.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI, makeTempDir, PCAP_DIR, removeDir, REPO_ROOT } from '../helpers/corpus';

const BUNDLE = path.join(REPO_ROOT, 'dist', 'bundle', 'tcpflow-ts.js');
const MODULES = path.join(REPO_ROOT, 'dist', 'cli', 'tcpflow.js');
// After a tsc run alone the bundle is older than tsc's output, and cli/main.ts runs tsc's modules.
const NO_BUNDLE = !(fs.existsSync(BUNDLE) && fs.statSync(BUNDLE).mtimeMs >= fs.statSync(MODULES).mtimeMs) && 'no dist/bundle newer than tsc\'s output (npm run build)';

test('the command bundle\'s code cache is accepted by a fresh process', { skip: NO_BUNDLE }, () => {
  assert.ok(fs.statSync(`${BUNDLE}.cache`).mtimeMs >= fs.statSync(BUNDLE).mtimeMs, 'the cache is not older than the bundle');
  const r = spawnSync(process.execPath, ['-e', `const { Script } = require('node:vm'); const fs = require('node:fs');
    const s = new Script(fs.readFileSync(process.argv[1], 'latin1'), { filename: process.argv[1], cachedData: fs.readFileSync(process.argv[1] + '.cache') });
    process.stdout.write(String(s.cachedDataRejected));`, BUNDLE], { encoding: 'utf8' });
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, 'false');
});

/** What a run left: exit status, stdout, stderr, and every file under `dir` (the report without what changes per run). */
function outcome(entry: string, args: readonly string[], dir: string, env: NodeJS.ProcessEnv): string {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir);
  const r = spawnSync(process.execPath, [entry, ...args], { cwd: dir, encoding: 'latin1', env: { ...process.env, ...env } });
  const files = fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort().map((rel) => {
    const abs = path.join(dir, rel);
    if (fs.statSync(abs).isDirectory()) return `${rel}/`;
    const text = fs.readFileSync(abs, 'latin1');
    // Times and resource use differ from run to run.
    return `${rel}:\n${text.replace(/<start_time>[^<]*<|<rusage>[\s\S]*<\/rusage>|"(start_time|clocktime|utime|stime|maxrss|minflt|majflt|nswap|inblock|oublock)":[0-9.e+-]+/g, '')}`;
  });
  // pino's JSON lines (TCPFLOW_TS_LOG_JSON=1) carry the time; -d 2's progress line, a rate.
  const stderr = r.stderr.replace(/"time":"[^"]*"|[0-9,]+ packets\/s/g, '');
  return [`status ${r.status}`, `stdout:\n${r.stdout}`, `stderr:\n${stderr}`, ...files].join('\n');
}

const TEST1 = path.join(PCAP_DIR, 'tcpflow__test1.pcap');
const HTTP = path.join(PCAP_DIR, 'pcapplusplus__650HttpResponses.pcap');
/** Pieces of one capture, three of them compressed (xz, bzip2, zstd: packages the bundle leaves out). */
const ROTATED = path.join(REPO_ROOT, 'fixtures', 'rotated');

test('the bundle runs as tsc\'s modules do: files, report, messages, exit status', { skip: NO_BUNDLE }, () => {
  const base = makeTempDir();
  try {
    const cases: [string[], NodeJS.ProcessEnv?][] = [
      [['-r', TEST1, '-o', 'out']],
      [['-r', TEST1, '-o', 'out', '--jsonl', 'out.jsonl', '-Fk', '-T', '%T_%A-%B']],
      [['-r', HTTP, '-o', 'out', '-e', 'http', '-e', 'md5']],
      [['-r', TEST1, '-o', 'out', '--workers', '2']],
      [['-r', ROTATED, '-o', 'out', '--workers', '1']],
      [['-r', TEST1, '-o', 'out', '-d', '2'], { TCPFLOW_TS_LOG_JSON: '1' }],
      [['-r', TEST1, '-c']],
      [['-r', 'missing.pcap', '-o', 'out']],
      [['-r', TEST1, '-o', 'out', '-S', 'no_such_parameter=1']],
      [['-Q']],
      [['-h']],
      [['-V']],
      [['merge-reports', '--help']],
    ];
    for (const [args, env = {}] of cases) {
      const bundled = outcome(CLI, args, path.join(base, 'a'), env);
      const modules = outcome(MODULES, args, path.join(base, 'b'), env);
      assert.equal(bundled, modules, `${JSON.stringify(env)} ${args.join(' ')}`);
    }
  } finally {
    removeDir(base);
  }
});
