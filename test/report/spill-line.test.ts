import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Flow } from '../../src/flow/flow';
import { decodeRecord, encodeRecord, flowRecord, writeFlowLine, FLOW_LINE_FIXED, type FlowRecord, type JsonValue } from '../../src/report/flow-record';
import { SpillLine } from '../../src/report/spill-line';
import { FILEOBJECT_LINE, renderFileobject } from '../../src/report/fileobject';
import { JSON_LINE, jsonlFormat } from '../../src/report/jsonl';
import { dfxmlFormat, type ReportSummary } from '../../src/report/dfxml';
import { ReportFile, ReportMerge } from '../../src/report/report-files';
import { END_OF_INPUT, RecordSpill } from '../../src/report/record-spill';
import { TextBatch } from '../../src/util/text-batch';
import { ip4, ip6 } from '../helpers/packets';
import { Rng } from '../flow/rng';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpflow-spill-line-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A spill line's bytes as the merge reads them (`close first record`), loaded into a SpillLine. */
function loaded(record: string, close: number | string = 7, first: number | string = 3): SpillLine {
  const buf = Buffer.from(`xx\n${close} ${first} ${record}\nyy`);
  const line = new SpillLine();
  const start = 3;
  line.load(buf, start, buf.indexOf(10, start));
  return line;
}

/** What each report gets from a line: copied (null when the line is not plain) and rendered from its record. */
function both(line: SpillLine): { copied: { xml: string; json: string } | null; rendered: { xml: string; json: string } } {
  const record = line.record();
  const rendered = { xml: renderFileobject(record), json: JSON.stringify(record) + '\n' };
  if (!line.plain()) return { copied: null, rendered };
  const write = (t: typeof FILEOBJECT_LINE) => {
    // Room for exactly what the merge reserves, filled with junk: an overrun or an unwritten byte shows.
    const room = line.end - line.start + t.markup;
    const b = Buffer.alloc(room + 16, 0xff);
    const end = t.write(line, b, 16);
    assert.ok(end <= 16 + room, 'within the room reserved');
    return b.toString('utf8', 16, end);
  };
  return { copied: { xml: write(FILEOBJECT_LINE), json: write(JSON_LINE) }, rendered };
}

const FIELD_CHARS = ['a', 'Z', '0', '9', '.', '/', '-', ':', ' ', '_', '&', '<', '>', "'", '"', '\\', '\t', '\n', '\r', '\u0000', '\u001f',
  '\u007f', 'é', '€', '😀', '\ud800', '\udc00', '\ufffe', '%'];

function randomText(rng: Rng, special: boolean): string {
  let s = '';
  for (let k = rng.int(1, 20); k > 0; k--) s += special && rng.chance(0.2) ? rng.pick(FIELD_CHARS) : rng.pick(FIELD_CHARS.slice(0, 10));
  return s;
}

function randomNumber(rng: Rng): number {
  switch (rng.int(0, 9)) {
    case 0: return 0;
    case 1: return rng.pick([1e15 - 1, 1e15, 2 ** 53 - 1, 1e21, 1.5, -3]);
    default: return rng.int(1, 10 ** rng.int(1, 12));
  }
}

function randomRecord(rng: Rng, special: boolean): FlowRecord {
  const opt = <T>(v: () => T): T | undefined => (rng.chance(0.5) ? v() : undefined);
  const hex = (n: number) => Array.from({ length: n }, () => rng.int(0, 15).toString(16)).join('');
  const js: JsonValue[] = ['text\t"quoted"', 0, [1, 'a'], { k: null }];
  return {
    type: 'flow', filename: opt(() => randomText(rng, special)), filesize: randomNumber(rng),
    startime: `2024-01-0${rng.int(1, 9)}T00:00:0${rng.int(0, 9)}${rng.chance(0.5) ? '.000123' : ''}Z`, endtime: '2024-01-09T23:59:59.999999Z',
    mac_daddr: opt(() => '02:00:00:00:00:01'), mac_saddr: opt(() => '02:00:00:00:00:02'), family: rng.pick([2, 10]),
    src_ipn: rng.pick(['10.0.0.1', '2001:db8::1', '::ffff:1.2.3.4']), dst_ipn: '192.168.255.255', srcport: randomNumber(rng), dstport: rng.int(0, 65535),
    vlan: opt(() => rng.int(0, 4095)), packets: randomNumber(rng), out_of_order_count: opt(() => randomNumber(rng)), violations: opt(() => randomNumber(rng)),
    len: randomNumber(rng), caplen: opt(() => randomNumber(rng)), md5: opt(() => hex(32)),
    // The merge deletes a repeated content's body files: names in the test's directory that no file has.
    byte_runs: special ? opt(() => [{ file_offset: 12, filename: `${dir}/none-${randomText(rng, true).replace(/[/.]/g, '_')}`, filesize: 3 }]) : undefined,
    http_content_sha256: special ? opt(() => 'q80N1bEtX4Dzt/2Ha0tKQbbxIdhn9Aju4lJWr2Z9qgI=') : undefined,
    sha256: opt(() => hex(64)), js: special ? opt(() => rng.pick(js)) : undefined, js_error: special ? opt(() => randomText(rng, true)) : undefined,
    file_packet: special ? opt(() => rng.int(0, 1e6)) : undefined,
  };
}

