import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { END_OF_INPUT, type HeldRecords, RecordMerge, RecordSpill } from '../../src/report/record-spill';
import { encodeRecord, type FlowRecord } from '../../src/report/flow-record';
import { Rng } from '../flow/rng';
import { freeSpace } from '../../src/util/disk';

/** A record whose file name carries `text`: what the merge hands back is checked by it. */
function asRecord(text: string): FlowRecord {
  return {
    type: 'flow', filename: text, filesize: 0, startime: '1970-01-01T00:00:00Z', endtime: '1970-01-01T00:00:00Z', family: 2,
    src_ipn: '10.0.0.1', dst_ipn: '10.0.0.2', srcport: 1, dstport: 2, packets: 1, len: 60,
  };
}

/** The text a merged record carries (an empty one as absent: no file name is empty). */
const carried = (r: FlowRecord) => r.filename ?? '';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpflow-spill-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
const tmp = () => path.join(dir, `part${n++}`);

interface Rec { close: number; first: number; xml: string }

function writeAll(recs: Rec[][]): string[] {
  return recs.map((list) => {
    const w = new RecordSpill(tmp());
    for (const r of list) w.add(r.close === END_OF_INPUT ? Infinity : r.close, r.first, encodeRecord(asRecord(r.xml)));
    assert.equal(w.count, list.length);
    w.close();
    return w.path as string;
  });
}

/** The workers' spill files (and held records) after they finished, merged as the coordinator does at the end. */
function finished(paths: readonly string[], held: readonly HeldRecords[], write: (r: FlowRecord) => void): RecordMerge {
  const m = new RecordMerge([], paths, (line) => write(line.record()));
  m.finish(held);
  return m;
}

function merged(paths: string[]): { whole: string; pieces: string[] } {
  const pieces: string[] = [];
  finished(paths, [], (b) => pieces.push(carried(b))).pump();
  return { whole: pieces.join(''), pieces };
}

const order = (a: Rec, b: Rec) => a.close - b.close || a.first - b.first;

test('three writers with interleaved keys merge into one globally sorted stream', () => {
  const r = new Rng(31337);
  const all: Rec[] = [];
  const per: Rec[][] = [[], [], []];
  let packet = 0;
  for (let i = 0; i < 3000; i++) {
    packet += r.int(0, 3); // equal close packets too, so ties are broken by the first packet
    const rec: Rec = {
      close: r.chance(0.1) ? END_OF_INPUT : packet,
      first: r.int(0, 1e6),
      xml: `    <fileobject>\n      <filename>f${i}-é€😀&amp;\n</filename>\n    </fileobject>\n`,
    };
    all.push(rec);
    per[r.int(0, 2)].push(rec);
  }
  // Each worker writes its own records in key order (as it closes flows in order).
  for (const list of per) list.sort(order);
  const paths = writeAll(per);
  const { whole, pieces } = merged(paths);
  const want = [...all].sort(order);
  assert.equal(pieces.length, want.length);
  assert.equal(whole, want.map((x) => x.xml).join(''));
});

test('records closed at end of input come after all others, ordered by first packet', () => {
  const paths = writeAll([
    [{ close: 5, first: 1, xml: 'a' }, { close: END_OF_INPUT, first: 0, xml: 'e0' }, { close: END_OF_INPUT, first: 9, xml: 'e9' }],
    [{ close: 7, first: 2, xml: 'b' }, { close: END_OF_INPUT, first: 4, xml: 'e4' }],
    [],
  ]);
  assert.deepEqual(merged(paths).pieces, ['a', 'b', 'e0', 'e4', 'e9']);
});

test('ties on the close packet are broken by the first packet', () => {
  const paths = writeAll([
    [{ close: 10, first: 3, xml: '3' }, { close: 10, first: 8, xml: '8' }],
    [{ close: 10, first: 1, xml: '1' }, { close: 10, first: 5, xml: '5' }],
    [{ close: 9, first: 100, xml: 'x' }, { close: 10, first: 4, xml: '4' }],
  ]);
  assert.deepEqual(merged(paths).pieces, ['x', '1', '3', '4', '5', '8']);
});

