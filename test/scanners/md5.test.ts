import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { FlowEnd } from '../../src/shard/flow-end';
import { md5Scanner } from '../../src/scanners/md5';
import { recordList } from '../helpers/record-list';
import { Harness, C2S, CISN } from '../flow/harness';
import { MemoryOutput } from '../helpers/memory-output';
import { ACK, FIN, SYN } from '../helpers/packets';

/** A harness whose flows end through the real flow end: md5 scanner, records kept here. */
function scanned(cfg: ConstructorParameters<typeof Harness>[0] = {}) {
  const files = new MemoryOutput();
  const { output, records } = recordList();
  const end = new FlowEnd(files, [md5Scanner], output);
  const h = new Harness(cfg, undefined, end);
  const md5Of = (name: string) => createHash('md5').update(files.content(name)).digest('hex');
  return { h, files, records, md5Of };
}

test('md5 of bytes that arrived in order is the file\'s, hashed on the way (no read back)', () => {
  const { h, files, records, md5Of } = scanned();
  h.client({ seq: CISN, flags: SYN });
  h.cdata(0, 'hello ');
  h.cdata(6, 'world');
  h.cdata(11, '', FIN | ACK);
  assert.equal(records.length, 1);
  assert.equal(records[0].record.md5, md5Of(C2S));
  assert.equal(records[0].record.md5, createHash('md5').update('hello world').digest('hex'));
  assert.equal(files.savedChecks, 0);
});

test('md5 of out-of-order, overlapping, front-inserted and -b-limited flows is still the file\'s', () => {
  const cases: [string, (h: Harness) => void, ConstructorParameters<typeof Harness>[0]][] = [
    ['reordered', (h) => { h.client({ seq: CISN, flags: SYN }); h.cdata(5, 'fghij'); h.cdata(0, 'abcde'); }, {}],
    ['hole', (h) => { h.client({ seq: CISN, flags: SYN }); h.cdata(0, 'ab'); h.cdata(10, 'kl'); }, {}],
    ['overlap', (h) => { h.client({ seq: CISN, flags: SYN }); h.cdata(0, 'abcdef'); h.cdata(2, 'XY'); }, {}],
    ['front insertion (B5)', (h) => { h.cdata(100, 'later'); h.cdata(90, 'earlier...'); }, {}],
    ['-b 4', (h) => { h.client({ seq: CISN, flags: SYN }); h.cdata(0, 'abc'); h.cdata(3, 'defgh'); h.cdata(8, 'ij'); }, { maxBytes: 4 }],
    ['-b 0', (h) => { h.client({ seq: CISN, flags: SYN }); h.cdata(0, 'abc'); }, { maxBytes: 0 }],
  ];
  for (const [what, run, cfg] of cases) {
    const { h, records, md5Of } = scanned(cfg);
    run(h);
    h.finish();
    const named = records.filter((r) => r.record.filename !== undefined);
    assert.ok(named.length >= 1, what);
    for (const r of named) assert.equal(r.record.md5, md5Of(r.record.filename as string), `${what}: ${r.record.filename}`);
  }
});

test('flows that stored nothing get no digest and no file name; every flow gets one record', () => {
  const { h, records } = scanned();
  h.client({ seq: CISN, flags: SYN });
  h.server({ seq: 5000, flags: SYN | ACK });
  h.finish();
  assert.equal(records.length, 2);
  assert.ok(records.every((r) => r.record.md5 === undefined && r.record.filename === undefined && r.close === Infinity));
});
