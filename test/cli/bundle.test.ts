/**
 * dist/bundle/tcpflow-ts.js (scripts/bundle.ts: esbuild's one-scope bundle of the TypeScript
 * sources, which cli/main.ts runs) against tsc's modules (dist/cli/tcpflow.js, which the
 * rest of the suite imports): the same files, report, messages and exit status, through
 * the paths that load modules on first use (the http scanner, help text, merge-reports,
 * worker threads, input errors). And the build's code cache is one V8 accepts: a refused
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
function outcome(entry: string, args: readonly string[], dir: string): string {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir);
  const r = spawnSync(process.execPath, [entry, ...args], { cwd: dir, encoding: 'latin1' });
  const files = fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort().map((rel) => {
    const abs = path.join(dir, rel);
    if (fs.statSync(abs).isDirectory()) return `${rel}/`;
    const text = fs.readFileSync(abs, 'latin1');
    // Times and resource use differ from run to run.
    return `${rel}:\n${text.replace(/<start_time>[^<]*<|<rusage>[\s\S]*<\/rusage>|"(start_time|clocktime|utime|stime|maxrss|minflt|majflt|nswap|inblock|oublock)":[0-9.e+-]+/g, '')}`;
  });
  return [`status ${r.status}`, `stdout:\n${r.stdout}`, `stderr:\n${r.stderr}`, ...files].join('\n');
}

const TEST1 = path.join(PCAP_DIR, 'tcpflow__test1.pcap');
const HTTP = path.join(PCAP_DIR, 'pcapplusplus__650HttpResponses.pcap');

test('the bundle runs as tsc\'s modules do: files, report, messages, exit status', { skip: NO_BUNDLE }, () => {
  const base = makeTempDir();
  try {
    const cases: string[][] = [
      ['-r', TEST1, '-o', 'out'],
      ['-r', TEST1, '-o', 'out', '--jsonl', 'out.jsonl', '-Fk', '-T', '%T_%A-%B'],
      ['-r', HTTP, '-o', 'out', '-e', 'http', '-e', 'md5'],
      ['-r', TEST1, '-o', 'out', '--workers', '2'],
      ['-r', TEST1, '-c'],
      ['-r', 'missing.pcap', '-o', 'out'],
      ['-r', TEST1, '-o', 'out', '-S', 'no_such_parameter=1'],
      ['-Q'],
      ['-h'],
      ['-V'],
      ['merge-reports', '--help'],
    ];
    for (const args of cases) {
      const bundled = outcome(CLI, args, path.join(base, 'a'));
      const modules = outcome(MODULES, args, path.join(base, 'b'));
      assert.equal(bundled, modules, args.join(' '));
    }
  } finally {
    removeDir(base);
  }
});
