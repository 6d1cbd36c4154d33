/**
 * The open-flow cap (-S max_flows) in TcpDemux: per bucket, the least recently seen flow
 * is closed when a new flow would exceed the bucket's cap; that close is a normal one
 * (file, report record, saved flow) and is counted.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { FLOW_BUCKETS, perBucketCap } from '../../src/flow/buckets';
import { ACK, FIN, PSH, RST, SYN } from '../helpers/packets';
import { FlowCapModel } from '../helpers/flowcap-model';
import { CISN, Harness, SISN } from './harness';
import { Rng } from './rng';

const A = ACK | PSH;

/** Port of connection `c` (the client side); each connection is a distinct 4-tuple. */
const port = (c: number) => 41000 + c;

function on(h: Harness, c: number, bucket = 0): Harness {
  h.cport = port(c);
  h.bucket = bucket;
  return h;
}

/** Names of a bucket's open flows, least recently seen first. */
function lru(h: Harness, bucket = 0): string[] {
  return h.demux.bucketFlows(bucket).map((f) => `${f.sport}>${f.dport}`);
}

describe('per-bucket cap', () => {
  test('the least recently seen flow is closed first, by the packet of the new flow, and counted', () => {
    const h = new Harness({ maxFlowsPerBucket: 2 });
    on(h, 1).client({ seq: CISN, flags: SYN });      // 0
    on(h, 1).cdata(0, 'one-a', A);                   // 1
    on(h, 2).client({ seq: CISN, flags: SYN });      // 2
    on(h, 2).cdata(0, 'two-a', A);                   // 3
    on(h, 1).cdata(5, 'one-b', A);                   // 4: connection 1 is now the most recent
    assert.deepEqual(lru(h), [`${port(2)}>80`, `${port(1)}>80`]);
    assert.equal(h.demux.flowsPurged, 0);

    on(h, 3).client({ seq: CISN, flags: SYN });      // 5: bucket full → 2 is closed
    assert.equal(h.demux.flowsPurged, 1);
    assert.equal(h.demux.openFlows, 2);
    assert.deepEqual(lru(h), [`${port(1)}>80`, `${port(3)}>80`]);
    const two = on(h, 2).names().c2s;
    const rec = h.closedNamed(two);
    assert.equal(rec.closePacket, 5);
    assert.equal(rec.flow.firstPacket, 2);
    assert.equal(h.text(two), 'two-a');

    // Its next data is a new flow in a new file (…c1), which in turn closes connection 1.
    on(h, 2).cdata(5, 'two-b', A);                   // 6
    assert.equal(h.demux.flowsPurged, 2);
    assert.equal(h.closedNamed(on(h, 1).names().c2s).closePacket, 6);
    assert.equal(h.text(`${two}c1`), 'two-b');
    assert.deepEqual(lru(h), [`${port(3)}>80`, `${port(2)}>80`]);

    h.finish();
    assert.equal(h.demux.openFlows, 0);
    assert.deepEqual(lru(h), []);
    assert.equal(h.demux.totalFlows, 4);
    // Every flow was reported exactly once.
    assert.equal(h.out.closedFlows.length, 4);
  });

  test('a repeated identical packet of a closed flow is still recognised as a straggler', () => {
    const h = new Harness({ maxFlowsPerBucket: 1 });
    on(h, 1).client({ seq: CISN, flags: SYN });
    on(h, 1).cdata(0, 'hello', A);
    on(h, 2).client({ seq: CISN, flags: SYN });      // closes 1 (a saved flow now)
    assert.equal(h.demux.flowsPurged, 1);
    on(h, 1).cdata(0, 'hello', A);                   // a retransmission: ignored
    assert.equal(h.demux.flowsPurged, 1);
    assert.equal(h.demux.openFlows, 1);
    on(h, 1).cdata(5, 'world', A);                   // new data: a new flow, closes 2
    assert.equal(h.demux.flowsPurged, 2);
    assert.equal(h.text(`${on(h, 1).names().c2s}c1`), 'world');
  });

  test('buckets are independent', () => {
    const h = new Harness({ maxFlowsPerBucket: 1 });
    for (let b = 0; b < FLOW_BUCKETS; b++) on(h, b, b).client({ seq: CISN, flags: SYN });
    assert.equal(h.demux.openFlows, FLOW_BUCKETS);
    assert.equal(h.demux.flowsPurged, 0);
    on(h, 100, 7).client({ seq: CISN, flags: SYN });
    assert.equal(h.demux.flowsPurged, 1);
    assert.deepEqual(lru(h, 7), [`${port(100)}>80`]);
    assert.deepEqual(lru(h, 6), [`${port(6)}>80`]);
    assert.deepEqual(lru(h, 8), [`${port(8)}>80`]);
  });

  test('flows closed by FIN, RST, a -m jump or a new SYN free their place', () => {
    const h = new Harness({ maxFlowsPerBucket: 2, maxSeek: 1000 });
    on(h, 1).client({ seq: CISN, flags: SYN });
    on(h, 1).cdata(0, 'abc', A);
    on(h, 1).client({ seq: CISN + 4, flags: FIN | ACK });  // FIN: closed
    on(h, 2).client({ seq: CISN, flags: SYN });
    on(h, 2).cdata(0, 'x', RST | ACK);                     // RST: closed
    on(h, 3).client({ seq: CISN, flags: SYN });
    on(h, 3).cdata(0, 'y', A);
    on(h, 3).cdata(5000, 'far', A);                        // -m jump: closed, a new flow
    on(h, 4).client({ seq: CISN, flags: SYN });
    on(h, 4).cdata(0, 'z', A);
    on(h, 4).client({ seq: CISN + 77777, flags: SYN });    // new ISN (B16): closed, a new flow
    assert.equal(h.demux.openFlows, 2);
    assert.equal(h.demux.flowsPurged, 0);
    assert.deepEqual(lru(h), [`${port(3)}>80`, `${port(4)}>80`]);
    on(h, 5).client({ seq: CISN, flags: SYN });
    assert.equal(h.demux.flowsPurged, 1);
    assert.deepEqual(lru(h), [`${port(4)}>80`, `${port(5)}>80`]);
  });

  test('both directions of a connection count, each as its own flow', () => {
    const h = new Harness({ maxFlowsPerBucket: 3 });
    on(h, 1).client({ seq: CISN, flags: SYN });
    on(h, 1).server({ seq: SISN, flags: SYN | ACK });
    on(h, 2).client({ seq: CISN, flags: SYN });
    on(h, 1).sdata(0, 'reply', A);                         // the server direction is the newest
    on(h, 2).server({ seq: SISN, flags: SYN | ACK });      // closes 1's client direction
    assert.equal(h.demux.flowsPurged, 1);
    assert.deepEqual(lru(h), [`${port(2)}>80`, `80>${port(1)}`, `80>${port(2)}`]);
  });

  test('-R finishing creates no flow, so it never closes one', () => {
    const h = new Harness({ maxFlowsPerBucket: 1 });
    on(h, 1).client({ seq: CISN, flags: SYN });
    on(h, 2).client({ seq: CISN, flags: SYN }, { finishing: true });
    on(h, 2).client({ seq: CISN + 1, flags: A, payload: 'data' }, { finishing: true });
    assert.equal(h.demux.flowsPurged, 0);
    assert.deepEqual(lru(h), [`${port(1)}>80`]);
    on(h, 1).cdata(0, 'more', A);
    assert.equal(h.demux.flowsPurged, 0);
    h.finish();
    assert.equal(h.out.closedFlows.length, 1);
  });

  test('no cap by default; a cap below 1 is refused', () => {
    const h = new Harness();
    for (let c = 0; c < 5000; c++) on(h, c % 60000).client({ seq: CISN, flags: SYN });
    assert.equal(h.demux.openFlows, 5000);
    assert.equal(h.demux.flowsPurged, 0);
    assert.throws(() => new Harness({ maxFlowsPerBucket: 0 }), RangeError);
    assert.equal(perBucketCap(640), 10);
    assert.equal(perBucketCap(641), 11);
    assert.equal(perBucketCap(1), 1);
  });
});

