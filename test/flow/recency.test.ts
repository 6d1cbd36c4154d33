/**
 * Recency (src/flow/recency.ts), the open-flow cap's order of flows by when they were last
 * seen: against a plain model (the open flows, least recent = smallest lastPacket) over
 * random new flows, packets, closes and purges in a few buckets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Recency, type SeenFlow } from '../../src/flow/recency';
import { Rng } from './rng';

interface F extends SeenFlow {
  lastPacket: number;
  id: number;
  bucket: number;
}

function run(seed: number, buckets: number, steps: number, maxOpen: number): { purges: number; stale: number } {
  const rng = new Rng(seed);
  const r = new Recency<F>(buckets);
  const open: F[] = [];
  let packet = 0, id = 0, purges = 0, stale = 0;
  const modelLeast = (b: number) => open.filter((f) => f.bucket === b).sort((x, y) => x.lastPacket - y.lastPacket)[0] ?? null;
  for (let s = 0; s < steps; s++) {
    packet += rng.int(1, 3);
    const b = rng.int(0, buckets - 1);
    const roll = rng.int(0, 99);
    if (roll < 30 || open.length === 0) {
      // A new flow; a full bucket first loses its least recently seen flow (TcpDemux.create).
      if (open.filter((f) => f.bucket === b).length >= maxOpen) {
        const want = modelLeast(b) as F;
        const got = r.leastRecent(b);
        assert.equal(got, want, `step ${s}: least recent of bucket ${b}`);
        r.remove(b, want);
        open.splice(open.indexOf(want), 1);
        purges++;
      }
      const f: F = { lastPacket: packet, recencyIndex: -1, id: id++, bucket: b };
      r.add(b, f);
      open.push(f);
    } else if (roll < 85) {
      // A packet of an open flow: only its lastPacket moves.
      const f = open[rng.int(0, open.length - 1)];
      if (modelLeast(f.bucket) === f) stale++;
      f.lastPacket = packet;
    } else if (roll < 95) {
      const f = open.splice(rng.int(0, open.length - 1), 1)[0];
      r.remove(f.bucket, f);
      assert.equal(f.recencyIndex, -1);
    } else {
      assert.equal(r.leastRecent(b), modelLeast(b), `step ${s}: least recent of bucket ${b}`);
    }
    if (s % 97 === 0) {
      for (let c = 0; c < buckets; c++) {
        const want = open.filter((f) => f.bucket === c).sort((x, y) => x.lastPacket - y.lastPacket);
        assert.deepEqual(r.list(c).map((f) => f.id), want.map((f) => f.id), `step ${s}: bucket ${c}`);
      }
    }
  }
  for (const f of open.splice(0)) r.remove(f.bucket, f);
  for (let c = 0; c < buckets; c++) assert.equal(r.leastRecent(c), null);
  return { purges, stale };
}

test('the least recently seen open flow of a bucket, over packets, closes and purges, as a model says', () => {
  const a = run(1, 3, 20000, 40);
  assert.ok(a.purges > 1000, `${a.purges} purges`);
  assert.ok(a.stale > 100, `${a.stale} packets moved a bucket's least recent flow`);
  run(2, 1, 5000, 1);
  run(3, 8, 20000, 5);
  run(4, 2, 20000, 1000); // never full: closes and packets only
});

test('an empty bucket has no least recent flow; a removed flow leaves no trace', () => {
  const r = new Recency<F>(2);
  assert.equal(r.leastRecent(0), null);
  const f: F = { lastPacket: 5, recencyIndex: -1, id: 1, bucket: 0 };
  const g: F = { lastPacket: 6, recencyIndex: -1, id: 2, bucket: 0 };
  r.add(0, f);
  r.add(0, g);
  assert.equal(r.leastRecent(0), f);
  f.lastPacket = 7;
  assert.equal(r.leastRecent(0), g);
  r.remove(0, g);
  r.remove(0, g); // twice: nothing happens
  assert.equal(r.leastRecent(0), f);
  assert.equal(r.leastRecent(1), null);
  r.remove(0, f);
  assert.deepEqual(r.list(0), []);
});
