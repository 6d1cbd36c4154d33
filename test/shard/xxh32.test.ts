import { test } from 'node:test';
import assert from 'node:assert/strict';
import xxhash from 'xxhash-wasm';
import { xxh32 } from '../../src/shard/xxh32';

test('xxh32: the reference values, and xxhash-wasm\'s h32Raw on every length 0-100 with several seeds', async () => {
  const enc = new TextEncoder();
  // xxHash's own test values.
  assert.equal(xxh32(new Uint8Array(0), 0), 0x02cc5d05);
  assert.equal(xxh32(enc.encode('a'), 0), 0x550d7456);
  assert.equal(xxh32(enc.encode('abc'), 0), 0x32d153ff);
  assert.equal(xxh32(enc.encode('Nobody inspects the spammish repetition'), 0), 0xe2293b2f);
  const { h32Raw } = await xxhash();
  let x = 12345;
  const next = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
  for (let len = 0; len <= 100; len++) {
    const b = Uint8Array.from({ length: len }, next);
    for (const seed of [0, 1, 0x9e3779b1, 0xffffffff, 0x7fffffff]) assert.equal(xxh32(b, seed), h32Raw(b, seed) >>> 0, `length ${len} seed ${seed}`);
  }
});