test('large records (> 1 MiB) and many flushes survive intact', () => {
  const r = new Rng(9);
  // Multi-byte characters and newlines throughout, so lengths in bytes and in characters differ.
  const unit = [...'abc\n<>&é€😀 0123456789'];
  const big = (len: number, seed: number) => {
    const head = unit.slice(seed % unit.length).join('') + String(seed);
    const s = (head + unit.join('')).repeat(Math.ceil(len / 20) + 1).slice(0, len);
    return /[\ud800-\udbff]$/.test(s) ? s.slice(0, -1) : s; // never end in half a surrogate pair
  };
  const per: Rec[][] = [[], [], []];
  const all: Rec[] = [];
  for (let i = 0; i < 60; i++) {
    const size = i % 10 === 0 ? r.int(1 << 20, 3 << 20) : r.int(0, 300000);
    const rec = { close: i * 2, first: i, xml: big(size, i) };
    all.push(rec);
    per[i % 3].push(rec);
  }
  const paths = writeAll(per);
  const { pieces } = merged(paths);
  assert.equal(pieces.length, all.length);
  for (let i = 0; i < all.length; i++) {
    assert.equal(pieces[i], all[i].xml, `record ${i}`);
  }
  assert.ok(all.some((x) => Buffer.byteLength(x.xml) > 1 << 20));
});

test('empty spill files and no files merge to nothing', () => {
  assert.deepEqual(merged(writeAll([[], [], []])).pieces, []);
  assert.deepEqual(merged([]).pieces, []);
});

test('an empty record is kept', () => {
  const paths = writeAll([[{ close: 1, first: 1, xml: '' }, { close: 2, first: 2, xml: 'z' }]]);
  assert.deepEqual(merged(paths).pieces, ['', 'z']);
});

test('a truncated spill file is an error', () => {
  const [p] = writeAll([[{ close: 1, first: 1, xml: 'hello world' }]]);
  const data = fs.readFileSync(p);
  fs.writeFileSync(p, data.subarray(0, data.length - 3));
  assert.throws(() => finished([p], [], () => undefined).pump(), /truncated/);
});

// ---------------------------------------------------------------- a spill file that cannot be written

/** `n` records with increasing keys and ~`size`-character bodies, for worker `w` of `of`. */
function records(n: number, size: number, w = 0, of = 1): Rec[] {
  return Array.from({ length: n }, (_, i) => ({ close: i * of + w, first: i, xml: `<r w='${w}' i='${i}'>${'é'.repeat(size)}</r>\n` }));
}

function addAll(wr: RecordSpill, recs: readonly Rec[]): void {
  for (const r of recs) wr.add(r.close, r.first, encodeRecord(asRecord(r.xml)));
}

const pieces = (paths: readonly string[], held: readonly HeldRecords[] = []) => {
  const out: string[] = [];
  finished(paths, held, (b) => out.push(carried(b))).pump();
  return out;
};

test('a spill file on a full disk (/dev/full): every record held in memory, merged in order with the others', () => {
  // Big enough for several flushes: the first one fails, the later ones are held too.
  const bad = records(3000, 200, 0, 2);
  const good = records(3000, 200, 1, 2);
  const w0 = new RecordSpill('/dev/full');
  const w1 = new RecordSpill(tmp());
  addAll(w0, bad);
  addAll(w1, good);
  w0.close();
  w1.close();
  const held = w0.heldRecords();
  assert.ok(held !== null);
  assert.equal(held.spilled, 0);
  assert.equal(held.dropped, 0);
  assert.equal(held.error, '/dev/full: No space left on device');
  assert.equal(w1.heldRecords(), null);
  const want = [...bad, ...good].sort(order).map((r) => r.xml);
  assert.deepEqual(pieces([w1.path as string], [held]), want);
  // The same records read into memory first (the report writer's way of freeing the disk).
  const out: string[] = [];
  const m = finished([w1.path as string], [held], (b) => out.push(carried(b)));
  assert.ok(m.remaining() > 2 * 3000 * 400);
  assert.equal(m.loadRest(1000), false, 'more than the limit');
  assert.equal(m.loadRest(Infinity), true);
  fs.rmSync(w1.path as string);
  m.pump();
  assert.deepEqual(out, want);
});

