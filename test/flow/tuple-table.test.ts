/**
 * The flow table's 4-tuple hash table (src/flow/tuple-table.ts): entries found from a
 * packet's headers, in either direction, newest first for one 4-tuple, through growth
 * and removals, against a plain model (a list per 4-tuple text).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newDecodedPacket, type DecodedPacket } from '../../src/decode/packet';
import { addrWord, flowHash, flowKeyOf, reverseFlowHash, tupleHash } from '../../src/flow/key';
import { TupleTable, type TupleEntry } from '../../src/flow/tuple-table';
import { Rng } from './rng';

interface Entry extends TupleEntry<Entry> {
  id: number;
}

function entry(src: Uint8Array, dst: Uint8Array, sport: number, dport: number, id: number): Entry {
  return { src, dst, sport, dport, addrLen: src.length, srcWord: addrWord(src, 0), dstWord: addrWord(dst, 0), hash: 0, next: null, id };
}

/** A packet buffer holding just the two addresses, and its decoded fields. */
function packet(src: Uint8Array, dst: Uint8Array, sport: number, dport: number): { buf: Uint8Array; d: DecodedPacket } {
  const buf = new Uint8Array(2 + 2 * src.length);
  buf.set(src, 2);
  buf.set(dst, 2 + src.length);
  const d = newDecodedPacket();
  d.addrOffset = 2;
  d.addrLen = src.length;
  d.sport = sport;
  d.dport = dport;
  return { buf, d };
}

test('find, findReverse and remove agree with a model over growth (IPv4 and IPv6)', () => {
  const rng = new Rng(14);
  const table = new TupleTable<Entry>();
  const model = new Map<string, Entry[]>(); // newest first
  // Few addresses and ports, so that 4-tuples repeat and buckets collide.
  const addr = (n: number) => {
    const a = new Uint8Array(n);
    a[n - 1] = rng.int(0, 5);
    return a;
  };
  const live: Entry[] = [];
  for (let id = 0; id < 6000; id++) {
    if (live.length > 0 && rng.chance(1 / 3)) {
      const e = live.splice(rng.int(0, live.length - 1), 1)[0];
      table.remove(e);
      const list = model.get(flowKeyOf(e.src, e.dst, e.sport, e.dport)) as Entry[];
      list.splice(list.indexOf(e), 1);
      continue;
    }
    const n = rng.chance(0.25) ? 16 : 4;
    const e = entry(addr(n), addr(n), rng.int(1, 3), rng.int(1, 3), id);
    table.insert(e, tupleHash(e.src, 0, e.dst, 0, e.src.length, e.sport, e.dport));
    live.push(e);
    const k = flowKeyOf(e.src, e.dst, e.sport, e.dport);
    model.set(k, [e, ...(model.get(k) ?? [])]);
  }
  assert.equal(table.size, live.length);
  assert.ok(live.length > 1024, 'the table grew');
  for (const [k, list] of model) {
    if (list.length === 0) continue;
    const { src, dst, sport, dport } = list[0];
    const p = packet(src, dst, sport, dport);
    assert.equal(table.find(p.buf, p.d, flowHash(p.buf, p.d)), list[0], k);
    assert.equal(table.findLike(list[list.length - 1]), list[0]);
    const r = packet(dst, src, dport, sport);
    assert.equal(table.findReverse(r.buf, r.d, reverseFlowHash(r.buf, r.d)), list[0]);
  }
  assert.equal([...table.values()].length, live.length);
  const p = packet(Uint8Array.from([9, 9, 9, 9]), Uint8Array.from([8, 8, 8, 8]), 7, 7);
  assert.equal(table.find(p.buf, p.d, flowHash(p.buf, p.d)), undefined);
  table.clear();
  assert.equal(table.size, 0);
});

test('entries under one hash are told apart by every byte of both addresses, both ports and the family', () => {
  // One hash for all: each lookup walks the whole chain and must compare, not trust the hash.
  const HASH = -123456789; // hashes are int32 (src/flow/key.ts)
  const table = new TupleTable<Entry>();
  const v4 = (x: number[]) => Uint8Array.from(x);
  const v6 = (first: number[], last: number) => { const a = new Uint8Array(16); a.set(first); a[15] = last; return a; };
  const a = v4([10, 0, 0, 1]), b = v4([10, 0, 0, 2]);
  const entries = [
    entry(a, b, 1000, 80, 0),
    entry(b, a, 80, 1000, 1), // the reverse
    entry(a, b, 1001, 80, 2), // another source port
    entry(a, b, 1000, 81, 3), // another destination port
    entry(a, v4([10, 0, 0, 3]), 1000, 80, 4), // another destination address
    entry(v4([138, 0, 0, 1]), b, 1000, 80, 5), // differs in the top bit: negative as int32
    entry(v6([10, 0, 0, 1], 7), v6([10, 0, 0, 2], 7), 1000, 80, 6), // IPv6 with the IPv4 addresses' first words
    entry(v6([10, 0, 0, 1], 8), v6([10, 0, 0, 2], 7), 1000, 80, 7), // ... differing in the last byte only
    entry(v6([10, 0, 0, 1], 7), v6([10, 0, 0, 2], 9), 1000, 80, 8),
  ];
  for (const e of entries) table.insert(e, HASH);
  for (const e of entries) {
    const p = packet(e.src, e.dst, e.sport, e.dport);
    assert.equal(table.find(p.buf, p.d, HASH), e, `find ${e.id}`);
    assert.equal(table.findLike({ ...entry(e.src, e.dst, e.sport, e.dport, -1), hash: HASH }), e, `findLike ${e.id}`);
    const r = packet(e.dst, e.src, e.dport, e.sport);
    assert.equal(table.findReverse(r.buf, r.d, HASH), e, `findReverse ${e.id}`);
  }
  const missing = packet(v6([10, 0, 0, 1], 7), v6([10, 0, 0, 2], 8), 1000, 80);
  assert.equal(table.find(missing.buf, missing.d, HASH), undefined);
  assert.equal(table.find(missing.buf, missing.d, HASH + 1), undefined);
});

test('tupleHash is a signed 32-bit integer (kept in a flow as a small integer, not a heap number)', () => {
  const rng = new Rng(3);
  let negative = 0;
  for (let i = 0; i < 1000; i++) {
    const s = Uint8Array.from([rng.int(0, 255), rng.int(0, 255), rng.int(0, 255), rng.int(0, 255)]);
    const h = tupleHash(s, 0, s, 0, 4, rng.int(0, 65535), rng.int(0, 65535));
    assert.equal(h, h | 0);
    if (h < 0) negative++;
  }
  assert.ok(negative > 300 && negative < 700, `${negative} of 1000 negative`);
});
