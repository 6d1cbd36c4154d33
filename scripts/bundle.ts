/**
 * After tsc: dist/bundle/tcpflow-ts.js (cli/tcpflow.ts and everything it loads, in one
 * file) and dist/bundle/flow-worker.js (the worker thread's), then V8's code cache for
 * each, written by runs of the bundle on a small fixture (the second with a worker thread).
 * cli/main.ts uses them while they are newer than tsc's output (workers/bundle-boot.ts
 * loads the worker's). `npm run build`, `npm test` and `prepare` run this.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { isBuiltin } from 'node:module';
import { build, type BuildOptions, type Plugin } from 'esbuild';

const DIST = path.resolve(__dirname, '..');
const OUT = path.join(DIST, 'bundle');
const ROOT = path.resolve(DIST, '..');

/** tsc's __importStar helper as it opens in each file that has `import * as`. */
const TSC_IMPORT_STAR = /^var __importStar = \(this && this\.__importStar\) \|\| \(function \(\) \{\n[\s\S]*?\n\}\)\(\);$/m;

/** tsc's `import * as x from 'm'`: x is __importStar(require("m")). */
const TSC_STAR_IMPORT = /__importStar\(require\(("[^"]+")\)\)/g;

/**
 * Every file of tsc's shares one __importStar, which makes one namespace per module
 * (src/util/import-star.ts); a Node builtin module (node:fs, node:path ...: all of ours) is
 * its own namespace. A namespace differs from the module only by its `default`, which the
 * builtins' types do not declare, so no code can read it; making one for node:fs (100
 * getters) and the others took ~35 kB of young heap and ~0.3 ms of every start.
 */
const sharedImportStar: Plugin = {
  name: 'shared-import-star',
  setup(b) {
    const shared = path.join(DIST, 'src/util/import-star.js');
    b.onLoad({ filter: /\.js$/ }, (args) => {
      if (!args.path.startsWith(DIST + path.sep) || args.path === shared) return undefined;
      const text = fs.readFileSync(args.path, 'utf8');
      if (!text.includes('var __importStar = ')) return undefined;
      if (!TSC_IMPORT_STAR.test(text)) throw new Error(`bundle: ${args.path}: tsc's __importStar helper is not the one expected`);
      const contents = text.replace(TSC_STAR_IMPORT, (star, name: string) => (isBuiltin(JSON.parse(name) as string) ? `require(${name})` : star));
      return { contents: contents.replace(TSC_IMPORT_STAR, `var __importStar = require(${JSON.stringify(shared)}).importStar;`), loader: 'js' };
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
    // chroot), and piscina, which starts its threads on a file of its own next to its module.
    external: ['pcap', 'tcpflow-ts-chroot', 'piscina'],
    // Less text to read at every start (names are kept: internal errors' stacks stay legible).
    minifyWhitespace: true,
    define: { TCPFLOW_TS_BUNDLE: 'true' },
    plugins: [sharedImportStar],
    logLevel: 'warning',
  };
  // Each bundle is one function expression, what cli/main.ts (the command's) and
  // workers/bundle-boot.ts (a worker thread's) compile and call like a CommonJS module:
  // wrapping the text there cost a copy of it in every run.
  const wrapped = { banner: { js: '(function (exports, require, module, __filename, __dirname) {' }, footer: { js: '})' } };
  await build({ ...options, ...wrapped, entryPoints: { 'tcpflow-ts': path.join(DIST, 'cli/tcpflow.js') } });
  await build({ ...options, ...wrapped, entryPoints: { 'flow-worker': path.join(DIST, 'workers/flow-worker.js') } });
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
