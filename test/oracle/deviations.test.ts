/**
 * The precise deviation rules of test/helpers/deviations.ts on small synthetic oracle
 * records and results: each narrow row forgives exactly its effect and nothing else, renamed
 * files are paired one to one and then compared under their new names, broad rows forgive
 * whole cases but only what no narrow row forgives, and the deviations file is checked as
 * oracle-compare checks it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ActualResult, diffResults, digestBuffer, FlowRecord, md5hex, OracleCase, REPO_ROOT } from '../helpers/corpus';
import { Deviation, digitRename, GLOBAL_SPECS, judgeCase, Judgement, NARROWER_HERE, parseDeviations, ROW_RULES, vlanRename } from '../helpers/deviations';

const CAPTURE = 'synthetic.pcap';
/** A packet time, as the oracle records flow files' mtimes. */
const T0 = 1_000_000_000_000_000;

interface FileSpec { content: string; mtime?: number | null }
type Files = Record<string, string | FileSpec>;

const spec = (f: string | FileSpec): FileSpec => (typeof f === 'string' ? { content: f, mtime: T0 } : f);

function flow(filename: string | null, filesize: number, extra: Partial<FlowRecord> = {}, attrs: Record<string, string> = {}): FlowRecord {
  return {
    filename,
    filesize,
    tcpflow: { dst_ipn: '10.0.0.2', dstport: '80', mac_daddr: '02:00:00:00:00:02', mac_saddr: '02:00:00:00:00:01', packets: '3',
      src_ipn: '10.0.0.1', srcport: '40000', startime: '2001-09-09T01:46:40Z', ...attrs },
    ...extra,
  };
}

function oracle(files: Files, flows: FlowRecord[], mode = 'default'): OracleCase {
  return {
    format: 1, capture: CAPTURE, mode, args: [], exit_code: 0, file: `${CAPTURE}.${mode}.json`,
    files: [{ path: 'report.xml', volatile: true }, ...Object.entries(files).map(([p, f]) => {
      const { content, mtime } = spec(f);
      return { path: p, ...digestBuffer(Buffer.from(content)), mtime_us: mtime ?? null };
    })],
    report: { root: 'dfxml', flows, summary: { total_flows: flows.length, total_packets: 3 * flows.length } },
  };
}

function result(files: Files, flows: FlowRecord[], exitCode = 0): ActualResult {
  return {
    exit_code: exitCode, signal: null, reportText: null,
    files: [{ path: 'report.xml', volatile: true }, ...Object.entries(files).map(([p, f]) => {
      const { content, mtime } = spec(f);
      const buf = Buffer.from(content);
      return { path: p, ...digestBuffer(buf), buf, mtime_us: mtime ?? null };
    })],
    report: { root: 'dfxml', flows, summary: { total_flows: flows.length, total_packets: 3 * flows.length } },
  };
}

function entry(specRow: string, mode = '*', capture = CAPTURE): Deviation {
  return { capture, mode, spec: specRow, reason: `synthetic ${specRow}` };
}

function judge(c: OracleCase, act: ActualResult, entries: Deviation[]): Judgement & { texts: string[] } {
  const reasons = diffResults(c, act, { mtime: true });
  assert.ok(reasons.length > 0, 'the synthetic case must differ from its oracle');
  const j = judgeCase(c, act, reasons, entries, { mtime: true });
  return { ...j, texts: j.unforgiven.map((r) => r.text) };
}

const forgivenBy = (j: Judgement, d: Deviation) => j.credit.get(d) ?? 0;

const F1 = '010.000.000.001.40000-010.000.000.002.00080';
const F2 = '010.000.000.002.00080-010.000.000.001.40000';
const DATA1 = 'GET / HTTP/1.0\r\n\r\n';
const DATA2 = 'HTTP/1.0 200 OK\r\n\r\nhello';
const withoutMac = (f: FlowRecord): FlowRecord => {
  const t = { ...f.tcpflow! };
  delete t.mac_daddr;
  delete t.mac_saddr;
  return { ...f, tcpflow: t };
};

