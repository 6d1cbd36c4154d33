import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFrame, LINKTYPE } from '../../src/decode/link';
import { newDecodedPacket, Verdict } from '../../src/decode/packet';
import { FLOW_BUCKETS } from '../../src/flow/buckets';
import { ShardHasher } from '../../src/shard/hash';
import { ether, ipv4, ipv6, tcp } from '../helpers/packets';

function frame(v6: boolean, src: string, dst: string, sport: number, dport: number): Uint8Array {
  const seg = tcp({ sport, dport });
  return ether(v6 ? ipv6(seg, { src, dst }) : ipv4(seg, { src, dst }));
}

test('bucketOf: both directions of a connection share a bucket in 0..63, for IPv4 and IPv6, whatever came before', async () => {
  const h = await ShardHasher.create();
  const fresh = await ShardHasher.create();
  const d = newDecodedPacket();
  const bucket = (hasher: ShardHasher, f: Uint8Array) => {
    assert.equal(decodeFrame(f, 0, f.length, LINKTYPE.EN10MB, d), Verdict.TCP);
    return hasher.bucketOf(f, d);
  };
  const counts = new Array<number>(FLOW_BUCKETS).fill(0);
  for (let i = 0; i < 6400; i++) {
    const v6 = i % 2 === 1;
    const a = v6 ? `2001:db8::${(i % 5000).toString(16)}` : `10.1.${i >> 8}.${i & 255}`;
    const b = v6 ? '2001:db8::ffff' : '192.0.2.1';
    const port = 1024 + (i % 3000);
    const there = bucket(h, frame(v6, a, b, port, 443));
    const back = bucket(h, frame(v6, b, a, 443, port));
    const again = bucket(h, frame(v6, a, b, port, 443)); // the previous-tuple shortcut
    assert.ok(Number.isInteger(there) && there >= 0 && there < FLOW_BUCKETS);
    assert.equal(back, there);
    assert.equal(again, there);
    // The same answer without the history of earlier packets.
    if (i % 97 === 0) assert.equal(bucket(fresh, frame(v6, b, a, 443, port)), there);
    counts[there]++;
  }
  // Spread over every bucket (expected 100 each; far outside this means a broken hash).
  assert.ok(Math.min(...counts) > 50 && Math.max(...counts) < 160, `bucket counts ${counts.join(' ')}`);
});

test('bucketOf: a 4-tuple\'s packets share a bucket whatever their VLAN tags (an untagged packet joins its VLAN\'s flow: src/flow/vlan.ts)', async () => {
  const h = await ShardHasher.create();
  const d = newDecodedPacket();
  const stacks = [[], [{ tpid: 0x8100, tci: 10 }], [{ tpid: 0x8100, tci: 20 }], [{ tpid: 0x88a8, tci: 100 }, { tpid: 0x8100, tci: 10 }]];
  for (let i = 0; i < 200; i++) {
    const src = `10.2.${i >> 8}.${i & 255}`, port = 2000 + i;
    const buckets = new Set<number>();
    for (const tags of stacks) {
      for (const [a, b, p, q] of [[src, '10.9.9.9', port, 80], ['10.9.9.9', src, 80, port]] as const) {
        const f = ether(ipv4(tcp({ sport: p, dport: q }), { src: a, dst: b }), { tags });
        assert.equal(decodeFrame(f, 0, f.length, LINKTYPE.EN10MB, d), Verdict.TCP);
        buckets.add(h.bucketOf(f, d));
      }
    }
    assert.equal(buckets.size, 1, `connection ${i}: buckets ${[...buckets].join(' ')}`);
  }
});
