import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BAR_WIDTHS, MAX_BARS, NetvizCollector, NO_PORT, widen } from '../../src/netviz/collector';
import { mergeCounts, portColours, COLOURS } from '../../src/netviz/merge';
import { prettyBytes } from '../../src/netviz/render';
import { newDecodedPacket } from '../../src/decode/packet';
import { Rng } from '../flow/rng';

interface Pkt { time: number; len: number; src: number[]; dst: number[]; sport: number; dport: number; tcp: boolean }

/** Feed packets (with their global numbers) to a collector, as a worker or the coordinator would. */
function feed(c: NetvizCollector, pkts: readonly [number, Pkt][]): void {
  const d = newDecodedPacket();
  for (const [no, p] of pkts) {
    const data = Uint8Array.from([0x45, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, ...p.src, ...p.dst]);
    if (p.tcp) {
      d.ipVersion = 4; d.addrOffset = 12; d.addrLen = 4; d.sport = p.sport; d.dport = p.dport; d.vlan = -1;
      c.tcp(data, d, p.time, p.len, no);
    } else {
      d.ipOffset = 0;
      c.other(data, d, true, data.length, -1, p.time, p.len);
    }
  }
}

function randomPackets(rng: Rng, n: number, spanUs: number): Pkt[] {
  const base = 1_100_000_000 * 1e6;
  return Array.from({ length: n }, () => ({
    time: base + rng.int(0, spanUs - 1), len: 40 + rng.int(0, 1500 - 1),
    src: [10, 0, rng.int(0, 3 - 1), rng.int(0, 5 - 1)], dst: [192, 168, 0, rng.int(0, 7 - 1)],
    sport: [80, 443, 22, 5000 + rng.int(0, 20 - 1)][rng.int(0, 4 - 1)], dport: [80, 443, 21, 40000 + rng.int(0, 50 - 1)][rng.int(0, 4 - 1)], tcp: rng.int(0, 10 - 1) > 0,
  }));
}

test('the merged counts are the same however the packets are shared out (any worker count, any order)', () => {
  const rng = new Rng(7);
  for (const span of [50_000, 3_000_000, 86_400e6 * 40]) {
    const pkts = randomPackets(rng, 3000, span).map((p, i): [number, Pkt] => [i, p]);
    const one = new NetvizCollector(1e6);
    feed(one, pkts);
    const expected = JSON.stringify(mergeCounts([one.counts]));
    for (const workers of [2, 3, 4, 7]) {
      const parts = Array.from({ length: workers }, () => new NetvizCollector(1e6));
      const shares = parts.map((): [number, Pkt][] => []);
      for (const p of pkts) shares[rng.int(0, workers - 1)].push(p);
      // each collector sees its packets in packet order, but they may be far apart in time
      parts.forEach((c, i) => feed(c, shares[i]));
      assert.equal(JSON.stringify(mergeCounts(parts.map((c) => c.counts).reverse())), expected, `span ${span}, ${workers} parts`);
    }
    const s = mergeCounts([one.counts]);
    assert.ok(s.bars.length >= 1 && s.bars.length <= MAX_BARS, `${s.bars.length} bars`);
    const barBytes = s.bars.flat().reduce((a, [, n]) => a + n, 0);
    assert.equal(barBytes, s.bytes, 'every byte is in a bar');
    // the narrowest width that fits: one step narrower would need more than MAX_BARS bars
    const level = BAR_WIDTHS.indexOf(s.barWidth);
    if (level > 0) {
      const w = BAR_WIDTHS[level - 1];
      assert.ok(Math.floor(s.last / w) - Math.floor(s.first / w) >= MAX_BARS);
    }
  }
});

test('totals, top lists and percentages are exact', () => {
  const c = new NetvizCollector(1e6);
  const p = (time: number, len: number, src: number[], sport: number, tcp = true): Pkt => ({ time, len, src, dst: [10, 9, 9, 9], sport, dport: 80, tcp });
  feed(c, [[0, p(1e6, 100, [1, 1, 1, 1], 5000)], [1, p(2e6, 300, [2, 2, 2, 2], 443)], [2, p(3e6, 50, [1, 1, 1, 1], 5000, false)]]);
  const s = mergeCounts([c.counts]);
  assert.equal(s.packets, 3);
  assert.equal(s.bytes, 450);
  assert.deepEqual(s.srcAddrs, [{ key: '2.2.2.2', bytes: 300 }, { key: '1.1.1.1', bytes: 150 }]);
  assert.equal(s.ipBytes, 450);
  assert.deepEqual(s.srcPorts, [{ key: 443, bytes: 300 }, { key: 5000, bytes: 100 }]);
  assert.equal(s.tcpBytes, 400);
  assert.equal(s.barWidth, 100_000); // 2 s of packets: 0.1 s bars fit (21 bars), 10 ms bars do not
  assert.deepEqual(s.bars[0], [[80, 100]], 'a coloured destination port wins over an uncoloured source port');
  assert.deepEqual(s.bars[s.bars.length - 1], [[NO_PORT, 50]]);
  const { colourOf, legend } = portColours(s);
  assert.equal(colourOf(5000), COLOURS.orange, 'the busiest uncoloured source port');
  assert.equal(colourOf(443), COLOURS.https);
  assert.deepEqual(legend.map((l) => l.label), ['HTTP', 'HTTPS']);
});

test('past -S netviz_histogram_size, new addresses are counted as left out, not dropped', () => {
  const c = new NetvizCollector(2);
  const p = (src: number): Pkt => ({ time: 1e6, len: 10, src: [10, 0, 0, src], dst: [10, 0, 0, 99], sport: 1, dport: 2, tcp: true });
  feed(c, [1, 2, 3, 1, 4].map((src, i): [number, Pkt] => [i, p(src)]));
  const s = mergeCounts([c.counts]);
  assert.deepEqual(s.srcAddrs, [{ key: '10.0.0.1', bytes: 20 }, { key: '10.0.0.2', bytes: 10 }]);
  assert.deepEqual(s.uncounted, { src: 20, dst: 0 });
  assert.equal(s.ipBytes, 50);
});

test('widen adds bars up exactly', () => {
  const bars = new Map([[10, new Map([[80, 1]])], [19, new Map([[80, 2], [22, 5]])], [20, new Map([[80, 4]])]]);
  assert.deepEqual([...widen(bars, 100, 1000)].map(([b, m]) => [b, [...m]]), [[1, [[80, 3], [22, 5]]], [2, [[80, 4]]]]);
});

test('sizes as tcpflow prints them', () => {
  assert.equal(prettyBytes(0), '0 B');
  assert.equal(prettyBytes(999), '999 B');
  assert.equal(prettyBytes(1000), '1.00 KB');
  assert.equal(prettyBytes(319_000), '319.00 KB');
  assert.equal(prettyBytes(250_930), '250.93 KB');
  assert.equal(prettyBytes(5_500_000_000), '5.50 GB');
});