test('B7: forgives only missing mac_daddr/mac_saddr', async (t) => {
  const c = oracle({ [F1]: DATA1, [F2]: DATA2 }, [flow(F1, DATA1.length), flow(F2, DATA2.length)]);
  const files = { [F1]: DATA1, [F2]: DATA2 };
  const b7 = entry('B7');

  await t.test('both attributes missing on every flow: a deviation', () => {
    const j = judge(c, result(files, c.report!.flows.map(withoutMac)), [b7]);
    assert.deepEqual(j.texts, []);
    assert.equal(j.forgiven, 4);
    assert.deepEqual(j.rows, ['B7']);
  });
  await t.test('a different MAC value is not forgiven', () => {
    const flows = [flow(F1, DATA1.length, {}, { mac_saddr: '02:00:00:00:00:09' }), withoutMac(flow(F2, DATA2.length))];
    const j = judge(c, result(files, flows), [b7]);
    assert.deepEqual(j.texts, [`report: attribute mac_saddr differs for ${F1} (expected "02:00:00:00:00:01", got "02:00:00:00:00:09")`]);
  });
  await t.test('a MAC attribute the oracle does not have is not forgiven', () => {
    const c2 = oracle({ [F1]: DATA1 }, [withoutMac(flow(F1, DATA1.length))]);
    const j = judge(c2, result({ [F1]: DATA1 }, [flow(F1, DATA1.length)]), [b7]);
    assert.equal(j.unforgiven.length, 2);
    assert.ok(j.unforgiven.every((r) => r.kind === 'attr-extra'));
    assert.equal(forgivenBy(j, b7), 0);
  });
  await t.test('any other missing attribute, file or count still fails', () => {
    const flows = [withoutMac(flow(F1, DATA1.length)), withoutMac(flow(F2, DATA2.length))];
    delete flows[0].tcpflow!.packets;
    const j = judge(c, result({ [F1]: DATA1, [F2]: `${DATA2}!` }, flows), [b7]);
    assert.deepEqual(j.unforgiven.map((r) => r.kind), ['size', 'attr-missing']);
    assert.equal(j.forgiven, 4);
  });
});

test('B10, B11: forgive only one added MD5 digest, equal to the actual file\'s md5', async (t) => {
  const c = oracle({ [F1]: DATA1, [F2]: DATA2 }, [flow(F1, DATA1.length), flow(F2, DATA2.length)]);
  const md5 = (s: string) => md5hex(Buffer.from(s));
  const withHash = (h: FlowRecord['hashdigest'], other: FlowRecord['hashdigest'] = [{ type: 'MD5', value: md5(DATA2) }]) =>
    [flow(F1, DATA1.length, { hashdigest: h }), flow(F2, DATA2.length, { hashdigest: other })];
  const files = { [F1]: DATA1, [F2]: DATA2 };

  for (const row of ['B10', 'B11']) {
    await t.test(`${row}: the md5 of the flow's file is forgiven`, () => {
      const d = entry(row);
      const j = judge(c, result(files, withHash([{ type: 'MD5', value: md5(DATA1) }])), [d]);
      assert.deepEqual(j.texts, []);
      assert.equal(forgivenBy(j, d), 2);
    });
  }
  const cases: [string, FlowRecord['hashdigest']][] = [
    ['a wrong md5', [{ type: 'MD5', value: md5(DATA2) }]],
    ['another hash type', [{ type: 'SHA1', value: md5(DATA1) }]],
    ['two digests', [{ type: 'MD5', value: md5(DATA1) }, { type: 'SHA1', value: 'ab' }]],
  ];
  for (const [what, h] of cases) {
    await t.test(`${what} is not forgiven`, () => {
      const j = judge(c, result(files, withHash(h)), [entry('B10')]);
      assert.deepEqual(j.unforgiven.map((r) => r.kind), ['hashdigest']);
      assert.equal(j.forgiven, 1);
    });
  }
  await t.test('a digest that differs from one the oracle has is not forgiven', () => {
    const c2 = oracle(files, [flow(F1, DATA1.length, { hashdigest: [{ type: 'MD5', value: md5('x') }] }), flow(F2, DATA2.length)]);
    const j = judge(c2, result(files, withHash([{ type: 'MD5', value: md5(DATA1) }])), [entry('B11')]);
    assert.deepEqual(j.unforgiven.map((r) => r.kind), ['hashdigest']);
  });
  await t.test('the md5 of a file that is not in the output is not forgiven', () => {
    const j = judge(c, result({ [F2]: DATA2 }, withHash([{ type: 'MD5', value: md5(DATA1) }])), [entry('B11')]);
    assert.deepEqual(j.unforgiven.map((r) => r.kind), ['missing-file', 'hashdigest']);
  });
});