test('a plain line copied into the reports gives their rendered bytes: random records, every optional field, odd numbers and text', () => {
  const rng = new Rng(2026);
  let plain = 0, other = 0;
  for (let i = 0; i < 20000; i++) {
    const r = randomRecord(rng, i % 2 === 1);
    const line = loaded(encodeRecord(r), i, i >> 1);
    assert.equal(line.close, i);
    assert.equal(line.first, i >> 1);
    const { copied, rendered } = both(line);
    // The spill round trip, as the reports see it.
    assert.equal(rendered.json, JSON.stringify(r) + '\n');
    if (copied === null) {
      other++;
      continue;
    }
    plain++;
    assert.equal(copied.xml, rendered.xml, JSON.stringify(r));
    assert.equal(copied.json, rendered.json, JSON.stringify(r));
  }
  // Both paths are taken often: the comparison above is not vacuous.
  assert.ok(plain > 3000, `plain ${plain}`);
  assert.ok(other > 3000, `other ${other}`);
});

test('what a plain line is: printable ASCII that no report escapes, String(n) numbers, no http, js or --shard fields', () => {
  const base: FlowRecord = {
    type: 'flow', filename: 'out/010.000.000.001.00080-010.000.000.002.01234', filesize: 10, startime: '2024-01-01T00:00:00Z',
    endtime: '2024-01-01T00:00:01.5Z', family: 2, src_ipn: '10.0.0.1', dst_ipn: '10.0.0.2', srcport: 80, dstport: 1234, packets: 3, len: 180,
  };
  const isPlain = (r: Partial<FlowRecord>) => loaded(encodeRecord({ ...base, ...r })).plain();
  assert.equal(isPlain({}), true);
  assert.equal(isPlain({ filename: undefined, md5: 'd41d8cd98f00b204e9800998ecf8427e', sha256: 'ab', vlan: 0, caplen: 1, violations: 0 }), true);
  for (const c of ['&', '<', '>', "'", '"', '\\', '\t', '\n', '\r', '\u0001', '\u007f', 'é', '😀', '\ud800']) {
    assert.equal(isPlain({ filename: `out/a${c}b` }), false, JSON.stringify(c));
  }
  for (const n of [1.5, -1, 1e21, 1e15, 2 ** 53]) assert.equal(isPlain({ filesize: n }), false, String(n));
  assert.equal(isPlain({ filesize: 1e15 - 1 }), true);
  assert.equal(isPlain({ byte_runs: [] }), false);
  assert.equal(isPlain({ http_content_sha256: 'x' }), false);
  assert.equal(isPlain({ js: 'x' }), false);
  assert.equal(isPlain({ js_error: 'x' }), false);
  assert.equal(isPlain({ file_packet: 1 }), false);
  // Numbers String(n) would not write as they are: a leading zero, a sign, an empty required field.
  const line = encodeRecord(base).split('\t');
  for (const [k, v] of [[1, '010'], [1, '+1'], [11, ''], [9, '0x1']] as const) {
    const odd = [...line];
    odd[k] = v;
    const l = loaded(odd.join('\t'));
    assert.equal(l.plain(), false, `${k} ${v}`);
  }
  // The wrong number of fields: not plain, and the record says what is wrong.
  const short = loaded(line.slice(0, 23).join('\t'));
  assert.equal(short.plain(), false);
  assert.throws(() => short.record(), /23 fields, not 24/);
  assert.equal(loaded(`${line.join('\t')}\textra`).plain(), false);
});

test('the keys of a line: digits, the end of input, and anything else as Number() reads it', () => {
  const rec = encodeRecord({
    type: 'flow', filesize: 0, startime: 'a', endtime: 'b', family: 2, src_ipn: 'c', dst_ipn: 'd', srcport: 1, dstport: 2, packets: 1, len: 1,
  });
  for (const [close, first] of [[0, 0], [123456789012345, 1], [END_OF_INPUT, 99], [1e16, 12345678901234567]]) {
    const l = loaded(rec, close, first);
    assert.equal(l.close, close);
    assert.equal(l.first, first);
  }
  // 16 digits past 2^53, and text that is not digits: as Number() reads it.
  for (const [close, first] of [['9007199254740993', '9999999999999999'], ['1e3', '-5'], ['0x10', '007']]) {
    const l = loaded(rec, close, first);
    assert.equal(l.close, Number(close));
    assert.equal(l.first, Number(first));
  }
});

