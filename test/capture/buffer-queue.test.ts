/**
 * BufferQueue (the decompressed input's and the filter child's queue): random pushes and
 * reads of random lengths give back exactly the bytes pushed, in order, and `queued`
 * counts what is left.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferQueue } from '../../src/capture/buffer-queue';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

test('BufferQueue: bytes come out in the order pushed, across part boundaries, queued exact', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const r = rng(seed);
    const q = new BufferQueue();
    const pushed: number[] = [];
    const read: number[] = [];
    let next = 0;
    for (let step = 0; step < 50; step++) {
      if (r() < 0.5) {
        const b = Buffer.alloc(Math.floor(r() * 40));
        for (let i = 0; i < b.length; i++) b[i] = next++ & 0xff;
        q.push(b);
        pushed.push(...b);
      } else {
        const dst = new Uint8Array(64);
        const off = Math.floor(r() * 8);
        const len = Math.floor(r() * (64 - off));
        const before = q.queued;
        const n = q.read(dst, off, len);
        assert.equal(n, Math.min(len, before));
        read.push(...dst.subarray(off, off + n));
      }
      assert.equal(q.queued, pushed.length - read.length);
    }
    const rest = new Uint8Array(q.queued);
    assert.equal(q.read(rest, 0, rest.length), rest.length);
    read.push(...rest);
    assert.deepEqual(read, pushed);
    assert.equal(q.read(new Uint8Array(4), 0, 4), 0);
  }
});