test('B5: forgives only a filesize equal to the real file size, and the .findx of those flows', async (t) => {
  const data = 'x'.repeat(40);
  const findx = (s: string) => ({ content: s, mtime: null });
  // The oracle's report keeps the stale size 30 for a 40-byte file (front insertion).
  const c = oracle({ [F1]: data, [`${F1}.findx`]: findx('10|1.000000|30\n'), [F2]: DATA2, [`${F2}.findx`]: findx('0|1.000000|23\n') },
    [flow(F1, 30), flow(F2, DATA2.length)], 'findx');
  const b5 = entry('B5');

  await t.test('the real size in the report and that flow\'s findx: a deviation', () => {
    const act = result({ [F1]: data, [`${F1}.findx`]: findx('0|1.000000|10\n10|1.000000|30\n'), [F2]: DATA2, [`${F2}.findx`]: findx('0|1.000000|23\n') },
      [flow(F1, 40), flow(F2, DATA2.length)]);
    const j = judge(c, act, [b5]);
    assert.deepEqual(j.texts, []);
    assert.equal(forgivenBy(j, b5), 2);
  });
  await t.test('a size that is neither the oracle\'s nor the file\'s is not forgiven, nor is its findx', () => {
    const act = result({ [F1]: data, [`${F1}.findx`]: findx('0|1.000000|10\n'), [F2]: DATA2, [`${F2}.findx`]: findx('0|1.000000|23\n') },
      [flow(F1, 35), flow(F2, DATA2.length)]);
    const j = judge(c, act, [b5]);
    assert.deepEqual(j.unforgiven.map((r) => r.kind), ['size', 'filesize']);
  });
  await t.test('the findx of a flow whose size is right is not forgiven', () => {
    const act = result({ [F1]: data, [`${F1}.findx`]: findx('10|1.000000|30\n'), [F2]: DATA2, [`${F2}.findx`]: findx('0|1.000000|2\n') },
      [flow(F1, 40), flow(F2, DATA2.length)]);
    const j = judge(c, act, [b5]);
    assert.deepEqual(j.texts, [`size differs for ${F2}.findx (expected 14, got 13; content differs at byte 12)`]);
  });
  await t.test('different bytes in the flow file are not forgiven', () => {
    const act = result({ [F1]: 'y'.repeat(40), [`${F1}.findx`]: findx('10|1.000000|30\n'), [F2]: DATA2, [`${F2}.findx`]: findx('0|1.000000|23\n') },
      [flow(F1, 40), flow(F2, DATA2.length)]);
    const j = judge(c, act, [b5]);
    assert.deepEqual(j.unforgiven.map((r) => r.kind), ['content']);
  });
});

