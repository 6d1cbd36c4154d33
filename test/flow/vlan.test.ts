/**
 * VLANs in the flow key (src/flow/vlan.ts): one 4-tuple on two VLANs gives two flows; an
 * untagged packet joins its 4-tuple's flow on whatever VLAN; -S vlan_key=0 merges as
 * tcpflow does.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, FIN, SYN } from '../helpers/packets';
import { C2S, CISN, Harness, S2C, SISN } from './harness';

const A = 'A'.repeat(100), B = 'B'.repeat(100);
const a = 'a'.repeat(40), b = 'b'.repeat(40);

/** One exchange per VLAN on the same 4-tuple with the same sequence numbers, packet by packet interleaved. */
function twoVlans(h: Harness, first: number | undefined = 10, second: number | undefined = 20): void {
  const on = (vlan: number | undefined, send: () => void) => { h.vlan = vlan; send(); };
  for (const [vlan] of [[first], [second]]) on(vlan, () => h.client({ seq: CISN, flags: SYN }));
  for (const [vlan] of [[first], [second]]) on(vlan, () => h.server({ seq: SISN, flags: SYN | ACK }));
  on(first, () => h.cdata(0, A));
  on(second, () => h.cdata(0, B));
  on(first, () => h.sdata(0, a));
  on(second, () => h.sdata(0, b));
  for (const [vlan] of [[first], [second]]) on(vlan, () => h.client({ seq: CISN + 101, flags: FIN | ACK }));
  for (const [vlan] of [[first], [second]]) on(vlan, () => h.server({ seq: SISN + 41, flags: FIN | ACK }));
  h.vlan = undefined;
}

