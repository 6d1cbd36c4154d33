/**
 * Randomized reassembly: random streams cut into random segments, delivered with
 * reordering, duplication, same-byte overlaps and loss. Whatever the order, the file
 * must be the stream at its true positions with zeros exactly where nothing arrived.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, FIN, PSH, SYN } from '../helpers/packets';
import { Harness } from './harness';
import { Rng } from './rng';

interface Seg { start: number; end: number }
type Pkt = { client: boolean; kind: 'syn' | 'data' | 'fin'; seg?: Seg };

interface Side {
  client: boolean;
  isn: number;
  stream: Uint8Array;
  delivered: Seg[];
  packets: Pkt[];
  fin: boolean;
}

function randomIsn(r: Rng): number {
  const k = r.int(0, 3);
  if (k === 0) return 2 ** 32 - r.int(1, 4000); // wraps inside the stream
  if (k === 1) return r.int(0, 100);
  return r.int(0, 2 ** 32 - 1);
}

/** Cut [0, len) into segments, lose some (never the first), add duplicates and overlaps. */
function makeSide(r: Rng, client: boolean, opts: { syn: boolean; finLast: boolean }): Side {
  const maxSeg = r.pick([1, 3, 17, 100, 400]);
  // Tiny segments on short streams only (keeps the packet count, and the run time, down).
  const len = r.int(1, r.chance(0.2) ? 40 : maxSeg < 10 ? 300 : 3000);
  const stream = r.bytes(len);
  const isn = randomIsn(r);
  const segs: Seg[] = [];
  for (let p = 0; p < len;) {
    const n = Math.min(len - p, r.int(1, maxSeg));
    segs.push({ start: p, end: p + n });
    p += n;
  }
  const loss = r.pick([0, 0, 0.05, 0.2, 0.5]);
  const delivered = segs.filter((_, i) => i === 0 || !r.chance(loss));
  const extra: Seg[] = [];
  const nDup = r.int(0, Math.ceil(delivered.length / 3));
  for (let i = 0; i < nDup; i++) extra.push(r.pick(delivered));
  const nOverlap = r.int(0, Math.ceil(segs.length / 3));
  for (let i = 0; i < nOverlap; i++) {
    const a = r.int(0, len - 1);
    const b = Math.min(len, a + r.int(1, 2 * maxSeg));
    extra.push({ start: a, end: b });
  }
  const all = [...delivered, ...extra];
  // Either a full shuffle or a mostly ordered stream with local swaps.
  if (r.chance(0.5)) r.shuffle(all);
  else {
    for (let i = 0; i + 1 < all.length; i++) if (r.chance(0.3)) [all[i], all[i + 1]] = [all[i + 1], all[i]];
  }
  const packets: Pkt[] = all.map((seg) => ({ client, kind: 'data', seg }));
  const fin = r.chance(0.7);
  if (fin) {
    const at = opts.finLast ? packets.length : r.int(0, packets.length);
    packets.splice(at, 0, { client, kind: 'fin' });
  }
  if (opts.syn) packets.unshift({ client, kind: 'syn' });
  return { client, isn, stream, delivered: all, packets, fin };
}

/** Interleave the two sides' packets at random, keeping each side's own order. */
function interleave(r: Rng, a: Pkt[], b: Pkt[]): Pkt[] {
  const out: Pkt[] = [];
  let i = 0, j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && r.chance(0.5))) out.push(a[i++]);
    else out.push(b[j++]);
  }
  return out;
}

function send(h: Harness, side: Side, p: Pkt): void {
  const s = side;
  const f = (o: { seq: number; flags: number; payload?: Uint8Array }) => (s.client ? h.client(o) : h.server(o));
  if (p.kind === 'syn') f({ seq: s.isn, flags: s.client ? SYN : SYN | ACK });
  else if (p.kind === 'fin') f({ seq: (s.isn + 1 + s.stream.length) >>> 0, flags: FIN | ACK });
  else {
    const seg = p.seg as Seg;
    f({ seq: (s.isn + 1 + seg.start) >>> 0, flags: ACK | PSH, payload: s.stream.subarray(seg.start, seg.end) });
  }
}

