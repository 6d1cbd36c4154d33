/**
 * VLANs end to end (issue 13), on the generated captures of fixtures/pcaps/vlan-*.pcap
 * (scripts/make-vlan-fixtures.ts) and the corpus QinQ capture: one 4-tuple on two VLANs
 * gives two flow pairs, -S vlan_key=0 gives tcpflow's merged flow (checked against the real
 * tcpflow when it is installed), QinQ flows are named by the inner VLAN with the bytes of the
 * same traffic single-tagged, and the output is the same for --workers 1, 2 and 4.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { collectResult, makeTempDir, md5hex, PCAP_DIR, removeDir, REPORT, runCli, walkFiles } from '../helpers/corpus';
import { fx } from '../helpers/capture';

const C2S = '010.000.000.001.40000-010.000.000.002.00080';
const S2C = '010.000.000.002.00080-010.000.000.001.40000';

/** Flow files (path -> bytes) and report.xml of a run of tcpflow-ts, or of `bin` when given. */
async function run(args: string[], bin?: string): Promise<{ files: Map<string, string>; report: string; stderr: string }> {
  const tmp = makeTempDir('tcpflow-ts-vlan-');
  try {
    const out = path.join(tmp, 'out');
    let stderr: string;
    if (bin === undefined) {
      const r = await runCli([...args, '-o', out]);
      assert.equal(r.code, 0, r.stderr);
      stderr = r.stderr;
    } else {
      const r = spawnSync(bin, [...args, '-o', out], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      stderr = r.stderr;
    }
    const files = new Map<string, string>();
    for (const f of walkFiles(out)) if (f.rel !== REPORT) files.set(f.rel, fs.readFileSync(f.abs, 'latin1'));
    const report = fs.existsSync(path.join(out, REPORT)) ? fs.readFileSync(path.join(out, REPORT), 'utf8') : '';
    return { files, report, stderr };
  } finally {
    removeDir(tmp);
  }
}

const sorted = (m: Map<string, string>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

function tcpflowInstalled(): boolean {
  return spawnSync('tcpflow', ['-V'], { encoding: 'utf8' }).status !== null;
}

test('one 4-tuple on VLAN 10 and VLAN 20: two flow pairs, each with its own bytes', async () => {
  const { files, report } = await run(['-r', fx('vlan-same-tuple.pcap')]);
  assert.deepEqual(sorted(files), [
    [`${C2S}--10`, 'A'.repeat(100)],
    [`${C2S}--20`, 'B'.repeat(100)],
    [`${S2C}--10`, 'a'.repeat(50)],
    [`${S2C}--20`, 'b'.repeat(50)],
  ]);
  for (const name of files.keys()) assert.ok(report.includes(`/${name}</filename>`), `report.xml has ${name}`);
});

test('-S vlan_key=0: tcpflow\'s single merged flow pair (named after the first VLAN, the later bytes written last)', async (t) => {
  const { files, stderr } = await run(['-S', 'vlan_key=0', '-r', fx('vlan-same-tuple.pcap')]);
  assert.doesNotMatch(stderr, /unknown parameter/);
  const expected: [string, string][] = [[`${C2S}--10`, 'B'.repeat(100)], [`${S2C}--10`, 'b'.repeat(50)]];
  assert.deepEqual(sorted(files), expected);
  if (!tcpflowInstalled()) {
    t.diagnostic('tcpflow not installed: compared with the stored expectation only');
    return;
  }
  assert.deepEqual(sorted((await run(['-r', fx('vlan-same-tuple.pcap')], 'tcpflow')).files), expected, 'tcpflow 1.6.1 writes the same');
});

test('-K: one pcap per direction and VLAN; with -S vlan_key=0 one per direction', async () => {
  const keyed = await run(['-K', '-r', fx('vlan-same-tuple.pcap')]);
  assert.deepEqual([...keyed.files.keys()].sort(), [`${C2S}--10.pcap`, `${C2S}--20.pcap`, `${S2C}--10.pcap`, `${S2C}--20.pcap`]);
  const merged = await run(['-K', '-S', 'vlan_key=0', '-r', fx('vlan-same-tuple.pcap')]);
  assert.deepEqual([...merged.files.keys()].sort(), [`${C2S}--10.pcap`, `${S2C}--10.pcap`]);
  // Every record goes somewhere: the merged pcaps hold what the keyed ones hold, together.
  const size = (m: Map<string, string>) => [...m.values()].reduce((n, s) => n + s.length - 24, 0);
  assert.equal(size(merged.files), size(keyed.files));
});

test('a SPAN capture (packets untagged and tagged, one side tagged only): one file per direction, the VLANs apart', async () => {
  const { files } = await run(['-r', fx('vlan-span.pcap')]);
  assert.deepEqual(sorted(files), [
    // Mirrored twice, the untagged copy first: one flow per direction, named by its first packet.
    [C2S, 'mirrored request'],
    [`${C2S}--20`, 'other VLAN request'],
    ['010.000.000.001.40001-010.000.000.002.00080--30', 'half-tagged request'],
    [S2C, 'mirrored response'],
    [`${S2C}--20`, 'other VLAN response, longer'],
    ['010.000.000.002.00080-010.000.000.001.40001', 'half-tagged response'],
  ]);
});

test('QinQ (802.1ad + 802.1Q, and 0x9100 + 802.1ad + 802.1Q): flows named by the inner VLAN, the bytes of the single-tagged capture', async () => {
  const single = await run(['-r', fx('vlan-test-dot1q200.pcap')]);
  const plain = await run(['-r', fx('tcpreplay__test.pcap')]);
  assert.ok(single.files.size >= 10, `${single.files.size} flow files`);
  // Single-tagged: the untagged capture's files, each name with --200.
  assert.deepEqual(sorted(single.files), sorted(plain.files).map(([n, b]) => [`${n}--200`, b]));
  for (const capture of [path.join(PCAP_DIR, 'derived__tcpreplay__test__qinq.pcap'), fx('vlan-test-3tags.pcap')]) {
    const qinq = await run(['-r', capture]);
    assert.deepEqual(sorted(qinq.files), sorted(single.files), path.basename(capture));
  }
});

test('report.xml and --jsonl say which VLAN a flow is on (a template without %V%v: the report is all that tells them apart)', async () => {
  const tmp = makeTempDir('tcpflow-ts-vlan-r-');
  try {
    const jsonl = path.join(tmp, 'report.jsonl');
    const r = await runCli(['-T', '%A.%a-%B.%b', '-r', fx('vlan-same-tuple.pcap'), '-o', path.join(tmp, 'out'), '--jsonl', jsonl]);
    assert.equal(r.code, 0, r.stderr);
    const report = fs.readFileSync(path.join(tmp, 'out', REPORT), 'utf8');
    const flows = [...report.matchAll(/<filename>.*\/([^/]*)<\/filename>\n.*\n.*<tcpflow .*\/>\n {6}<tcpflow-ts:vlan xmlns:tcpflow-ts='tag:tcpflow-ts,2026:flow' id='(\d+)'\/>\n/g)].map((m) => `${m[1]} ${m[2]}`);
    assert.deepEqual(flows.sort(), [`${C2S} 10`, `${C2S}c1 20`, `${S2C} 10`, `${S2C}c1 20`]);
    const records = fs.readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; filename?: string; vlan?: number });
    assert.deepEqual(records.filter((x) => x.type === 'flow').map((x) => `${path.basename(x.filename as string)} ${x.vlan}`).sort(), flows.sort());
    // Untagged flows have neither.
    const plain = await runCli(['-r', fx('tcpreplay__test.pcap'), '-o', path.join(tmp, 'plain'), '--jsonl', path.join(tmp, 'plain.jsonl')]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.doesNotMatch(fs.readFileSync(path.join(tmp, 'plain', REPORT), 'utf8'), /tcpflow-ts:vlan/);
    assert.doesNotMatch(fs.readFileSync(path.join(tmp, 'plain.jsonl'), 'utf8'), /"vlan"/);
  } finally {
    removeDir(tmp);
  }
});

for (const [what, args] of [
  ['default names', []],
  ['a template without %V%v (c1 tells the VLANs apart)', ['-T', '%A.%a-%B.%b']],
  ['-S vlan_key=0', ['-S', 'vlan_key=0']],
] as const) {
  test(`the VLAN captures give the same output for --workers 1, 2, 4 (${what})`, async () => {
    for (const capture of ['vlan-same-tuple.pcap', 'vlan-span.pcap']) {
      const outputs = [];
      for (const w of [1, 2, 4]) {
        const tmp = makeTempDir('tcpflow-ts-vlan-w-');
        try {
          const out = path.join(tmp, 'out');
          const jsonl = path.join(tmp, 'report.jsonl');
          const r = await runCli(['--workers', String(w), ...args, '-r', fx(capture), '-o', out, '--jsonl', jsonl]);
          assert.equal(r.code, 0, r.stderr);
          const act = collectResult(out, r);
          const report = fs.readFileSync(path.join(out, REPORT), 'utf8');
          outputs.push({
            files: act.files.filter((f) => !f.volatile).map((f) => [f.path, f.md5]),
            flows: act.report?.flows,
            vlans: [...report.matchAll(/<filename>.*\/([^/]*)<\/filename>\n.*\n(?: {6}<tcpflow-ts:vlan [^>]* id='(\d+)'\/>)?/g)].map((m) => [m[1], m[2]]),
            jsonl: fs.readFileSync(jsonl, 'utf8').split('\n').filter((l) => l.startsWith('{"type":"flow"')).map((l) => l.split(tmp).join('')),
          });
        } finally {
          removeDir(tmp);
        }
      }
      assert.deepEqual(outputs[1], outputs[0], `${capture}: --workers 2 vs 1`);
      assert.deepEqual(outputs[2], outputs[0], `${capture}: --workers 4 vs 1`);
      if (args[0] === '-T' && capture === 'vlan-same-tuple.pcap') {
        // VLAN 10's packets come first: it gets the plain names, VLAN 20 the c1 names.
        const md5 = (text: string) => md5hex(Buffer.from(text));
        assert.deepEqual(outputs[0].files.sort(), [
          [C2S, md5('A'.repeat(100))], [`${C2S}c1`, md5('B'.repeat(100))], [S2C, md5('a'.repeat(50))], [`${S2C}c1`, md5('b'.repeat(50))],
        ]);
      }
    }
  });
}
