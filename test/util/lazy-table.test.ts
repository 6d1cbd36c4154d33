import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lazyTable } from '../../src/util/lazy-table';

test('lazyTable: the same texts before and after its table is made, made once', () => {
  let made = 0;
  const text = (i: number) => { made++; return `<${i}>`; };
  const t = lazyTable(10, text, 4);
  for (let round = 0; round < 3; round++) for (let i = 0; i < 10; i++) assert.equal(t(i), `<${i}>`);
  // 3 uses computed one by one, then the table (10 texts), then lookups only.
  assert.equal(made, 3 + 10);
});
