/**
 * The http scanner's table of open connections (Connections): both directions of a
 * connection find one entry, other 4-tuples and VLANs others, and entries whose keys
 * collide (found by search: the key is a 32-bit hash) stay apart however they leave.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectionHash, Connections } from '../../../src/scanners/http/http-scanner';

const v4 = (...b: number[]) => Uint8Array.from(b);

test('connections: one entry per connection and VLAN, gone when both sides left', () => {
  const t = new Connections();
  const client = v4(10, 0, 0, 1), server = v4(10, 0, 0, 2);
  const a = t.join(client, server, 40000, 80, -1);
  assert.equal(t.join(Uint8Array.from(client), Uint8Array.from(server), 40000, 80, -1), a, 'the other side finds it');
  assert.notEqual(t.join(client, server, 40000, 80, 7), a, 'another VLAN: another connection');
  assert.notEqual(t.join(server, client, 80, 40000, -1), a, 'the reverse tuple as client: another connection');
  const v6 = t.join(new Uint8Array(16), new Uint8Array(16), 1, 2, -1);
  assert.notEqual(t.join(new Uint8Array(16).fill(1), new Uint8Array(16), 1, 2, -1), v6);
  t.leave(a);
  assert.equal(t.join(client, server, 40000, 80, -1), a, 'one side still open');
  t.leave(a);
  t.leave(a);
  assert.notEqual(t.join(client, server, 40000, 80, -1), a, 'both left: a new entry');
});

test('connections: colliding keys stay apart, whichever leaves first', () => {
  // Two tuples with the same 32-bit key, by a birthday search over client addresses and ports.
  const seen = new Map<number, [Uint8Array, number]>();
  const server = v4(192, 0, 2, 1);
  let pair: [[Uint8Array, number], [Uint8Array, number]] | null = null;
  for (let i = 0; pair === null; i++) {
    const client = v4(10, (i >>> 16) & 255, (i >>> 8) & 255, i & 255), port = 1024 + (i % 50000);
    const h = connectionHash(client, server, port, 80, -1);
    const before = seen.get(h);
    if (before !== undefined) pair = [before, [client, port]];
    else seen.set(h, [client, port]);
  }
  const [[c1, p1], [c2, p2]] = pair;
  for (const firstLeaves of [true, false]) {
    const t = new Connections();
    const x = t.join(c1, server, p1, 80, -1);
    const y = t.join(c2, server, p2, 80, -1);
    const z = t.join(c1, v4(192, 0, 2, 9), p1, 80, -1);
    assert.notEqual(x, y);
    assert.equal(t.join(c1, server, p1, 80, -1), x);
    assert.equal(t.join(c2, server, p2, 80, -1), y);
    t.leave(firstLeaves ? x : y);
    t.leave(firstLeaves ? x : y);
    const stays = firstLeaves ? y : x;
    const [c, p] = firstLeaves ? [c2, p2] : [c1, p1];
    assert.equal(t.join(c, server, p, 80, -1), stays, 'the other one is still found');
    assert.notEqual(t.join(firstLeaves ? c1 : c2, server, firstLeaves ? p1 : p2, 80, -1), firstLeaves ? x : y, 'the one that left is new');
    assert.equal(t.join(c1, v4(192, 0, 2, 9), p1, 80, -1), z);
  }
});