test('held records are bounded: past the limit whole batches are dropped and counted, the held ones are the first', () => {
  const recs = records(4000, 300);
  const w = new RecordSpill('/dev/full', { holdLimit: 1 << 20 });
  addAll(w, recs);
  w.close();
  const held = w.heldRecords();
  assert.ok(held !== null);
  assert.ok(held.text.length <= 1 << 20);
  const got = pieces([], [held]);
  assert.ok(got.length > 0 && held.dropped > 0);
  assert.equal(got.length + held.dropped, recs.length);
  assert.deepEqual(got, recs.slice(0, got.length).map((r) => r.xml));
});

test('a spill file that filled up mid-write: the whole records before are read, the torn tail is skipped, held records follow', (t) => {
  const mnt = path.join(dir, 'mnt');
  fs.mkdirSync(mnt);
  // Room for the first flush (256 Ki characters, ~500 KB here), not the second.
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=700k', 'tmpfs', mnt]).status !== 0) {
    t.skip('cannot mount a tmpfs here (needs root)');
    return;
  }
  try {
    const recs = records(3000, 200);
    const w = new RecordSpill(path.join(mnt, 'part0'));
    addAll(w, recs);
    w.close();
    const held = w.heldRecords();
    assert.ok(held !== null, 'the tmpfs did not fill up');
    assert.ok(held.spilled > 0, 'nothing was spilled before the disk filled');
    assert.equal(held.dropped, 0);
    assert.match(held.error, /part0: No space left on device$/);
    // The file was cut back to its whole records.
    assert.equal(fs.statSync(w.path as string).size, held.spilled);
    assert.deepEqual(pieces([w.path as string], [held]), recs.map((r) => r.xml));
  } finally {
    spawnSync('umount', [mnt]);
  }
});

test('a torn tail beyond the spilled length is never read', () => {
  const [p] = writeAll([records(50, 10)]);
  const spilled = fs.statSync(p).size;
  fs.appendFileSync(p, '99 99 100000\n<half a rec');
  const later = records(60, 10).slice(50);
  const held = {
    path: p, spilled, dropped: 0, error: 'x',
    text: later.map((r) => `${r.close} ${r.first} ${encodeRecord(asRecord(r.xml))}\n`).join(''),
  };
  assert.deepEqual(pieces([p], [held]), records(60, 10).map((r) => r.xml));
});

test('without a spill file every record is held in memory and merged with the spilled ones', () => {
  const mem = records(500, 20, 0, 2), disk = records(500, 20, 1, 2);
  const w0 = new RecordSpill(null);
  const w1 = new RecordSpill(tmp());
  addAll(w0, mem);
  addAll(w1, disk);
  w0.close();
  w1.close();
  const held = w0.heldRecords();
  assert.ok(held !== null && held.path === null && held.dropped === 0);
  assert.deepEqual(pieces([w1.path as string], [held]), [...mem, ...disk].sort(order).map((r) => r.xml));
});

test('on a nearly full file system the spill is padded to the room its records take in the reports; padding is never read', (t) => {
  const mnt = path.join(dir, 'mnt-pad');
  fs.mkdirSync(mnt);
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt]).status !== 0) {
    t.skip('cannot mount a tmpfs here (needs root)');
    return;
  }
  try {
    const recs = records(500, 20);
    const room = { perChar: 4, perRecord: 720 };
    const w = new RecordSpill(path.join(mnt, 'part0'), { room });
    addAll(w, recs);
    w.close();
    assert.equal(w.heldRecords(), null);
    const lines = fs.readFileSync(path.join(mnt, 'part0'), 'utf8').split('\n').filter((l) => l !== '');
    const own = lines.filter((l) => !l.startsWith(' '));
    assert.equal(own.length, 500);
    // Each record's line and its padding take the room the reports need for it.
    const size = fs.statSync(path.join(mnt, 'part0')).size;
    const needed = own.reduce((n, l) => n + room.perChar * (l.length + 1) + room.perRecord, 0);
    assert.ok(size >= needed, `${size} bytes spilled, ${needed} needed`);
    assert.deepEqual(pieces([path.join(mnt, 'part0')]), recs.map((r) => r.xml));
    const out: string[] = [];
    const m = finished([path.join(mnt, 'part0')], [], (b) => out.push(carried(b)));
    assert.ok(m.loadRest(Infinity));
    assert.ok(m.remaining() < size / 4, 'the padding is not loaded');
    m.pump();
    assert.deepEqual(out, recs.map((r) => r.xml));
  } finally {
    spawnSync('umount', [mnt]);
  }
});