/** The stream from `from` up to the highest delivered byte, zeros where nothing arrived. */
function expected(side: Side, from: number, maxBytes = -1): { bytes: Uint8Array; covered: boolean; top: number; seen: number } {
  const top = Math.max(...side.delivered.map((s) => s.end));
  const have = new Uint8Array(top);
  for (const s of side.delivered) have.fill(1, s.start, s.end);
  let len = top - from;
  if (maxBytes >= 0) {
    // Only bytes below the limit are written; the file ends at the last one written.
    len = 0;
    for (const s of side.delivered) if (s.start - from < maxBytes) len = Math.max(len, Math.min(s.end - from, maxBytes));
  }
  const bytes = new Uint8Array(len);
  for (let i = 0; i < len; i++) if (have[from + i]) bytes[i] = side.stream[from + i];
  let covered = top === side.stream.length;
  let seen = 0;
  for (let i = 0; i < top; i++) {
    if (have[i]) seen++;
    else if (i >= from) covered = false;
  }
  return { bytes, covered, top, seen };
}

/**
 * One demultiplexer serves many seeds (each on its own client port): a TcpDemux is
 * costly to build (its 64 Ki-slot lookup cache), and sharing also checks that
 * connections on other 4-tuples do not disturb each other.
 */
const harnesses = new Map<number, Harness>();

function check(seed: number, mode: 'syn' | 'nosyn' | 'maxbytes'): void {
  const r = new Rng(seed);
  const syn = mode !== 'nosyn';
  const maxBytes = mode === 'maxbytes' ? r.pick([0, 1, 10, 100, 1000, 2999]) : -1;
  let h = harnesses.get(maxBytes);
  if (h === undefined) harnesses.set(maxBytes, (h = new Harness({ savedWindow: 1e9, maxBytes })));
  h.v6 = r.chance(0.3);
  h.cport = 1024 + seed;
  const closedBefore = h.out.closedFlows.length;
  const filesBefore = h.out.files.size;
  // Without a SYN, or with -b, an early FIN may close the flow before every byte is in
  // the file; later copies are then (correctly) not stragglers and start c1. So the FIN
  // goes last there.
  const finLast = mode !== 'syn';
  const sides = [makeSide(r, true, { syn, finLast }), makeSide(r, false, { syn, finLast })];
  for (const p of interleave(r, sides[0].packets, sides[1].packets)) send(h, sides[p.client ? 0 : 1], p);
  const closedEarly = new Set(h.out.closedFlows.slice(closedBefore).map((c) => c.name));
  h.finish();
  assert.equal(h.demux.openFlows, 0);
  const ctx = `seed ${seed} mode ${mode}`;
  const { c2s, s2c } = h.names();
  const prefix = [c2s, s2c];
  assert.deepEqual(h.out.names().slice(filesBefore).sort(), [...prefix].sort(), ctx);
  for (const side of sides) {
    const name = prefix[side.client ? 0 : 1];
    const from = syn ? 0 : Math.min(...side.delivered.map((s) => s.start));
    const exp = expected(side, from, maxBytes);
    const rec = h.closedNamed(name);
    const got = h.out.content(name);
    if (Buffer.compare(Buffer.from(got), Buffer.from(exp.bytes)) !== 0) {
      let i = 0;
      while (i < got.length && got[i] === exp.bytes[i]) i++;
      assert.fail(`${ctx} ${name}: lengths ${got.length}/${exp.bytes.length}, first difference at ${i}`);
    }
    assert.equal(rec.flow.lastByte, exp.top - from, `${ctx} lastByte`);
    assert.equal(rec.flow.isn, (side.isn + from) | 0, `${ctx} isn`);
    assert.equal(rec.flow.violations, 0, `${ctx} violations`);
    // Closed by its FIN exactly when every byte up to the FIN arrived.
    assert.equal(closedEarly.has(name), side.fin && exp.covered, `${ctx} ${name} closed early`);
    if (!closedEarly.has(name)) assert.equal(rec.flow.packets, side.packets.length, `${ctx} packets`);
    assert.equal(rec.flow.seen.size, exp.seen, `${ctx} seen`);
  }
}

test('SYN first, then segments in any order with loss, duplicates and overlaps', () => {
  for (let seed = 1; seed <= 300; seed++) check(seed, 'syn');
});

test('no SYN: the file starts at the lowest byte seen, whatever arrived first (B5)', () => {
  for (let seed = 1001; seed <= 1250; seed++) check(seed, 'nosyn');
});

test('SYN first with -b: nothing at or past the limit, filesize still the highest byte', () => {
  for (let seed = 2001; seed <= 2150; seed++) check(seed, 'maxbytes');
});
