/**
 * After tsc: dist/bundle/tcpflow-ts.js (cli/tcpflow.ts and everything it loads, in one
 * file) and dist/bundle/flow-worker.js (the worker thread's), then V8's code cache for
 * each, written by runs of the bundle on a small fixture (the second with a worker thread).
 * cli/main.ts uses them while they are newer than tsc's output (workers/bundle-boot.ts
 * loads the worker's). `npm run build`, `npm test` and `prepare` run this.
 *
 * esbuild bundles the TypeScript sources themselves (tsc has type-checked them just
 * before), not tsc's CommonJS output: as ES modules they share one scope, so a call into
 * another module is a call of a variable, not a property read of a module's exports
 * object, and a module's top level no longer builds that object (~100 modules: `exports.x
 * = ...`, `__esModule`, tsc's helpers). Modules a run loads on first use (`require()` in
 * src/run.ts, cli/options.ts ...) are initialised when first required, as before. Measured
 * on a small run: 0.4 ms less CPU (README, Start-up), a bundle of 0.51 MB instead of 0.57.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { isBuiltin } from 'node:module';
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { LAZY_PACKAGES } from '../src/util/chroot';

const DIST = path.resolve(__dirname, '..');
const OUT = path.join(DIST, 'bundle');
const ROOT = path.resolve(DIST, '..');

/** `import * as x from 'node:m';` on a line of its own (how our sources import Node's modules). */
const STAR_IMPORT = /^import \* as (\w+) from '([^']+)';$/gm;

/**
 * Our sources as the bundle needs them. `import * as fs from 'node:fs'` of a Node module
 * becomes `import fs = require('node:fs')`: the module object itself, where esbuild would
 * copy node:fs's 100 exports into a namespace object of getters at every start (the
 * builtins' types declare no `default`, the one property a namespace adds, so no code can
 * tell them apart). A relative require of a JSON file (src/version.ts: package.json) is
 * resolved from where tsc's output requires it (dist/src/), not from the source.
 */
const sources: Plugin = {
  name: 'tcpflow-ts-sources',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      if (!args.path.startsWith(ROOT + path.sep) || args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
      const text = fs.readFileSync(args.path, 'utf8');
      return { contents: text.replace(STAR_IMPORT, (line, name: string, mod: string) => (isBuiltin(mod) ? `import ${name} = require('${mod}');` : line)), loader: 'ts' };
    });
    b.onResolve({ filter: /^\.\.?\/.*\.json$/ }, (args) => {
      const source = path.relative(ROOT, args.resolveDir);
      if (!args.importer.endsWith('.ts') || source.startsWith('..') || source.split(path.sep)[0] === 'node_modules') return undefined;
      return { path: path.resolve(DIST, source, args.path) };
    });
  },
};

async function main(): Promise<void> {
  fs.rmSync(OUT, { recursive: true, force: true });
  const options: BuildOptions = {
    outdir: OUT,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // Loaded from node_modules when a run needs them: the optional native addons (libpcap,
    // chroot) and the packages only some runs load (JSON logs, bzip2, xz and zstd inputs):
    // 0.14 MB of the command's bundle and 0.10 MB of the worker's that every start read
    // (0.36 ms less CPU in a small run), against one module resolution each in a run that uses them.
    external: ['pcap', 'tcpflow-ts-chroot', 'tcpflow-ts-files', ...LAZY_PACKAGES],
    // Less text to read at every start (names are kept, internal errors' stacks stay legible;
    // a dozen top-level names that two modules share get a number: writeSync2, text2 ...).
    minifyWhitespace: true,
    define: { TCPFLOW_TS_BUNDLE: 'true' },
    plugins: [sources],
    logLevel: 'warning',
  };
  // Each bundle is one function expression, what cli/main.ts (the command's) and
  // workers/bundle-boot.ts (a worker thread's) compile and call like a CommonJS module:
  // wrapping the text there cost a copy of it in every run.
  const wrapped = { banner: { js: '(function (exports, require, module, __filename, __dirname) {' }, footer: { js: '})' } };
  await build({ ...options, ...wrapped, entryPoints: { 'tcpflow-ts': path.join(ROOT, 'cli/tcpflow.ts') } });
  await build({ ...options, ...wrapped, entryPoints: { 'flow-worker': path.join(ROOT, 'workers/flow-worker.ts') } });
  // Both are read as latin1: esbuild writes ASCII (charset), and minified, no comments.
  for (const f of ['tcpflow-ts.js', 'flow-worker.js']) {
    if (/[^\x00-\x7f]/.test(fs.readFileSync(path.join(OUT, f), 'latin1'))) throw new Error(`bundle: ${f} is not ASCII`);
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpflow-ts-bundle-'));
  try {
    const r = spawnSync(process.execPath, [path.join(DIST, 'cli/main.js'), '-r', path.join(ROOT, 'fixtures/pcaps/tcpflow__test1.pcap'),
      '-o', path.join(tmp, 'out'), '--jsonl', path.join(tmp, 'out.jsonl'), '-q'],
    { env: { ...process.env, TCPFLOW_TS_WRITE_CODE_CACHE: '1' }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`bundle: the code-cache run failed (${r.status}): ${r.stderr}`);
    // The worker bundle's cache, from the one worker thread of a run with threads.
    const w = spawnSync(process.execPath, [path.join(DIST, 'cli/main.js'), '--workers', '1', '-r', path.join(ROOT, 'fixtures/pcaps/tcpflow__test1.pcap'),
      '-o', path.join(tmp, 'out-worker'), '-q'],
    { env: { ...process.env, TCPFLOW_TS_WRITE_CODE_CACHE: 'worker' }, encoding: 'utf8' });
    if (w.status !== 0 || !fs.existsSync(path.join(OUT, 'flow-worker.js.cache'))) throw new Error(`bundle: the worker's code-cache run failed (${w.status}): ${w.stderr}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const size = (f: string) => `${(fs.statSync(path.join(OUT, f)).size / 1e6).toFixed(2)} MB`;
  process.stdout.write(`dist/bundle: tcpflow-ts.js ${size('tcpflow-ts.js')}, flow-worker.js ${size('flow-worker.js')}, code caches ${size('tcpflow-ts.js.cache')}, ${size('flow-worker.js.cache')}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