test('B30: forgives only a flow file grown past the oracle\'s bytes, which stay its prefix, and that flow\'s size, len and digest', async (t) => {
  const first = 'GET /index.html HTTP/1.1\r\nHost: ';
  const whole = `${first}example.com\r\n\r\n`;
  const md5 = (x: string) => md5hex(Buffer.from(x));
  const c = oracle({ [F1]: first, [F2]: DATA2 },
    [flow(F1, first.length, { hashdigest: [{ type: 'MD5', value: md5(first) }] }, { len: '178' }), flow(F2, DATA2.length)], 'md5');
  const b30 = entry('B30');
  const grown = (content: string, filesize: number, len: string, digest: string) =>
    result({ [F1]: content, [F2]: DATA2 }, [flow(F1, filesize, { hashdigest: [{ type: 'MD5', value: digest }] }, { len }), flow(F2, DATA2.length)]);

  await t.test('the whole datagram: size, filesize, len and md5 forgiven', () => {
    const j = judge(c, grown(whole, whole.length, '1514', md5(whole)), [b30]);
    assert.deepEqual(j.texts, []);
    assert.equal(forgivenBy(j, b30), 4);
  });
  await t.test('the oracle\'s bytes are not a prefix: nothing forgiven', () => {
    const other = `X${whole.slice(1)}`;
    const j = judge(c, grown(other, other.length, '1514', md5(other)), [b30]);
    assert.deepEqual(j.unforgiven.map((r) => r.kind), ['size', 'filesize', 'attr-differs', 'hashdigest']);
  });
  await t.test('a shorter file, a filesize other than the file\'s, a smaller len, a wrong md5 are not forgiven', () => {
    assert.deepEqual(judge(c, grown(first.slice(0, 5), 5, '100', md5(first.slice(0, 5))), [b30]).unforgiven.map((r) => r.kind),
      ['size', 'filesize', 'attr-differs', 'hashdigest']);
    const j = judge(c, grown(whole, whole.length + 1, '170', md5('x')), [b30]);
    assert.deepEqual(j.unforgiven.map((r) => r.kind), ['filesize', 'attr-differs', 'hashdigest']);
    assert.equal(forgivenBy(j, b30), 1);
  });
  await t.test('another attribute or another flow is not forgiven', () => {
    const act = result({ [F1]: whole, [F2]: `!${DATA2}` },
      [flow(F1, whole.length, { hashdigest: [{ type: 'MD5', value: md5(whole) }] }, { len: '1514', packets: '9' }), flow(F2, DATA2.length)]);
    const j = judge(c, act, [b30]);
    assert.deepEqual(j.unforgiven.map((r) => r.kind), ['size', 'attr-differs']);
  });
});

