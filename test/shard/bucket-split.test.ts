/**
 * The bucket split (src/shard/bucket-split.ts): which worker session owns which flow
 * bucket, in proportion to the sessions' weights. That the output does not depend on it
 * is test/oracle/workers.test.ts's (real captures) and the fuzzer's (uneven cross-checks);
 * that dispatch follows it, test/shard/dispatch.test.ts's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FLOW_BUCKETS } from '../../src/flow/buckets';
import { evenSplit, splitBuckets } from '../../src/shard/bucket-split';
import { Rng } from '../flow/rng';

test('evenSplit: bucket mod sessions, as before weights (any count up to --workers\' 256)', () => {
  for (let n = 1; n <= 256; n++) {
    const s = evenSplit(n);
    assert.equal(s.sessions, n);
    assert.deepEqual([...s.owner], Array.from({ length: FLOW_BUCKETS }, (_, b) => b % n), `${n} sessions`);
  }
});

test('splitBuckets: every bucket owned by exactly one session of weight > 0, each session\'s count its share rounded up or down, for random weights', () => {
  const rng = new Rng(0x5b1173);
  for (let k = 0; k < 3000; k++) {
    const n = rng.chance(0.1) ? rng.int(60, 300) : rng.int(1, 8);
    const weights: number[] = Array.from({ length: n }, () => (rng.chance(0.15) ? 0 : rng.chance(0.5) ? rng.int(1, 4) : rng.next() * 3));
    if (!weights.some((w) => w > 0)) weights[rng.int(0, n - 1)] = rng.next() + 0.01;
    const s = splitBuckets(weights);
    assert.equal(s.sessions, n);
    assert.equal(s.owner.length, FLOW_BUCKETS);
    const counts = new Array<number>(n).fill(0);
    for (const o of s.owner) {
      assert.ok(Number.isInteger(o) && o >= 0 && o < n, `owner ${o} of ${n}`);
      counts[o]++;
    }
    const total = weights.reduce((a, b) => a + b, 0);
    for (let i = 0; i < n; i++) {
      const share = (weights[i] / total) * FLOW_BUCKETS;
      if (weights[i] === 0) assert.equal(counts[i], 0, `weight 0 owns nothing (${weights.join(', ')})`);
      else assert.ok(counts[i] >= Math.floor(share - 1e-6) && counts[i] <= Math.ceil(share + 1e-6), `session ${i}: ${counts[i]} buckets for a share of ${share} (${weights.join(', ')})`);
    }
    // The same weights, the same table (every run of one command line splits alike); scaled weights too.
    assert.deepEqual(splitBuckets(weights).owner, s.owner);
    assert.deepEqual(splitBuckets(weights.map((w) => w * 4)).owner, s.owner);
  }
});

test('splitBuckets: the main thread\'s session beside one thread on 2 CPUs (weights 1 and 0.5, 0.64) owns a third and two fifths, spread over the buckets', () => {
  for (const [w, owned] of [[0.5, 21], [0.64, 25]]) {
    const s = splitBuckets([1, w]);
    const mine = [...s.owner.keys()].filter((b) => s.owner[b] === 1);
    assert.equal(mine.length, owned, `weight ${w}`);
    // Interleaved, not a block: every run of 8 buckets has some of each session.
    for (let b = 0; b < FLOW_BUCKETS; b += 8) {
      const run = [...s.owner.subarray(b, b + 8)];
      assert.ok(run.includes(0) && run.includes(1), `weight ${w}: buckets ${b}-${b + 7}: ${run.join('')}`);
    }
  }
});

test('splitBuckets refuses weights that cannot share anything out', () => {
  for (const bad of [[], [0], [0, 0], [1, -1], [1, Number.NaN], [Number.POSITIVE_INFINITY]]) {
    assert.throws(() => splitBuckets(bad), RangeError, JSON.stringify(bad));
  }
});
