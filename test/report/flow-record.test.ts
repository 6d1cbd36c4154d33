import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Flow } from '../../src/flow/flow';
import { decodeRecord, encodeRecord, escapeField, flowLine, flowRecord, writeFlowLine, FLOW_LINE_FIXED, type FlowRecord } from '../../src/report/flow-record';
import { TextBatch } from '../../src/util/text-batch';
import { ip4, ip6 } from '../helpers/packets';
import { Rng } from '../flow/rng';

const MAC = Uint8Array.from([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]);
/** One address all zeros (left out), the other with every hex digit's case. */
const HALF_MACS = [Uint8Array.from([0, 0, 0, 0, 0, 0, 0xab, 0xcd, 0xef, 0x10, 0x9f, 0xff]), Uint8Array.from([0xfa, 0x0b, 0, 0x7e, 0xc3, 0x01, 0, 0, 0, 0, 0, 0])];

/** What the JSON Lines report writes for a record: absent fields left out. */
const json = (r: FlowRecord) => JSON.stringify(r);

test('a record survives the spill exactly: every combination of optional fields', () => {
  for (let mask = 0; mask < 128; mask++) {
    const f = new Flow(mask & 1 ? ip6('2001:db8::1') : ip4('10.0.0.1'), mask & 1 ? ip6('::1') : ip4('10.0.0.2'), 1, 65535, -1,
      mask & 2 ? MAC : mask & 4 ? new Uint8Array(12) : null, 0);
    f.startSec = 1e9; f.startUsec = mask; f.lastSec = 2e9; f.lastUsec = 999999;
    f.packets = 3; f.len = 300; f.caplen = mask & 8 ? 200 : 300; f.lastByte = mask * 1000;
    f.outOfOrder = mask & 16 ? 7 : 0; f.violations = mask & 32 ? 1 : 0;
    const r = flowRecord(f, mask & 64 ? 'out/x' : null, mask & 64 ? [{ md5: 'd41d8cd98f00b204e9800998ecf8427e' }] : []);
    const back = decodeRecord(encodeRecord(r));
    assert.equal(json(back), json(r), `mask ${mask}`);
    assert.ok(!encodeRecord(r).includes('\n'));
  }
});

test('file names with any characters survive the spill: tabs, newlines, backslashes, escapes, surrogates', () => {
  const f = new Flow(ip4('10.0.0.1'), ip4('10.0.0.2'), 1, 2, -1, null, 0);
  const rng = new Rng(5);
  const odd = ['a\tb', 'a\nb\r', '\\', '\\t', '\\u0041', 'x\\\\ny', '\ud800', 'a\udc00b', '😀\ud83d', 'é€😀', '%09', ' lead'];
  for (let i = 0; i < 300; i++) {
    let s = '';
    for (let k = rng.int(1, 12); k > 0; k--) s += rng.chance(0.5) ? rng.pick(odd) : String.fromCharCode(rng.int(0, 0xffff));
    odd.push(s);
  }
  for (const name of odd) {
    const line = encodeRecord(flowRecord(f, name, []));
    assert.ok(!/[\n\r\t]/.test(line.split('\t')[0]), JSON.stringify(name));
    // What the spill file holds is UTF-8: the line must come back the same through it.
    const through = Buffer.from(line, 'utf8').toString('utf8');
    assert.equal(decodeRecord(through).filename, name, JSON.stringify(name));
  }
});