test('B6: forgives only files renamed in the VLAN suffix, with the same content; fileobjects compared under the new name', async (t) => {
  const old = `${F1}--49166`;
  const c = oracle({ [old]: DATA1, [F2]: DATA2 }, [flow(old, DATA1.length), flow(F2, DATA2.length)]);
  const b6 = entry('B6');

  await t.test('--49166 (whole TCI) to --14 (12-bit id): a deviation', () => {
    const j = judge(c, result({ [`${F1}--14`]: DATA1, [F2]: DATA2 }, [flow(`${F1}--14`, DATA1.length), flow(F2, DATA2.length)]), [b6]);
    assert.deepEqual(j.texts, []);
    assert.equal(forgivenBy(j, b6), 4, 'missing and extra file, missing and extra fileobject');
  });
  await t.test('no suffix to --100 (802.1ad outer tag): a deviation', () => {
    const c2 = oracle({ [F1]: DATA1 }, [flow(F1, DATA1.length)]);
    const j = judge(c2, result({ [`${F1}--100`]: DATA1 }, [flow(`${F1}--100`, DATA1.length)]), [b6]);
    assert.deepEqual(j.texts, []);
  });
  await t.test('a renamed file with other content is not paired', () => {
    const j = judge(c, result({ [`${F1}--14`]: DATA2, [F2]: DATA2 }, [flow(`${F1}--14`, DATA1.length), flow(F2, DATA2.length)]), [b6]);
    assert.deepEqual(j.unforgiven.map((r) => r.kind), ['missing-file', 'extra-file', 'no-fileobject', 'extra-fileobject']);
  });
  await t.test('a suffix that is not the TCI masked to 12 bits is not paired', () => {
    const j = judge(c, result({ [`${F1}--15`]: DATA1, [F2]: DATA2 }, [flow(`${F1}--15`, DATA1.length), flow(F2, DATA2.length)]), [b6]);
    assert.equal(j.unforgiven.length, 4);
  });
  await t.test('the renamed flow\'s fileobject must match the oracle\'s', () => {
    const j = judge(c, result({ [`${F1}--14`]: DATA1, [F2]: DATA2 }, [flow(`${F1}--14`, DATA1.length, {}, { packets: '4' }), flow(F2, DATA2.length)]), [b6]);
    assert.deepEqual(j.texts, [`report: attribute packets differs for ${F1}--14 (expected "3", got "4")`]);
  });
  await t.test('the renamed file\'s mtime must match the oracle\'s', () => {
    const j = judge(c, result({ [`${F1}--14`]: { content: DATA1, mtime: T0 + 1 }, [F2]: DATA2 },
      [flow(`${F1}--14`, DATA1.length), flow(F2, DATA2.length)]), [b6]);
    assert.deepEqual(j.unforgiven.map((r) => r.kind), ['mtime']);
  });
  await t.test('rename rules', () => {
    assert.deepEqual(vlanRename(`${F1}--49166`, `${F1}--14`), { rows: ['B6'], distance: 1 });
    assert.deepEqual(vlanRename(F1, `${F1}--100`), { rows: ['B6'], distance: 1 });
    assert.equal(vlanRename(`${F1}--14`, `${F1}--14`), null);
    assert.equal(vlanRename(`${F1}--49166`, `${F1}--49166`), null);
    assert.deepEqual(vlanRename(`${F1}--4110`, `${F1}--14`), { rows: ['B6'], distance: 1 }, '4110 & 0xfff = 14');
    assert.equal(vlanRename(`${F1}--49167`, `${F1}--14`), null);
    assert.equal(vlanRename(`${F2}--49166`, `${F1}--14`), null);
  });
});

