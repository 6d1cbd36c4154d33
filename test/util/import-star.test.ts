import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { importStar } from '../../src/util/import-star';

test('importStar: one namespace per module, reading through to the module, as tsc\'s __importStar', () => {
  const ns = importStar(fs) as Record<string, unknown>;
  assert.equal(importStar(fs), ns);
  assert.equal(ns.default, fs);
  assert.equal(ns.readFileSync, fs.readFileSync);
  // A live binding: a changed export is seen through the namespace.
  const mod: Record<string, unknown> = { a: 1 };
  const live = importStar(mod) as Record<string, unknown>;
  mod.a = 2;
  assert.equal(live.a, 2);
  // An ES module (tsc's output) is its own namespace; a value that is not an object is the default.
  const esm = { __esModule: true, x: 1 };
  assert.equal(importStar(esm), esm);
  assert.deepEqual(importStar(null), { default: null });
  // A constant is copied as it is.
  const frozen = Object.freeze({ k: 3 });
  assert.deepEqual(Object.getOwnPropertyDescriptor(importStar(frozen), 'k'), { value: 3, writable: false, enumerable: true, configurable: false });
});
