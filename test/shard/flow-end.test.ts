import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { FlowEnd } from '../../src/shard/flow-end';
import { Outcome } from '../../src/flow/tcpdemux';
import type { FlowScan, Scanner } from '../../src/scanners/scanner';
import { decodeRecord } from '../../src/report/flow-record';
import { Harness, CISN } from '../flow/harness';
import { MemoryOutput } from '../helpers/memory-output';
import { ACK, FIN, SYN } from '../helpers/packets';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

test('a closed flow\'s scanner sessions can be collected while its sink is kept for stragglers', async () => {
  // Each session holds a large buffer, as the http scanner's hold parsers and digests.
  const sessions: WeakRef<FlowScan>[] = [];
  const scanner: Scanner = {
    name: 'probe',
    open(): FlowScan {
      const state = new Uint8Array(1 << 20);
      const scan: FlowScan = { onData: () => { state[0]++; }, onClose: () => ({ md5: String(state[0]) }) };
      sessions.push(new WeakRef(scan));
      return scan;
    },
  };
  const records: string[] = [];
  const h = new Harness({}, undefined, new FlowEnd(new MemoryOutput(), [scanner], { add: (_c, _f, r) => records.push(decodeRecord(r).md5 ?? ''), addFlow: () => records.push('') }));
  h.client({ seq: CISN, flags: SYN });
  h.cdata(0, 'hello');
  h.cdata(5, '', FIN | ACK);
  assert.deepEqual(records, ['1'], 'the flow closed on its FIN, with its scanner\'s result');
  // The flow is remembered for the straggler check, its sink with it: a retransmission is
  // compared with the stored bytes and ignored.
  assert.equal(h.cdata(0, 'hello'), Outcome.IGNORED);
  // WeakRefs hold their targets until the current job ends.
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  assert.equal(sessions.length, 1);
  assert.equal(sessions[0].deref(), undefined, 'the session outlived its flow');
});