test('with room to spare nothing is padded', (t) => {
  const p = tmp();
  if (freeSpace(p) < 128 * 1024 * 1024) { t.skip(`${dir} is nearly full`); return; }
  const w = new RecordSpill(p, { room: { perChar: 4, perRecord: 720 } });
  addAll(w, records(100, 20));
  w.close();
  const text = fs.readFileSync(w.path as string, 'utf8');
  assert.ok(!/^ /m.test(text));
});

// ---------------------------------------------------------------- merging while the workers run

interface Sim {
  /** Records in report order. */
  want: string[];
  /** Records the merge wrote before finish(). */
  early: number;
  got: string[];
}

/**
 * A run as the coordinator sees it: packets in chunks of random sizes, each packet owned by
 * one of `workers` workers (weights `share`), which closes flows at its own packets (and at
 * every packet of a chunk, with tcp_timeout's `everyChunk`) and spills them; releases
 * arrive in a random interleaving, workers lagging behind by up to `lag` chunks, and each
 * one tells the merge its spilled bytes and the packet before which it will close no
 * more flows (Coordinator.onMessage's rule). `failing`: that worker's spill is /dev/full.
 */
function simulate(seed: number, opts: { workers: number; share: number[]; lag: number; everyChunk?: boolean; failing?: number }): Sim {
  const r = new Rng(seed);
  const { workers, share } = opts;
  const spills = Array.from({ length: workers }, (_, w) => new RecordSpill(w === opts.failing ? '/dev/full' : tmp()));
  const all: Rec[] = [];
  const got: string[] = [];
  const merge = new RecordMerge([], spills.map((s) => s.path), (line) => got.push(carried(line.record())));
  const owner = (): number => {
    let x = r.int(0, share.reduce((a, b) => a + b) - 1);
    for (let w = 0; w < workers; w++) if ((x -= share[w]) < 0) return w;
    return workers - 1;
  };
  const queues: { end: number; closes: Rec[] }[][] = Array.from({ length: workers }, () => []);
  const unreleased = new Array<number>(workers).fill(0);
  let packet = 0, flow = 0;
  const release = (w: number) => {
    const c = queues[w].shift() as { end: number; closes: Rec[] };
    for (const rec of c.closes) spills[w].add(rec.close, rec.first, encodeRecord(asRecord(rec.xml)));
    const bytes = spills[w].flushed();
    const left = --unreleased[w];
    if (bytes >= 0) merge.grow(w, bytes, left === 0 ? packet : c.end);
    merge.pump();
  };
  for (let chunk = 0; chunk < 60; chunk++) {
    const size = r.int(1, 40);
    const mine: Rec[][] = Array.from({ length: workers }, () => []);
    const sent = new Set<number>();
    for (let i = 0; i < size; i++, packet++) {
      const w = owner();
      sent.add(w);
      // Flows closed at this packet, in first-packet order (a worker closes them so).
      const closers = opts.everyChunk ? Array.from({ length: workers }, (_, k) => k) : [w];
      for (const k of closers) {
        const n = r.chance(0.3) ? r.int(1, 3) : 0;
        const firsts = Array.from({ length: n }, () => r.int(0, packet)).sort((a, b) => a - b);
        for (const first of firsts) mine[k].push({ close: packet, first, xml: `f${flow++}` });
      }
    }
    for (let w = 0; w < workers; w++) {
      if (!sent.has(w) && !opts.everyChunk) continue;
      queues[w].push({ end: packet, closes: mine[w] });
      unreleased[w]++;
      all.push(...mine[w]);
    }
    // Each worker releases some of its chunks, keeping at most `lag` behind.
    for (let w = 0; w < workers; w++) {
      while (queues[w].length > 0 && (queues[w].length > opts.lag || r.chance(0.4))) release(w);
    }
  }
  for (let w = 0; w < workers; w++) while (queues[w].length > 0) release(w);
  const early = got.length;
  // End of input: every worker closes its open flows.
  for (let w = 0; w < workers; w++) {
    for (let k = 0; k < 5; k++) {
      const rec = { close: END_OF_INPUT, first: r.int(0, packet) + k * packet, xml: `e${flow++}` };
      spills[w].add(Infinity, rec.first, encodeRecord(asRecord(rec.xml)));
      all.push(rec);
    }
    spills[w].close();
  }
  merge.finish(spills.map((s) => s.heldRecords()).filter((h): h is HeldRecords => h !== null));
  merge.pump();
  return { want: [...all].sort(order).map((x) => x.xml), early, got };
}

