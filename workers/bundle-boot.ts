// Named imports, Node's own modules only: what cli/main.ts does for the command's bundle.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';
import { IMPORTER, newImporter, type Importer } from '../src/util/importer';

/**
 * A worker thread's entry when the command runs from dist/bundle/ (src/shard/hosts.ts): it
 * compiles dist/bundle/flow-worker.js (workers/flow-worker.ts and what it loads, one
 * function expression: scripts/bundle.ts) with V8's code cache for it, as cli/main.ts does
 * the command's bundle, and exports what the bundle exports (the thread calls its default:
 * src/shard/hosts.ts).
 * Compiling the bundle's top level took ~9.5 ms of CPU per thread, ~3.5 with the cache
 * (README, Performance). The cache is written by a worker thread of the build's cache run
 * (TCPFLOW_TS_WRITE_CODE_CACHE=worker) right after the bundle's top level ran: before
 * src/run.ts changes V8's flags (once every thread has booted), whose hash V8 checks
 * when it reads a cache; a cache written after a run would carry the changed flags and be
 * refused at every start.
 */
const BUNDLE = join(__dirname, '../bundle/flow-worker.js');
const CACHE = `${BUNDLE}.cache`;

type ModuleFunction = (exports: object, require: NodeJS.Require, module: { exports: object }, filename: string, dirname: string) => void;

function mtime(file: string): number {
  return statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? -1;
}

// V8 checks a cache against the source's length, not its text: one older than the bundle is not used.
const cachedData = mtime(CACHE) >= mtime(BUNDLE) ? readFileSync(CACHE) : undefined;
// ASCII (scripts/bundle.ts checks), which latin1 decodes exactly and faster than UTF-8.
const script = new Script(readFileSync(BUNDLE, 'latin1'), { filename: BUNDLE, cachedData });
// -e js imports its module with import(), which code compiled here cannot call (src/util/importer.ts).
(globalThis as Record<symbol, Importer>)[IMPORTER] = newImporter();
const bundle = { exports: {} };
(script.runInThisContext() as ModuleFunction)(bundle.exports, require, bundle, BUNDLE, dirname(BUNDLE));
if (process.env.TCPFLOW_TS_WRITE_CODE_CACHE === 'worker') writeFileSync(CACHE, script.createCachedData());
module.exports = bundle.exports;
