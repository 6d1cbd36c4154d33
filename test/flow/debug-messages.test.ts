/** The flow table's debug messages (spec §6.6): built only at their level, with tcpflow's wording. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, CISN } from './harness';
import { SYN } from '../helpers/packets';

function withLevel(level: number): { h: Harness; messages: string[] } {
  const messages: string[] = [];
  const h = new Harness({ debugLevel: level, onDebug: (n, m) => messages.push(`${n} ${m}`), maxBytes: 4 });
  return { h, messages };
}

test('level 5: new flow; level 2: a repeated SYN and -b truncation', () => {
  const { h, messages } = withLevel(5);
  h.client({ seq: CISN, flags: SYN });
  h.client({ seq: CISN, flags: SYN }); // retransmitted before any data
  h.cdata(0, 'abcdefgh');
  // Once per flow, not per packet (tcpflow: every packet; -d 2 -b 0 was a line per packet of the capture).
  h.cdata(8, 'ijkl');
  h.cdata(12, 'mnop');
  assert.deepEqual(messages, [
    '5 new flow flow[10.0.0.1:40000->10.0.0.2:80]. path:  next seq num (nsn):1001',
    '2 Multiple SYNs (2) seen on connection flow[10.0.0.1:40000->10.0.0.2:80]',
    '2 packet truncated by max_bytes_per_flow on flow[10.0.0.1:40000->10.0.0.2:80] (its later packets are not reported)',
  ]);
});

test('below their level nothing is built or sent', () => {
  const { h, messages } = withLevel(1);
  h.client({ seq: CISN, flags: SYN });
  h.client({ seq: CISN, flags: SYN });
  h.cdata(0, 'abcdefgh');
  assert.deepEqual(messages, []);
});
