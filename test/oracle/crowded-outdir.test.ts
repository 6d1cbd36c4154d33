/**
 * tcpflow's 10,000-file warning (spec: "10 000-file warning"): printed unless -q when more
 * than 10,000 flows were seen and the output directory holds 10,000 entries or more,
 * counting `.` and `..`. A run that made the directory or found it empty knows the count
 * (src/run.ts outdirEntries); any other lists it. Either way the count is the directory's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTempDir, removeDir, runCli } from '../helpers/corpus';
import { manyFlowFrames, writePcap } from '../helpers/pcap-write';
import { ACK, PSH, RST } from '../helpers/packets';

const FLOWS = 10_005;
const COUNT = /^tcpflow-ts: \*\*\* tcpflow-ts created (\d+) files in output directory (.*)$/m;

/** The warning's count, or null when there is no warning. */
function warned(stderr: string, outdir: string): number | null {
  const m = COUNT.exec(stderr);
  if (m === null) return null;
  assert.equal(m[2], outdir);
  assert.match(stderr, /^tcpflow-ts: \*\*\* tcpflow-ts WARNING:\ntcpflow-ts: \*\*\* Modern operating systems do not perform well \ntcpflow-ts: \*\*\* with more than 10,000 entries in a directory\.$/m);
  return Number(m[1]);
}

const entries = (dir: string) => fs.readdirSync(dir).length + 2;

test('the 10,000-file warning counts the output directory\'s entries, whether the run made it or not; -q and -Fk have none', async () => {
  const tmp = makeTempDir('tcpflow-ts-crowded-');
  try {
    const cap = path.join(tmp, 'many.pcap');
    // Each connection one direction with data, ended by RST: one flow file each.
    writePcap(cap, manyFlowFrames(FLOWS, 16, RST | ACK | PSH));
    // A new directory, with the JSON Lines report and -w's file in it too (the run's own files count).
    const made = path.join(tmp, 'made');
    const r1 = await runCli(['-r', cap, '-o', made, '--jsonl', path.join(made, 'flows.jsonl'), '-w', path.join(made, 'unprocessed.pcap')]);
    assert.equal(r1.code, 0, r1.stderr);
    assert.ok(fs.readdirSync(made).length > FLOWS);
    assert.equal(warned(r1.stderr, made), entries(made));
    assert.ok(fs.existsSync(path.join(made, 'flows.jsonl')) && fs.existsSync(path.join(made, 'unprocessed.pcap')));
    // With two worker threads (each creates its share), the report elsewhere.
    const threads = path.join(tmp, 'threads');
    const r2 = await runCli(['--workers', '2', '-r', cap, '-o', threads, '-X', path.join(tmp, 'threads-report.xml')]);
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(warned(r2.stderr, threads), entries(threads));
    assert.equal(entries(threads), entries(made) - 3);
    // A directory that was there, with files of its own: listed.
    const there = path.join(tmp, 'there');
    fs.mkdirSync(there);
    for (const f of ['notes.txt', 'old.pcap']) fs.writeFileSync(path.join(there, f), 'x');
    fs.mkdirSync(path.join(there, 'sub'));
    const r3 = await runCli(['-r', cap, '-o', there]);
    assert.equal(r3.code, 0, r3.stderr);
    assert.equal(warned(r3.stderr, there), entries(there));
    assert.equal(entries(there), entries(made) - 2 + 3);
    // A directory that was there and empty (`mkdir out && tcpflow-ts -o out`): its count is
    // known as a made one's (nothing listed), and is the directory's.
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty);
    const r4 = await runCli(['-r', cap, '-o', empty, '--jsonl', path.join(empty, 'flows.jsonl')]);
    assert.equal(r4.code, 0, r4.stderr);
    assert.equal(warned(r4.stderr, empty), entries(empty));
    assert.equal(entries(empty), entries(made) - 1);
    // -q: no warning; -Fk: the flows are in subdirectories, the top level is small.
    const quiet = await runCli(['-q', '-r', cap, '-o', path.join(tmp, 'quiet')]);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(warned(quiet.stderr, path.join(tmp, 'quiet')), null);
    const binned = await runCli(['-Fk', '-r', cap, '-o', path.join(tmp, 'binned')]);
    assert.equal(binned.code, 0, binned.stderr);
    assert.equal(warned(binned.stderr, path.join(tmp, 'binned')), null);
    assert.ok(entries(path.join(tmp, 'binned')) < 100);
  } finally {
    removeDir(tmp);
  }
});
