import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IntervalSet } from '../../src/flow/intervals';
import { Rng } from './rng';

/** The naive model: a set of positions. */
class Model {
  readonly pos = new Set<number>();
  add(a: number, b: number): void {
    for (let i = a; i < b; i++) this.pos.add(i);
  }
  shift(d: number): void {
    const all = [...this.pos];
    this.pos.clear();
    for (const p of all) this.pos.add(p + d);
  }
  runs(): number {
    let n = 0;
    for (const p of this.pos) if (!this.pos.has(p - 1)) n++;
    return n;
  }
}

function compare(s: IntervalSet, m: Model, lo: number, hi: number, ctx: string): void {
  assert.equal(s.size, m.pos.size, `${ctx}: size`);
  assert.equal(s.runs, m.runs(), `${ctx}: runs`);
  for (let p = lo; p < hi; p++) {
    if (s.has(p) !== m.pos.has(p)) assert.fail(`${ctx}: has(${p}) = ${s.has(p)}, model ${m.pos.has(p)}`);
  }
  // The gaps in [0, hi), whether the set is one run kept inline or several.
  const gaps: [number, number][] = [];
  for (let p = 0; p < hi; p++) {
    if (m.pos.has(p)) continue;
    const g = gaps[gaps.length - 1];
    if (g !== undefined && g[1] === p) g[1] = p + 1; else gaps.push([p, p + 1]);
  }
  assert.deepEqual(s.gaps(Math.max(0, hi)), gaps, `${ctx}: gaps`);
}

test('empty set', () => {
  const s = new IntervalSet();
  assert.equal(s.size, 0);
  assert.equal(s.runs, 0);
  assert.equal(s.has(0), false);
  assert.equal(s.has(-1), false);
});

test('empty and inverted ranges are ignored', () => {
  const s = new IntervalSet();
  s.add(5, 5);
  s.add(9, 3);
  assert.equal(s.size, 0);
  assert.equal(s.runs, 0);
});

test('touching intervals merge; overlaps are counted once', () => {
  const s = new IntervalSet();
  s.add(10, 20);
  s.add(30, 40);
  assert.equal(s.runs, 2);
  s.add(20, 30);
  assert.equal(s.runs, 1);
  assert.equal(s.size, 30);
  s.add(0, 10);
  assert.equal(s.runs, 1);
  assert.equal(s.size, 40);
  s.add(5, 35);
  assert.equal(s.size, 40);
  s.add(-5, 45);
  assert.equal(s.size, 50);
  assert.equal(s.has(-5), true);
  assert.equal(s.has(45), false);
  assert.equal(s.has(44), true);
});

test('one add covering many intervals', () => {
  const s = new IntervalSet();
  for (let i = 0; i < 50; i++) s.add(i * 10, i * 10 + 3);
  assert.equal(s.runs, 50);
  assert.equal(s.size, 150);
  s.add(15, 405);
  // [0,3) [10,13) [15,405) [410,413) ... [490,493)
  assert.equal(s.runs, 1 + 1 + 1 + 9);
  assert.equal(s.size, 3 + 3 + 390 + 9 * 3);
  assert.equal(s.has(14), false);
  assert.equal(s.has(404), true);
  assert.equal(s.has(405), false);
});

test('shift moves every position', () => {
  const s = new IntervalSet();
  s.add(0, 4);
  s.add(8, 12);
  s.shift(10);
  assert.equal(s.size, 8);
  assert.equal(s.has(9), false);
  assert.equal(s.has(10), true);
  assert.equal(s.has(14), false);
  assert.equal(s.has(18), true);
  assert.equal(s.has(21), true);
  assert.equal(s.has(22), false);
});

test('large positions beyond 2^32 stay exact', () => {
  const s = new IntervalSet();
  const b = 2 ** 40;
  s.add(b, b + 100);
  s.add(b + 50, b + 2 ** 33);
  assert.equal(s.size, 2 ** 33);
  assert.equal(s.has(b + 2 ** 33 - 1), true);
  assert.equal(s.has(b + 2 ** 33), false);
});

test('randomized against a Set<number> model', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const r = new Rng(seed);
    const s = new IntervalSet();
    const m = new Model();
    const span = r.pick([20, 100, 1000]);
    const maxLen = r.pick([1, 5, 30, span]);
    const ops = r.int(1, 80);
    let lo = 0, hi = span;
    for (let k = 0; k < ops; k++) {
      if (r.chance(0.05)) {
        const d = r.int(1, 50);
        s.shift(d);
        m.shift(d);
        lo += d; hi += d;
      } else {
        // Mostly in-order appends (the fast paths), sometimes anywhere.
        const a = r.chance(0.4) ? hi - r.int(0, 3) : r.int(lo - 5, hi);
        const b = a + r.int(-1, maxLen);
        s.add(a, b);
        m.add(a, b);
        if (b > hi) hi = b;
        if (a < lo) lo = a;
      }
      if (k % 7 === 0 || k === ops - 1) compare(s, m, lo - 3, hi + 3, `seed ${seed} op ${k}`);
    }
  }
});