test('the worker\'s spill lines of ordinary flows are plain: the reports copy them', () => {
  const MAC = Uint8Array.from([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]);
  for (let mask = 0; mask < 64; mask++) {
    const f = new Flow(mask & 1 ? ip6('2001:db8::1') : ip4('10.0.0.1'), ip4('10.0.0.2'), 1, 65535, mask & 32 ? 7 : -1, mask & 2 ? MAC : null, 0);
    f.startSec = 1e9; f.startUsec = mask; f.lastSec = 2e9; f.lastUsec = 999999;
    f.packets = 3; f.len = 300; f.caplen = mask & 4 ? 200 : 300; f.lastByte = mask * 1000;
    f.outOfOrder = mask & 8 ? 7 : 0; f.violations = mask & 16 ? 1 : 0;
    const b = new TextBatch(FLOW_LINE_FIXED + 200);
    writeFlowLine(b, 10 + mask, mask, f, 'out/x', undefined);
    const line = new SpillLine();
    line.load(b.bytes, 0, b.length - 1);
    assert.equal(line.plain(), true, `mask ${mask}`);
    const { copied, rendered } = both(line);
    assert.deepEqual(copied, rendered);
    assert.equal(rendered.xml, renderFileobject(flowRecord(f, 'out/x', [])));
  }
});

test('the report merge writes plain and other records in packet order across workers, byte for byte as rendered: report.xml and JSON Lines', () => {
  const rng = new Rng(77);
  const spills = [0, 1, 2].map((w) => new RecordSpill(path.join(dir, `part${w}`)));
  const all: { close: number; first: number; r: FlowRecord }[] = [];
  const next = [0, 0, 0];
  for (let i = 0; i < 3000; i++) {
    const w = rng.int(0, 2);
    next[w] += rng.int(0, 3); // equal keys across workers too: ties broken by the first packet
    const close = rng.chance(0.05) ? END_OF_INPUT : next[w];
    all.push({ close, first: rng.int(0, 1e6), r: randomRecord(rng, rng.chance(0.3)) });
  }
  // Each worker spills its records in key order; one record is larger than the writers' batches.
  all[17].r.filename = 'big'.repeat(400_000);
  for (const w of [0, 1, 2]) {
    const mine = all.filter((_, i) => i % 3 === w).sort((a, b) => a.close - b.close || a.first - b.first);
    for (const x of mine) spills[w].add(x.close === END_OF_INPUT ? Infinity : x.close, x.first, encodeRecord(x.r));
    spills[w].close();
  }
  const info = { commandLine: 'test', startTime: new Date(0), config: {}, tdelta: 0 };
  const xml = ReportFile.open(path.join(dir, 'report.xml'), dfxmlFormat(info, 0n));
  const jsonl = ReportFile.open(path.join(dir, 'report.jsonl'), jsonlFormat());
  const merge = new ReportMerge([xml, jsonl], [], spills.map((s) => s.path));
  const summary: ReportSummary = {
    openFdsAtEnd: 0, maxOpenFlows: 0, totalFlows: all.length, flowMapSize: 0, totalPackets: 0, flowsPurged: 0, maxFlows: 0, flowsTimedOut: 0,
    tcpTimeout: 0, fragments: { fragments: 0 } as ReportSummary['fragments'], error: null,
  };
  assert.deepEqual(merge.finish([], [], all.length, summary, []), []);
  const order = [...all].sort((a, b) => a.close - b.close || a.first - b.first);
  // The http duplicate filter drops a repeated content's bodies: what the slow path does to a record.
  const seen = new Set<string>();
  const expected = order.map(({ r }) => {
    const rec = decodeRecord(encodeRecord(r));
    if (rec.http_content_sha256 !== undefined) {
      if (seen.has(rec.http_content_sha256)) rec.byte_runs = undefined;
      seen.add(rec.http_content_sha256);
      rec.http_content_sha256 = undefined;
    }
    return rec;
  });
  const xmlText = fs.readFileSync(xml.path, 'utf8');
  const head = dfxmlFormat(info, 0n).header;
  assert.equal(xmlText.slice(head.length, xmlText.indexOf('  </configuration>\n', head.length)), expected.map((r) => renderFileobject(r)).join(''));
  const lines = fs.readFileSync(jsonl.path, 'utf8').split('\n');
  assert.deepEqual(lines.slice(0, -2), expected.map((r) => JSON.stringify(r)));
  assert.match(lines[lines.length - 2], /^\{"type":"summary"/);
});
