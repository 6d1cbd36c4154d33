import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { FlowEnd } from '../../src/shard/flow-end';
import { Outcome } from '../../src/flow/tcpdemux';
import type { FlowScan, Scanner } from '../../src/scanners/scanner';
import { decodeRecord } from '../../src/report/flow-record';
import { FileSinks } from '../../src/output/file-sinks';
import { Harness, CISN, C2S } from '../flow/harness';
import { MemoryOutput } from '../helpers/memory-output';
import { ACK, FIN, SYN } from '../helpers/packets';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

test('a closed flow\'s sink and scanner sessions can be collected while it is remembered for stragglers', async () => {
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
  const sink = new WeakRef(h.demux.openFlowList()[0].sink as object);
  h.cdata(5, '', FIN | ACK);
  assert.deepEqual(records, ['1'], 'the flow closed on its FIN, with its scanner\'s result');
  // WeakRefs hold their targets until the current job ends.
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  assert.equal(sessions.length, 1);
  assert.equal(sessions[0].deref(), undefined, 'the session outlived its flow');
  assert.equal(sink.deref(), undefined, 'the sink outlived its flow');
  // The flow is remembered for the straggler check by its content's name: a retransmission
  // is compared with the stored bytes and ignored.
  assert.equal(h.cdata(0, 'hello'), Outcome.IGNORED);
});

test('stragglers of closed flows are compared with their flow files on disk', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpflow-straggler-'));
  try {
    const files = new FileSinks({ outdir: dir, template: '%A.%a-%B.%b%C%c', maxOpenFiles: 4, findx: false, onDebug: null });
    const records: string[] = [];
    const h = new Harness({}, undefined, new FlowEnd(files, [], { add: () => {}, addFlow: (_c, _f, _flow, name) => records.push(name ?? '') }));
    h.client({ seq: CISN, flags: SYN });
    h.cdata(0, 'hello world');
    h.cdata(11, '', FIN | ACK);
    files.store.flushAll();
    assert.equal(h.cdata(6, 'world'), Outcome.IGNORED, 'the same bytes: ignored');
    assert.equal(h.cdata(6, 'World'), Outcome.PROCESSED, 'other bytes: a new flow');
    h.cdata(11, '', FIN | ACK);
    files.store.flushAll();
    assert.equal(fs.readFileSync(path.join(dir, C2S), 'latin1'), 'hello world');
    assert.equal(fs.readFileSync(path.join(dir, C2S + 'c1'), 'latin1'), 'World');
    assert.equal(h.cdata(6, 'World'), Outcome.IGNORED, 'compared with the newer flow, c1');
    // c1's file removed meanwhile: nothing to compare with, so not a straggler.
    fs.rmSync(path.join(dir, C2S + 'c1'));
    assert.equal(h.cdata(6, 'World'), Outcome.PROCESSED);
    h.finish();
    // Its name free again, the new flow takes it (tcpflow's counter looks at the disk).
    assert.deepEqual(records, [C2S, C2S + 'c1', C2S + 'c1'].map((n) => path.join(dir, n)));
    assert.equal(fs.readFileSync(path.join(dir, C2S + 'c1'), 'latin1'), 'World');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