describe('VLAN in the flow key', () => {
  test('the same 4-tuple on VLAN 10 and VLAN 20: two flow pairs, each with its own bytes', () => {
    const h = new Harness();
    twoVlans(h);
    h.finish();
    assert.deepEqual(h.out.names().sort(), [C2S + '--10', C2S + '--20', S2C + '--10', S2C + '--20']);
    assert.equal(h.text(C2S + '--10'), A);
    assert.equal(h.text(C2S + '--20'), B);
    assert.equal(h.text(S2C + '--10'), a);
    assert.equal(h.text(S2C + '--20'), b);
    // Each direction is paired with its own VLAN's reverse flow (the session id) and closed by its own FIN.
    const rec = (name: string) => h.closedNamed(name).flow;
    assert.equal(rec(S2C + '--10').sessionId, rec(C2S + '--10').sessionId);
    assert.equal(rec(S2C + '--20').sessionId, rec(C2S + '--20').sessionId);
    assert.notEqual(rec(C2S + '--10').sessionId, rec(C2S + '--20').sessionId);
    assert.ok(h.out.closedFlows.every((c) => c.closePacket !== Infinity), 'every flow closed by its FIN');
    assert.equal(h.violations.length, 0);
  });

  test('-S vlan_key=0: tcpflow\'s merge, one flow pair named after the first VLAN, the later bytes win', () => {
    const h = new Harness({ mergeVlans: true });
    twoVlans(h);
    h.finish();
    assert.deepEqual(h.out.names().sort(), [C2S + '--10', S2C + '--10']);
    assert.equal(h.text(C2S + '--10'), B);
    assert.equal(h.text(S2C + '--10'), b);
  });

  test('QinQ: the inner VLAN keys the flow, the outer one does not split it', () => {
    const h = new Harness();
    h.tags = [{ tpid: 0x88a8, tci: 100 }, { tpid: 0x8100, tci: 42 }];
    h.client({ seq: CISN, flags: SYN });
    h.cdata(0, 'qin');
    h.tags = [{ tpid: 0x9100, tci: 7 }, { tpid: 0x8100, tci: 42 }];
    h.cdata(3, 'q');
    h.tags = undefined;
    h.finish();
    assert.deepEqual(h.out.names(), [C2S + '--42']);
    assert.equal(h.text(C2S + '--42'), 'qinq');
  });

  test('SPAN with one side tagged and the other untagged: one flow per direction, paired as one connection', () => {
    const h = new Harness();
    h.vlan = 10;
    h.client({ seq: CISN, flags: SYN });
    h.vlan = undefined;
    h.server({ seq: SISN, flags: SYN | ACK });
    h.vlan = 10;
    h.cdata(0, 'request');
    h.vlan = undefined;
    h.sdata(0, 'response');
    h.finish();
    assert.deepEqual(h.out.names().sort(), [C2S + '--10', S2C]);
    assert.equal(h.text(C2S + '--10'), 'request');
    assert.equal(h.text(S2C), 'response');
    assert.equal(h.closedNamed(S2C).flow.sessionId, h.closedNamed(C2S + '--10').flow.sessionId);
  });

  for (const order of ['untagged copy first', 'tagged copy first'] as const) {
    test(`SPAN that mirrors every packet twice, untagged and tagged (${order}): one file per direction`, () => {
      const h = new Harness();
      const twice = (send: () => void) => {
        for (const vlan of order === 'untagged copy first' ? [undefined, 10] : [10, undefined]) {
          h.vlan = vlan;
          send();
        }
      };
      twice(() => h.client({ seq: CISN, flags: SYN }));
      twice(() => h.server({ seq: SISN, flags: SYN | ACK }));
      twice(() => h.cdata(0, 'hello '));
      twice(() => h.cdata(6, 'world'));
      twice(() => h.sdata(0, 'hi'));
      twice(() => h.client({ seq: CISN + 12, flags: FIN | ACK }));
      twice(() => h.server({ seq: SISN + 3, flags: FIN | ACK }));
      h.vlan = undefined;
      h.finish();
      // Named after the first packet's VLAN, as in tcpflow; keyed on VLAN 10 from its first tagged packet on.
      const suffix = order === 'untagged copy first' ? '' : '--10';
      assert.deepEqual(h.out.names().sort(), [C2S + suffix, S2C + suffix]);
      assert.equal(h.text(C2S + suffix), 'hello world');
      assert.equal(h.text(S2C + suffix), 'hi');
      assert.ok(h.out.closedFlows.every((c) => c.flow.tag === 10));
    });
  }

  test('a conversation on VLAN 10 that also shows untagged, next to the same 4-tuple on VLAN 20: untagged packets join the flow seen last', () => {
    const h = new Harness();
    h.vlan = 10;
    h.cdata(0, 'ten-');
    h.vlan = 20;
    h.cdata(0, 'TWENTY-');
    h.vlan = 10;
    h.cdata(4, 'x'); // VLAN 10 seen last
    h.vlan = undefined;
    h.cdata(5, 'more');
    h.vlan = 20;
    h.cdata(7, 'Y'); // VLAN 20 seen last
    h.vlan = undefined;
    h.cdata(8, 'MORE');
    h.finish();
    assert.equal(h.text(C2S + '--10'), 'ten-xmore');
    assert.equal(h.text(C2S + '--20'), 'TWENTY-YMORE');
    assert.equal(h.out.names().length, 2);
  });

  test('an untagged flow is taken over by the first VLAN seen on its 4-tuple, then a second VLAN starts its own flow', () => {
    const h = new Harness();
    h.cdata(0, 'abc');
    h.vlan = 30;
    h.cdata(3, 'def');
    h.vlan = 31;
    h.cdata(3, 'XYZ');
    h.vlan = undefined;
    h.finish();
    assert.deepEqual(h.out.names().sort(), [C2S, C2S + '--31']);
    assert.equal(h.text(C2S), 'abcdef');
    assert.equal(h.text(C2S + '--31'), 'XYZ');
  });

  test('an untagged new SYN on a 4-tuple open on VLAN 10 starts VLAN 10\'s next connection, which its tagged packets then join', () => {
    const h = new Harness();
    h.vlan = 10;
    h.client({ seq: CISN, flags: SYN });
    h.cdata(0, 'first');
    h.vlan = undefined;
    h.client({ seq: 90000, flags: SYN }); // another ISN: a new connection (B16)
    h.vlan = 10;
    h.client({ seq: 90001, flags: ACK, payload: 'second' });
    h.vlan = undefined;
    h.finish();
    // Named by its first packet (untagged), keyed on VLAN 10: one flow holds the second connection.
    assert.deepEqual(h.out.names().sort(), [C2S, C2S + '--10']);
    assert.equal(h.text(C2S + '--10'), 'first');
    assert.equal(h.text(C2S), 'second');
    assert.equal(h.closedNamed(C2S).flow.tag, 10);
  });

  test('a retransmission after close is a straggler on its own VLAN only', () => {
    const h = new Harness();
    h.vlan = 10;
    h.client({ seq: CISN, flags: SYN });
    h.cdata(0, 'same');
    h.client({ seq: CISN + 5, flags: FIN | ACK });
    assert.equal(h.out.closedFlows.length, 1);
    h.cdata(0, 'same'); // straggler on VLAN 10: ignored
    h.vlan = undefined;
    h.cdata(0, 'same'); // untagged: the latest closed flow of its 4-tuple, ignored too
    h.vlan = 20;
    h.cdata(0, 'same'); // another VLAN's connection: a flow of its own
    h.vlan = undefined;
    h.finish();
    assert.deepEqual(h.out.names().sort(), [C2S + '--10', C2S + '--20']);
    assert.equal(h.text(C2S + '--20'), 'same');
  });

  test('a template without %V%v: the two VLANs\' flows get the connection counter (c1), in packet order', () => {
    const h = new Harness({}, '%A.%a-%B.%b%C%c');
    twoVlans(h, 20, 10);
    h.finish();
    const byName = new Map(h.out.closedFlows.map((c) => [c.name, c.flow.vlan]));
    assert.equal(byName.get(C2S), 20, 'the first flow to store a byte gets the plain name');
    assert.equal(byName.get(C2S + 'c1'), 10);
    assert.equal(h.text(C2S), A);
    assert.equal(h.text(C2S + 'c1'), B);
  });

  test('the open-flow count counts every VLAN\'s flow', () => {
    const h = new Harness();
    for (const vlan of [1, 2, 3]) {
      h.vlan = vlan;
      h.cdata(0, 'x');
    }
    h.vlan = undefined;
    assert.equal(h.demux.openFlows, 3);
    h.finish();
    assert.equal(h.demux.openFlows, 0);
    assert.equal(h.out.names().length, 3);
  });
});
