import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FlowEnd } from '../../src/shard/flow-end';
import { sha256Scanner } from '../../src/scanners/md5';
import { recordList } from '../helpers/record-list';
import { Harness, CISN } from '../flow/harness';
import { MemoryOutput } from '../helpers/memory-output';
import { SYN } from '../helpers/packets';
import { makeTempDir, PCAP_DIR, removeDir, runCli } from '../helpers/corpus';
import { readJsonl } from '../helpers/jsonl';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test('sha256 is the file\'s, whether the bytes arrived in order or had to be read back', () => {
  for (const [what, run] of [
    ['in order', (h: Harness) => { h.client({ seq: CISN, flags: SYN }); h.cdata(0, 'abcde'); h.cdata(5, 'fghij'); }],
    ['reordered, with a hole', (h: Harness) => { h.client({ seq: CISN, flags: SYN }); h.cdata(9, 'jk'); h.cdata(0, 'abc'); }],
  ] as const) {
    const files = new MemoryOutput();
    const list = recordList();
    const h = new Harness({}, undefined, new FlowEnd(files, [sha256Scanner], list.output));
    run(h);
    h.finish();
    const named = list.records.map((r) => r.record).filter((r) => r.filename !== undefined);
    assert.equal(named.length, 1, what);
    assert.equal(named[0].sha256, sha256(files.content(named[0].filename as string)), what);
    assert.equal(named[0].md5, undefined);
  }
});

test('-S hash=md5,sha256: both digests of every flow file, in report.xml and the JSON Lines report', async () => {
  const tmp = makeTempDir('tcpflow-ts-sha256-');
  try {
    const out = path.join(tmp, 'out'), jsonl = path.join(tmp, 'r.jsonl');
    const run = await runCli(['-r', path.join(PCAP_DIR, 'tcpflow__jpegs.cap'), '-o', out, '-S', 'hash=md5,sha256', '--jsonl', jsonl]);
    assert.equal(run.code, 0, run.stderr);
    const flows = readJsonl(jsonl).filter((l) => l.type === 'flow' && l.filename !== undefined);
    assert.equal(flows.length, 38);
    const xml = fs.readFileSync(path.join(out, 'report.xml'), 'utf8');
    for (const f of flows) {
      const content = fs.readFileSync(f.filename as string);
      assert.equal(f.sha256, sha256(content), f.filename as string);
      assert.equal(f.md5, createHash('md5').update(content).digest('hex'));
      assert.ok(xml.includes(`<filename>${f.filename as string}</filename>`));
      assert.ok(xml.includes(`<hashdigest type='MD5'>${f.md5 as string}</hashdigest>\n      <hashdigest type='SHA256'>${f.sha256 as string}</hashdigest>`));
    }
  } finally {
    removeDir(tmp);
  }
});
