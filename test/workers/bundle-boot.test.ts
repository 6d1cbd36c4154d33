/**
 * workers/bundle-boot.ts: the worker threads of a run from dist/bundle/ compile the worker's
 * bundle with the code cache the build wrote (scripts/bundle.ts). V8 refuses a cache made
 * under other flags, silently (the thread then compiles as before, ~6 ms more): this checks
 * the build's cache against a fresh worker thread, which boots under the flags every worker
 * boots under (src/run.ts changes them only once every thread has booted).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { REPO_ROOT } from '../helpers/corpus';

const BUNDLE = path.join(REPO_ROOT, 'dist', 'bundle', 'flow-worker.js');
const BOOT = path.join(REPO_ROOT, 'dist', 'workers', 'bundle-boot.js');

/** What `code` (run in a new worker thread, with BUNDLE and BOOT defined) posts back. */
function inWorker(code: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const w = new Worker(`const { parentPort } = require('node:worker_threads');
      const BUNDLE = ${JSON.stringify(BUNDLE)}, BOOT = ${JSON.stringify(BOOT)};
      ${code}`, { eval: true });
    w.once('message', resolve);
    w.once('error', reject);
  });
}

test('the worker bundle\'s code cache is accepted by a worker thread', { skip: !fs.existsSync(BUNDLE) && 'no dist/bundle (npm run build)' }, async () => {
  assert.ok(fs.statSync(`${BUNDLE}.cache`).mtimeMs >= fs.statSync(BUNDLE).mtimeMs, 'the cache is not older than the bundle');
  const rejected = await inWorker(`const { Script } = require('node:vm'); const fs = require('node:fs');
    const s = new Script(fs.readFileSync(BUNDLE, 'latin1'), { filename: BUNDLE, cachedData: fs.readFileSync(BUNDLE + '.cache') });
    parentPort.postMessage(s.cachedDataRejected);`);
  assert.equal(rejected, false);
});

test('the loader gives the thread the bundle\'s task function', { skip: !fs.existsSync(BUNDLE) && 'no dist/bundle (npm run build)' }, async () => {
  const kind = await inWorker(`const m = require(BOOT); parentPort.postMessage([m.__esModule, typeof m.default, m.default.name]);`);
  assert.deepEqual(kind, [true, 'function', 'flowWorker']);
});