test('B9, B35: forgive only digit runs renamed as the row says, in mode template or the mode the entry names', async (t) => {
  const dir = '010.000.000.001/40000/010.000.000.002/00080';
  const rdir = '010.000.000.002/00080/010.000.000.001/40000';
  const c = oracle({ [`${dir}/000.flow`]: DATA1, [`${rdir}/001.flow`]: DATA2 },
    [flow(`${dir}/000.flow`, DATA1.length), flow(`${rdir}/001.flow`, DATA2.length)], 'template');
  const act = (a: string, b: string, files: Files = { [a]: DATA1, [b]: DATA2 }) =>
    result(files, [flow(a, DATA1.length), flow(b, DATA2.length)]);
  const b9 = entry('B9');
  const b35 = entry('B35');

  await t.test('B9: a 0 counter added ("000" to "0000")', () => {
    const j = judge(c, act(`${dir}/0000.flow`, `${rdir}/0001.flow`), [b9]);
    assert.deepEqual(j.texts, []);
    assert.equal(forgivenBy(j, b9), 8);
  });
  await t.test('B35: renumbered at the same width ("001" to "007")', () => {
    const j = judge(c, act(`${dir}/000.flow`, `${rdir}/007.flow`), [b35]);
    assert.deepEqual(j.texts, []);
    assert.equal(forgivenBy(j, b35), 4);
  });
  await t.test('a counter added and renumbered needs both rows', () => {
    const a = act(`${dir}/0000.flow`, `${rdir}/0007.flow`);
    const both = judge(c, a, [b9, b35]);
    assert.deepEqual(both.texts, []);
    assert.deepEqual(both.rows, ['B9', 'B35']);
    const only9 = judge(c, a, [b9]);
    assert.deepEqual(only9.unforgiven.map((r) => r.kind), ['missing-file', 'extra-file', 'no-fileobject', 'extra-fileobject']);
    assert.equal(only9.hint, 'renames need B35 too');
    assert.equal(only9.forgiven, 4, 'the first flow is still paired by B9');
  });
  await t.test('a renumbering that is neither is not paired', () => {
    const j = judge(c, act(`${dir}/000.flow`, `${rdir}/17.flow`), [b9, b35]);
    assert.equal(j.unforgiven.length, 4);
    const k = judge(c, act(`${dir}/000.flow`, `${rdir}/001c1.flow`), [b9, b35]);
    assert.equal(k.unforgiven.length, 4);
  });
  await t.test('outside mode template only with an entry that names the mode', () => {
    const d = oracle({ [`${dir}/000.flow`]: DATA1 }, [flow(`${dir}/000.flow`, DATA1.length)], 'default');
    const a = result({ [`${dir}/007.flow`]: DATA1 }, [flow(`${dir}/007.flow`, DATA1.length)]);
    assert.equal(judge(d, a, [entry('B35', '*')]).unforgiven.length, 4);
    assert.deepEqual(judge(d, a, [entry('B35', 'default')]).texts, []);
  });
  await t.test('renamed files are paired one to one: least changed name first, then path order', () => {
    // Two oracle files with the same bytes: each takes one output file, the closest name first.
    const e = oracle({ 'q/5-2': DATA1, 'q/6-2': DATA1 }, [flow('q/5-2', DATA1.length), flow('q/6-2', DATA1.length)], 'template');
    const three = result({ 'q/1-3': DATA1, 'q/5-3': DATA1, 'q/6-9': DATA1 },
      [flow('q/1-3', DATA1.length), flow('q/5-3', DATA1.length), flow('q/6-9', DATA1.length)]);
    const j = judge(e, three, [b35]);
    // q/5-2 -> q/5-3 (one run changed, though q/1-3 comes first), q/6-2 -> q/6-9; q/1-3 is left over.
    assert.deepEqual(j.texts, ['extra file q/1-3', 'report: extra fileobject for q/1-3',
      'report total_flows differs (expected 2, got 3)', 'report total_packets differs (expected 6, got 9)']);
    const one = result({ 'q/7-7': DATA1 }, [flow('q/7-7', DATA1.length)]);
    const k = judge(e, one, [b35]);
    assert.deepEqual(k.texts, ['missing file q/6-2', 'report: no fileobject for q/6-2',
      'report total_flows differs (expected 2, got 1)', 'report total_packets differs (expected 6, got 3)']);
  });
  await t.test('rename rules', () => {
    assert.deepEqual(digitRename('a/003.flow', 'a/0024.flow'), { rows: ['B9', 'B35'], distance: 1 });
    assert.deepEqual(digitRename('a/003.flow', 'a/0003.flow'), { rows: ['B9'], distance: 1 });
    assert.deepEqual(digitRename('a/003.flow', 'a/0030.flow'), { rows: ['B9'], distance: 1 });
    assert.deepEqual(digitRename('1/003.flow', '2/004.flow'), { rows: ['B35'], distance: 2 });
    assert.equal(digitRename('a/003.flow', 'a/003.flow'), null);
    assert.equal(digitRename('a/003.flow', 'a/03.flow'), null);
    assert.equal(digitRename('a/003.flow', 'a/12345.flow'), null);
    assert.equal(digitRename('a/003.flow', 'b/003.flow'), null);
    assert.deepEqual(digitRename('a.flow', 'a0.flow'), { rows: ['B9'], distance: 1 }, 'the counter where the oracle wrote none');
    assert.equal(digitRename('a.flow', 'a1.flow'), null);
  });
});