test('random traffic over 3 buckets: the demux keeps the model\'s open flows in the model\'s order', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const rng = new Rng(seed);
    const cap = rng.int(1, 4);
    const h = new Harness({ maxFlowsPerBucket: cap });
    const model = new FlowCapModel(cap);
    const CONNS = 12;
    const bucketOf = (c: number) => c % 3;
    // Per connection and direction: the next relative position to send.
    const next = new Map<string, number>();
    for (let step = 0; step < 400; step++) {
      const c = rng.int(0, CONNS - 1), fromClient = rng.chance(0.6), b = bucketOf(c);
      on(h, c, b);
      const key = `${fromClient ? port(c) : 80}>${fromClient ? 80 : port(c)}`;
      const isn = fromClient ? CISN : SISN;
      const op = rng.int(0, 9);
      if (op === 0 && model.isOpen(b, key)) {
        // FIN without data: closes an open flow whose bytes are all there.
        const rel = next.get(key) ?? 0;
        if (fromClient) h.client({ seq: isn + 1 + rel, flags: FIN | ACK });
        else h.server({ seq: isn + 1 + rel, flags: FIN | ACK });
        model.seen(b, key);
        model.close(b, key);
      } else {
        // New data in order (each flow's bytes are contiguous from where it started).
        const rel = next.get(key) ?? 0;
        const data = `${c}${fromClient ? 'c' : 's'}${rel};`;
        if (fromClient) h.cdata(rel, data, A); else h.sdata(rel, data, A);
        next.set(key, rel + data.length);
        model.seen(b, key);
      }
      for (let bb = 0; bb < 3; bb++) assert.deepEqual(lru(h, bb), model.openIn(bb), `seed ${seed}, step ${step}, bucket ${bb}`);
      assert.equal(h.demux.flowsPurged, model.purged, `seed ${seed}, step ${step}`);
    }
    assert.ok(model.purged > 0, `seed ${seed}: the cap was never hit`);
    assert.equal(h.demux.totalFlows, model.created);
    h.finish();
    assert.equal(h.out.closedFlows.length, model.created);
  }
});
