/**
 * The flow table's 4-tuple hash table (src/flow/tuple-table.ts): entries found from a
 * packet's headers, in either direction, newest first for one 4-tuple, through growth
 * and removals, against a plain model (a list per 4-tuple text).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newDecodedPacket, type DecodedPacket } from '../../src/decode/packet';
import { flowHash, flowKeyOf, reverseFlowHash, tupleHash } from '../../src/flow/key';
import { TupleTable, type TupleEntry } from '../../src/flow/tuple-table';
import { Rng } from './rng';

interface Entry extends TupleEntry<Entry> {
  id: number;
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
    const e: Entry = { src: addr(n), dst: addr(n), sport: rng.int(1, 3), dport: rng.int(1, 3), hash: 0, next: null, id };
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
