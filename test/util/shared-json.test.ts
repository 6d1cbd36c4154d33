import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeShared, encodeShared } from '../../src/util/shared-json';

test('encodeShared/decodeShared: values come back equal, repeated parts written once and shared', () => {
  const names = ['--read', '--outdir', '--debug', '--quiet'];
  const node = { dynamics: [[['isOption', '--read', false], { to: 5, reducer: 'pushUndefined' }]], statics: { '\u0000': [{ to: 1 }] }, shortcuts: [] };
  const value = { nodes: [node, { ...node }, { dynamics: [[['isBatchOption', names], { to: 3 }]], statics: {}, shortcuts: [] }], n: 0, s: 'x', b: true, z: null };
  const text = encodeShared(value);
  const back = decodeShared(text) as typeof value;
  assert.deepEqual(back, value);
  // The two equal nodes are one object after decoding, and written once.
  assert.equal(back.nodes[0], back.nodes[1]);
  assert.equal(text.split('pushUndefined').length - 1, 1);
});

test('encodeShared: numbers, strings and arrays at the top level; an object with a key "@" is refused', () => {
  for (const v of [0, 'a', [1, [2, [3]]], [], {}, [{}, {}]]) assert.deepEqual(decodeShared(encodeShared(v)), v);
  assert.throws(() => encodeShared({ a: { '@': 1 } }), /key '@'/);
});
