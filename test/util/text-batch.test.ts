import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TextBatch } from '../../src/util/text-batch';

test('text batch: strings appended as UTF-8, sizes in bytes, fits() keeps room for the worst case', () => {
  const b = new TextBatch(16);
  assert.equal(b.append('abc'), 3);
  assert.equal(b.append('é€'), 5);
  assert.equal(b.bytes.toString('utf8', 0, b.length), 'abcé€');
  // 8 used, 8 left: two code units may take 6 bytes, three may take 9.
  assert.equal(b.fits('xy'), true);
  assert.equal(b.fits('xyz'), false);
  b.clear();
  assert.equal(b.length, 0);
  assert.equal(b.fits('x'.repeat(5)), true);
});

test('text batch: an empty batch grows to take a string larger than it, whole', () => {
  const b = new TextBatch(4);
  const big = '€'.repeat(100);
  assert.equal(b.fits(big), false);
  assert.equal(b.append(big), 300);
  assert.equal(b.bytes.toString('utf8', 0, b.length), big);
});
