#!/usr/bin/env node
// Named imports: tsc's `import * as` helper would copy every export of node:fs into a new object (getters).
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';
import type { Importer } from '../src/util/importer';

/**
 * The command's entry point, kept to Node's own modules. It runs dist/bundle/tcpflow-ts.js
 * (every module of cli/tcpflow.ts in one file, made by scripts/bundle.ts after tsc) with
 * V8's code cache for it, when the bundle is at least as new as tsc's output; after a tsc
 * run alone, the modules tsc wrote. Resolving, reading and compiling ~300 modules one by
 * one was most of a small run's time (README, Performance).
 */
const BUNDLE = join(__dirname, '../bundle/tcpflow-ts.js');
/** V8's code cache for the bundle: scripts/bundle.ts writes it with a run of the bundle. */
const CACHE = `${BUNDLE}.cache`;

function mtime(file: string): number {
  return statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? -1;
}

type ModuleFunction = (exports: object, require: NodeJS.Require, module: { exports: object }, filename: string, dirname: string) => void;

function runBundle(): boolean {
  const built = mtime(BUNDLE);
  if (built < mtime(join(__dirname, 'tcpflow.js'))) return false;
  // V8 checks a cache against the source's length, not its text: one older than the bundle is not used.
  const cachedData = mtime(CACHE) >= built ? readFileSync(CACHE) : undefined;
  // The bundle is one function expression: (exports, require, module, __filename, __dirname) => void,
  // in ASCII (scripts/bundle.ts checks), which latin1 decodes exactly and faster than UTF-8.
  const script = new Script(readFileSync(BUNDLE, 'latin1'), {
    filename: BUNDLE,
    cachedData,
  });
  // -e js imports its module with import(), which code compiled here cannot call: this module's
  // import() goes to the bundle under src/util/importer.ts's IMPORTER (written out here: loading
  // that module from here would cost a module resolution and compile at every start).
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  (globalThis as Record<symbol, Importer>)[Symbol.for('tcpflow-ts.import')] = new Function('specifier', 'return import(specifier)') as Importer;
  if (process.env.TCPFLOW_TS_WRITE_CODE_CACHE === '1') {
    // After the run: the cache then holds the functions it compiled, not only the top level.
    process.on('exit', () => writeFileSync(CACHE, script.createCachedData()));
  }
  const module = { exports: {} };
  // This module's require resolves as one of the bundle's would: the bundle requires only Node's
  // modules and packages (node_modules is above both); createRequire would load node:module.
  (script.runInThisContext() as ModuleFunction)(module.exports, require, module, BUNDLE, dirname(BUNDLE));
  return true;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
if (!runBundle()) require('./tcpflow');