test('scanner results survive the spill: sha256, any JSON value or string from a plugin, its error text', () => {
  const f = new Flow(ip4('10.0.0.1'), ip4('10.0.0.2'), 1, 2, -1, null, 0);
  const values = ['plain', 'tab\there\nnewline\\', '\ud800 lone', '', 0, -1.5, true, false, null, [], [1, 'a\tb', { x: null }],
    { sni: 'example.com', alpn: ['h2'], nested: { deep: ['\u0000', '😀'] } }];
  for (const js of values) {
    const r = flowRecord(f, 'out/x', [{ sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' }, { js }]);
    const line = encodeRecord(r);
    assert.equal(json(decodeRecord(Buffer.from(line).toString('utf8'))), json(r), JSON.stringify(js));
  }
  const err = flowRecord(f, 'out/x', [{ js_error: 'TypeError: bad\tthing\n at line 2' }]);
  assert.equal(json(decodeRecord(encodeRecord(err))), json(err));
});

test('writeFlowLine and flowLine write the spill line of the flow\'s record: every combination of fields, file names, file packets, scan results', () => {
  const names = [null, 'out/010.000.000.001.00001-010.000.000.002.65535', 'a\tb\\c\n', '\ud800é😀'];
  const batch = new TextBatch(FLOW_LINE_FIXED + 64);
  for (let mask = 0; mask < 512; mask++) {
    // VLAN: untagged, or an id (0 and 4095 at the ends) on every other combination.
    const f = new Flow(mask & 1 ? ip6('2001:db8::1') : ip4('10.0.0.1'), mask & 1 ? ip6('::1') : ip4('10.0.0.2'), 1, 65535,
      mask & 64 ? -1 : mask % 3 === 0 ? 0 : mask % 3 === 1 ? 4095 : 7, mask & 2 ? MAC : mask & 4 ? new Uint8Array(12) : null, 0);
    // Start and end in different seconds, then the same one; microseconds zero or not.
    f.startSec = 1e9 + (mask >> 7); f.startUsec = mask & 8 ? 0 : mask * 37; f.lastSec = mask & 16 ? f.startSec : 2e9; f.lastUsec = mask & 8 ? 999999 : 0;
    f.packets = 3; f.len = 300; f.caplen = mask & 32 ? 200 : 300; f.lastByte = mask * 1000;
    f.outOfOrder = mask & 64 ? 7 : 0; f.violations = mask & 128 ? 1 : 0;
    const name = names[mask % names.length];
    const filePacket = mask & 256 ? mask * 3 : undefined;
    for (const scans of [[], [{ md5: 'd41d8cd98f00b204e9800998ecf8427e' }]]) {
      const r = flowRecord(f, name, scans);
      r.file_packet = filePacket;
      assert.equal(flowLine(f, name, scans, filePacket), encodeRecord(r), `mask ${mask}`);
    }
    // The spill's own path for a flow without scanner results: the same line, as bytes.
    const r = flowRecord(f, name, []);
    r.file_packet = filePacket;
    const want = `${mask} 7 ${encodeRecord(r)}\n`;
    const escaped = name === null ? '' : escapeField(name);
    batch.clear();
    assert.equal(writeFlowLine(batch, mask, 7, f, escaped, filePacket), want.length, `mask ${mask}`);
    assert.equal(batch.bytes.toString('utf8', 0, batch.length), want, `mask ${mask}`);
  }
});

test('writeFlowLine writes the record\'s spill line: odd numbers, times, addresses, names, a batch at its end', () => {
  const names = [null, 'out/x', 'a\tb\\c\n', '\ud800é😀', 'ü'.repeat(300)];
  const rng = new Rng(11);
  const batch = new TextBatch(4096);
  for (let i = 0; i < 3000; i++) {
    const v6 = rng.chance(0.3);
    const f = new Flow(v6 ? ip6(rng.pick(['2001:db8::1', '::', 'fe80::1:2:3'])) : ip4(`${rng.int(0, 255)}.0.${rng.int(0, 255)}.255`),
      ip4('10.0.0.2'), rng.int(0, 65535), rng.int(0, 65535), rng.pick([-1, 0, 1, 4095]), rng.pick([MAC, new Uint8Array(12), null, ...HALF_MACS]), 0);
    f.startSec = rng.pick([0, 1e9, 2 ** 40, -5, 1.8e13]); f.startUsec = rng.pick([0, 1, 999999, 123456, 1234567, -5, 2.5]);
    f.lastSec = rng.pick([f.startSec, 2e9]); f.lastUsec = rng.int(0, 999999);
    f.packets = rng.pick([rng.int(1, 2 ** 31), 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 9]); f.len = rng.pick([0, 9, 10, 2 ** 53 - 1, 2 ** 60]); f.caplen = rng.pick([f.len, 7]);
    f.lastByte = rng.pick([0, 99, 100, 1e15 + 1]); f.outOfOrder = rng.int(0, 2); f.violations = rng.int(0, 2);
    const name = rng.pick(names);
    const filePacket = rng.pick([undefined, 0, 12345]);
    const close = rng.pick([Number.MAX_SAFE_INTEGER, 3, 6.5, 0]), first = rng.int(0, 1e6);
    const want = `${close} ${first} ${flowLine(f, name, [], filePacket)}\n`;
    const escaped = name === null ? '' : escapeField(name);
    if (!(batch.length + FLOW_LINE_FIXED + 3 * escaped.length <= batch.bytes.length)) batch.clear();
    const start = batch.length;
    const length = writeFlowLine(batch, close, first, f, escaped, filePacket);
    assert.equal(batch.bytes.toString('utf8', start, batch.length), want, `case ${i}`);
    assert.equal(length, want.length);
  }
});

test('a line with the wrong number of fields is refused', () => {
  assert.throws(() => decodeRecord('a\tb'), /fields/);
  const line = encodeRecord(flowRecord(new Flow(ip4('10.0.0.1'), ip4('10.0.0.2'), 1, 2, -1, null, 0), 'x', []));
  assert.doesNotThrow(() => decodeRecord(line));
  assert.throws(() => decodeRecord(`${line}\t`), /25 fields/);
  assert.throws(() => decodeRecord(line.slice(0, line.lastIndexOf('\t'))), /23 fields/);
});

test('numbers decode as Number() reads them, from their digits or not: large, zero, odd text; and from an offset in the line', () => {
  const f = new Flow(ip4('10.0.0.1'), ip4('10.0.0.2'), 0, 65535, -1, null, 0);
  f.startSec = 1e9; f.lastSec = 1e9;
  for (const size of [0, 7, 1e15 - 1, 1e15, 2 ** 53 - 1, 123456789012345]) {
    f.lastByte = size; f.packets = size; f.len = size;
    const r = flowRecord(f, 'n', []);
    r.file_packet = size;
    const back = decodeRecord(`17 42 ${encodeRecord(r)}`, 6);
    assert.equal(json(back), json(r), String(size));
  }
  // Not written by encodeRecord, but read as before (Number of the field's text).
  const fields = encodeRecord(flowRecord(f, 'n', [])).split('\t');
  for (const odd of ['007', ' 5', '1e3', '-2', '0x10', '1.5', '99999999999999999999']) {
    fields[1] = odd;
    assert.equal(decodeRecord(fields.join('\t')).filesize, Number(odd), odd);
  }
});