test('merging while the workers run: any interleaving of releases gives the report order, most records before the end', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const s = simulate(seed, { workers: 3, share: [1, 1, 1], lag: 3 });
    assert.deepEqual(s.got, s.want, `seed ${seed}`);
    assert.ok(s.early > s.want.length / 2, `seed ${seed}: only ${s.early} of ${s.want.length} records merged during the run`);
  }
});

test('merging while the workers run: a worker far behind the others holds back only what it could still precede', () => {
  for (let seed = 1; seed <= 10; seed++) {
    const s = simulate(seed, { workers: 2, share: [1, 1], lag: 25 });
    assert.deepEqual(s.got, s.want, `seed ${seed}`);
  }
});

test('merging while the workers run: a worker with few packets (idle for many chunks) does not stall the merge', () => {
  for (let seed = 1; seed <= 10; seed++) {
    const s = simulate(seed, { workers: 3, share: [20, 20, 1], lag: 2 });
    assert.deepEqual(s.got, s.want, `seed ${seed}`);
    assert.ok(s.early > s.want.length / 2, `seed ${seed}: only ${s.early} of ${s.want.length} merged during the run`);
  }
});

test('merging while the workers run: with tcp_timeout every worker gets every chunk and closes flows at any packet', () => {
  for (let seed = 1; seed <= 10; seed++) {
    const s = simulate(seed, { workers: 4, share: [1, 2, 3, 4], lag: 4, everyChunk: true });
    assert.deepEqual(s.got, s.want, `seed ${seed}`);
  }
});

test('merging while the workers run: a worker whose spill fails holds the merge back until its held records arrive', () => {
  const s = simulate(7, { workers: 3, share: [1, 1, 1], lag: 3, failing: 1 });
  assert.deepEqual(s.got, s.want);
  assert.equal(s.early, 0, 'records went out before the failing worker\'s held records were known');
});

test('a worker that never spills (no packets at all) finishes with an empty spill file', () => {
  const got: string[] = [];
  const busy = new RecordSpill(tmp()), idle = new RecordSpill(tmp());
  const merge = new RecordMerge([], [busy.path, idle.path], (line) => got.push(carried(line.record())));
  busy.add(3, 1, encodeRecord(asRecord('a')));
  merge.grow(0, busy.flushed(), 10);
  merge.pump();
  assert.deepEqual(got, [], 'the idle worker has said nothing: it could still close a flow at packet 0');
  merge.grow(1, idle.flushed(), 10);
  merge.pump();
  assert.deepEqual(got, ['a']);
  busy.add(12, 2, encodeRecord(asRecord('b')));
  merge.grow(0, busy.flushed(), 13);
  merge.pump();
  assert.deepEqual(got, ['a'], 'the idle worker may still close a flow at packet 10-12');
  busy.close();
  idle.close();
  fs.rmSync(idle.path as string);
  merge.finish([]);
  merge.pump();
  assert.deepEqual(got, ['a', 'b']);
});