test('broad rows forgive whole cases, but only what no narrow row forgives', async (t) => {
  const c = oracle({ [F1]: DATA1 }, [flow(F1, DATA1.length)]);
  await t.test('a broad row forgives anything in its cases', () => {
    const b16 = entry('B16');
    const j = judge(c, result({ [`${F1}c1`]: DATA2 }, [flow(`${F1}c1`, DATA2.length)], 1), [b16]);
    assert.deepEqual(j.texts, []);
    assert.equal(forgivenBy(j, b16), 5);
  });
  await t.test('differences a narrow row forgives are credited to it alone', () => {
    const b7 = entry('B7');
    const b29 = entry('B29');
    const j = judge(c, result({ [F1]: DATA2 }, [withoutMac(flow(F1, DATA2.length))]), [b7, b29]);
    assert.deepEqual(j.texts, []);
    assert.equal(forgivenBy(j, b7), 2);
    assert.equal(forgivenBy(j, b29), 2, 'size of the file and filesize in the report');
    assert.deepEqual(j.rows, ['B7', 'B29']);
  });
  await t.test('an entry that forgives nothing gets no credit (stale)', () => {
    const b7 = entry('B7');
    const b8 = entry('B8');
    const j = judge(c, result({ [F1]: DATA1 }, [withoutMac(flow(F1, DATA1.length))]), [b7, b8]);
    assert.equal(forgivenBy(j, b8), 0);
    assert.deepEqual(j.rows, ['B7']);
  });
  await t.test('narrow rows alone leave every other difference', () => {
    const j = judge(c, result({ [F1]: DATA1 }, [withoutMac(flow(F1, DATA1.length))], 1), [entry('B7'), entry('B10')]);
    assert.deepEqual(j.texts, ['exit status differs (expected 0, got 1)']);
  });
});

test('the deviations file is checked as oracle-compare checks it', () => {
  const ok = (d: object) => parseDeviations([{ capture: CAPTURE, mode: 'default', spec: 'B7', reason: 'r', ...d }], 'f');
  assert.equal(ok({}).length, 1);
  assert.equal(ok({ capture: '*', mode: 'template', spec: 'B35' })[0].spec, 'B35');
  assert.throws(() => ok({ capture: '*', mode: '*', spec: 'B9' }), /would excuse every case/);
  assert.throws(() => ok({ capture: '*', spec: 'B7' }), /list the captures B7 affects one by one/);
  assert.throws(() => ok({ spec: 'X7' }), /not a spec row id/);
  assert.throws(() => ok({ reason: ' ' }), /"reason" must be a non-empty string/);
  assert.throws(() => ok({ note: 'x' }), /unknown key "note"/);
  assert.throws(() => parseDeviations({}, 'f'), /must be a JSON array/);
});

test('the rows and their rules are oracle-compare\'s', (t) => {
  const tool = path.join(REPO_ROOT, '..', 'shared', 'tools', 'oracle-compare');
  if (!fs.existsSync(tool)) {
    t.skip('../shared/tools/oracle-compare is not here');
    return;
  }
  const oc = require(tool) as { ROW_RULES: Record<string, { rename?: unknown; modes?: string[] }>; GLOBAL_SPECS: Set<string> };
  const shape = (rules: Record<string, { rename?: unknown; modes?: readonly string[] }>) =>
    Object.fromEntries(Object.entries(rules).map(([row, r]) => [row, { rename: !!r.rename, modes: r.modes ?? null }]));
  const ours = Object.fromEntries(Object.entries(ROW_RULES).filter(([row]) => !NARROWER_HERE.has(row)));
  assert.deepEqual(shape(ours), shape(oc.ROW_RULES));
  // A row narrower here is one oracle-compare forgives whole.
  for (const row of NARROWER_HERE) assert.ok(!(row in oc.ROW_RULES), `${row} has a rule in oracle-compare now: port it`);
  assert.deepEqual([...GLOBAL_SPECS].sort(), [...oc.GLOBAL_SPECS].sort());
});
