#!/usr/bin/env node
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { IMPORTER, newImporter } from '../src/util/importer';

/**
 * The command's entry point, kept to Node's own modules. It runs dist/bundle/tcpflow-ts.js
 * (every module of cli/tcpflow.ts in one file, made by scripts/bundle.ts after tsc) with
 * V8's code cache for it, when the bundle is at least as new as tsc's output; after a tsc
 * run alone, the modules tsc wrote. Resolving, reading and compiling ~300 modules one by
 * one was most of a small run's time (README, Performance).
 */
const BUNDLE = path.join(__dirname, '../bundle/tcpflow-ts.js');
/** V8's code cache for the bundle: scripts/bundle.ts writes it with a run of the bundle. */
const CACHE = `${BUNDLE}.cache`;

function mtime(file: string): number {
  return fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? -1;
}

type ModuleFunction = (exports: object, require: NodeJS.Require, module: { exports: object }, filename: string, dirname: string) => void;

function runBundle(): boolean {
  const built = mtime(BUNDLE);
  if (built < mtime(path.join(__dirname, 'tcpflow.js'))) return false;
  // V8 checks a cache against the source's length, not its text: one older than the bundle is not used.
  const cachedData = mtime(CACHE) >= built ? fs.readFileSync(CACHE) : undefined;
  // The bundle is one function expression: (exports, require, module, __filename, __dirname) => void,
  // in ASCII (scripts/bundle.ts checks), which latin1 decodes exactly and faster than UTF-8.
  const script = new vm.Script(fs.readFileSync(BUNDLE, 'latin1'), {
    filename: BUNDLE,
    cachedData,
  });
  // -e js imports its module with import(), which code compiled here cannot call (src/util/importer.ts).
  (globalThis as { [IMPORTER]?: unknown })[IMPORTER] = newImporter();
  if (process.env.TCPFLOW_TS_WRITE_CODE_CACHE === '1') {
    // After the run: the cache then holds the functions it compiled, not only the top level.
    process.on('exit', () => fs.writeFileSync(CACHE, script.createCachedData()));
  }
  const module = { exports: {} };
  (script.runInThisContext() as ModuleFunction)(module.exports, createRequire(BUNDLE), module, BUNDLE, path.dirname(BUNDLE));
  return true;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
if (!runBundle()) require('./tcpflow');
