/**
 * A new flow's endpoints (src/flow/key.ts copyEndpoints): copied out of the chunk, shared
 * with the connection's other direction and, for equal MACs, with the previous flow, yet
 * always the packet's own bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newDecodedPacket } from '../../src/decode/packet';
import { copyEndpoints } from '../../src/flow/key';
import { ACK, SYN } from '../helpers/packets';
import { C2S, CISN, Harness, S2C, SISN } from './harness';

function frame(macs: number[], src: number[], dst: number[]) {
  const buf = Uint8Array.from([...macs, ...src, ...dst]);
  const d = newDecodedPacket();
  d.macOffset = 0;
  d.addrOffset = 12;
  d.addrLen = src.length;
  return { buf, d };
}

test('copyEndpoints: the packet bytes, out of the buffer; the reverse lends its addresses; equal MACs share one array', () => {
  const macs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const p = frame(macs, [10, 0, 0, 1], [10, 0, 0, 2]);
  const e = copyEndpoints(p.buf, p.d);
  assert.deepEqual([...e.src, ...e.dst, ...(e.mac as Uint8Array)], [10, 0, 0, 1, 10, 0, 0, 2, ...macs]);
  p.buf.fill(0xff); // the chunk's memory is reused: the copies keep their bytes
  assert.deepEqual([...e.src, ...e.dst], [10, 0, 0, 1, 10, 0, 0, 2]);
  assert.deepEqual([...(e.mac as Uint8Array)], macs);

  const back = frame(macs, [10, 0, 0, 2], [10, 0, 0, 1]);
  const r = copyEndpoints(back.buf, back.d, e);
  assert.equal(r.src, e.dst);
  assert.equal(r.dst, e.src);
  assert.equal(r.mac, e.mac, 'the same MACs: one array');

  const other = frame([...macs.slice(6), ...macs.slice(0, 6)], [10, 0, 0, 2], [10, 0, 0, 1]);
  const o = copyEndpoints(other.buf, other.d);
  assert.notEqual(o.mac, e.mac);
  assert.deepEqual([...(o.mac as Uint8Array)], [...macs.slice(6), ...macs.slice(0, 6)]);
  assert.deepEqual([...(e.mac as Uint8Array)], macs, 'a shared array is never written');

  const v6 = frame(macs, Array.from({ length: 16 }, (_, i) => i), Array.from({ length: 16 }, (_, i) => 100 + i));
  const e6 = copyEndpoints(v6.buf, v6.d);
  assert.deepEqual([...e6.src, ...e6.dst], [...Array.from({ length: 16 }, (_, i) => i), ...Array.from({ length: 16 }, (_, i) => 100 + i)]);
});

test('the two directions of a connection share their address arrays, crossed', () => {
  const h = new Harness();
  h.client({ seq: CISN, flags: SYN });
  h.server({ seq: SISN, flags: SYN | ACK });
  h.cdata(0, 'hello');
  h.sdata(0, 'world');
  h.finish();
  const c = h.closedNamed(C2S).flow, s = h.closedNamed(S2C).flow;
  assert.equal(s.src, c.dst);
  assert.equal(s.dst, c.src);
  assert.equal(h.text(C2S), 'hello');
  assert.equal(h.text(S2C), 'world');
});

test('IPv4 addresses are shared between flows by value, and every flow still gets its own bytes', () => {
  const macs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const server = [192, 0, 2, 80];
  const a = copyEndpoints(frame(macs, [10, 1, 0, 1], server).buf, frame(macs, [10, 1, 0, 1], server).d);
  const b = copyEndpoints(frame(macs, [10, 1, 0, 2], server).buf, frame(macs, [10, 1, 0, 2], server).d);
  assert.equal(a.dst, b.dst, 'one array for the server the two connections share');
  assert.notEqual(a.src, b.src);
  // Thousands of addresses through the table's 4,096 slots: collisions replace entries, never mix them up.
  const seen: Uint8Array[] = [];
  for (let i = 0; i < 20000; i++) {
    const src = [10, (i >> 16) & 255, (i >> 8) & 255, i & 255], dst = [172, 16, (i * 7) >> 8 & 255, (i * 7) & 255];
    const p = frame(macs, src, dst);
    const e = copyEndpoints(p.buf, p.d);
    p.buf.fill(0);
    assert.deepEqual([...e.src, ...e.dst], [...src, ...dst]);
    seen.push(e.src, e.dst);
  }
  for (let i = 0; i < 20000; i++) {
    assert.deepEqual([...seen[2 * i]], [10, (i >> 16) & 255, (i >> 8) & 255, i & 255], 'a shared array is never written');
  }
});
