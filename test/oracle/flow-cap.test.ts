/**
 * The open-flow cap (-S max_flows) end to end, on generated captures: when the cap is
 * hit, the output (files, contents, mtimes, report records and their order, totals) is
 * still the same for --workers 1, 2 and 4, the number of flows closed by the cap is in the
 * report and equals a model's, a warning says so once; when it is not hit, the report has
 * no trace of it (it stays tcpflow's). And 100,000 concurrent half-open flows under a cap
 * of 10,000: the run finishes, the count is exact, memory stays bounded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { decodeFrame, LINKTYPE } from '../../src/decode/link';
import { newDecodedPacket, Verdict } from '../../src/decode/packet';
import { FLOW_BUCKETS, perBucketCap } from '../../src/flow/buckets';
import { ShardHasher } from '../../src/shard/hash';
import { FIN } from '../helpers/packets';
import { FlowCapModel } from '../helpers/flowcap-model';
import { forEachHalfOpenFrame, GenPacket, writeHalfOpenFlows, writeInterleavedFlows } from '../helpers/flowgen';
import { makeTempDir, removeDir } from '../helpers/corpus';
import { assertSameOutcomes, type Outcome, runOutcome } from '../helpers/outcome';

/** Peak RSS allowed for 100,000 half-open flows under a cap of 10,000 (measured: ~230-320 MB). */
const HALF_OPEN_RSS_BOUND_KB = 600 * 1024;

/** The bucket of a frame, from the coordinator's own hash. */
async function bucketer(): Promise<(frame: Uint8Array) => number> {
  const hasher = ShardHasher.create();
  const d = newDecodedPacket();
  return (f) => {
    assert.equal(decodeFrame(f, 0, f.length, LINKTYPE.EN10MB, d), Verdict.TCP);
    return hasher.bucketOf(f, d);
  };
}

/**
 * What the demultiplexer must do with the generated connections: every SYN or data
 * segment of a flow that is not open creates it (new data is never a straggler), a FIN
 * without data closes an open flow (its bytes are all there) and is ignored otherwise.
 */
async function model(packets: GenPacket[], maxFlows: number): Promise<{ m: FlowCapModel; counted: number }> {
  const m = new FlowCapModel(perBucketCap(maxFlows));
  let counted = 0;
  const bucketOf = await bucketer();
  for (const p of packets) {
    const b = bucketOf(p.frame), key = `${p.conn}${p.fromClient ? '>' : '<'}`;
    if ((p.flags & FIN) !== 0 && p.payloadLen === 0) {
      if (m.isOpen(b, key)) { m.seen(b, key); m.close(b, key); counted++; }
      continue;
    }
    m.seen(b, key);
    counted++;
  }
  return { m, counted };
}

const WARNING = /^tcpflow-ts: (\d+) flows were closed early: the open-flow cap was reached \(-S max_flows=(\d+): .* Raise the cap with -S max_flows=N/m;

test('cap hit: identical output for --workers 1, 2 and 4, purges counted as the model predicts', async () => {
  const tmp = makeTempDir('tcpflow-ts-flowcap-gen-');
  try {
    const capture = path.join(tmp, 'interleaved.pcap');
    // 10,000 connections (every tenth half-open), 150 at a time: ~20,000 flows.
    const packets = writeInterleavedFlows(capture, { connections: 10_000, active: 150, segments: 2, halfOpenEvery: 10 });
    const MAX = 640;
    const { m, counted } = await model(packets, MAX);
    // Mostly idle half-open flows are closed, but also flows of connections in progress.
    const inProgress = m.purgedKeys.filter((k) => Number(k.slice(0, -1)) % 10 !== 9).length;
    assert.ok(m.purged > 1000 && inProgress > 100, `the cap must be hit well (model: ${m.purged} purges, ${inProgress} in progress)`);

    const runs: Outcome[] = [];
    for (const w of [1, 2, 4]) runs.push(await runOutcome(capture, ['--workers', String(w), '-S', `max_flows=${MAX}`]));
    const [base, ...rest] = runs;
    assert.equal(base.exit, 0, base.stderr);
    assert.equal(base.purged, String(m.purged), 'flows_purged in the report');
    assert.deepEqual(base.summary, {
      total_flows: String(m.created),
      flow_map_size: String(m.openCount),
      total_packets: String(counted),
    });
    assert.equal((base.records.match(/<fileobject>/g) ?? []).length, m.created, 'one report record per flow');
    assert.ok(base.files.some((f) => /^\S+c1 /.test(f)), 'a purged flow in progress continues in a …c1 file');
    const warnings = [...base.stderr.matchAll(new RegExp(WARNING, 'gm'))];
    assert.equal(warnings.length, 1, base.stderr);
    assert.deepEqual([warnings[0][1], warnings[0][2]], [String(m.purged), String(MAX)]);
    assertSameOutcomes(base, rest);

    // Not hit (the default cap): no flows_purged element, no warning, every flow whole.
    const free = await runOutcome(capture, ['--workers', '2']);
    assert.equal(free.exit, 0, free.stderr);
    assert.equal(free.purged, null);
    assert.doesNotMatch(free.stderr, /closed early/);
    const { m: unc } = await model(packets, Number.MAX_SAFE_INTEGER);
    assert.equal(unc.purged, 0);
    assert.equal(free.summary.total_flows, String(unc.created));
    assert.ok(!free.files.some((f) => /^\S+c1 /.test(f)), 'without the cap no flow is split');
  } finally {
    removeDir(tmp);
  }
});

test('100,000 concurrent half-open flows, cap 10,000: exact purge count, bounded memory, -q silences the warning', async () => {
  const tmp = makeTempDir('tcpflow-ts-flowcap-half-');
  try {
    const capture = path.join(tmp, 'half-open.pcap');
    const N = 100_000, MAX = 10_000;
    writeHalfOpenFlows(capture, N);
    // Each bucket keeps ceil(MAX / 64) flows open; every further SYN in it closes one.
    const perBucket = new Array<number>(FLOW_BUCKETS).fill(0);
    const bucketOf = await bucketer();
    forEachHalfOpenFrame(N, (f) => perBucket[bucketOf(f)]++);
    const cap = perBucketCap(MAX);
    const expected = perBucket.reduce((s, n) => s + Math.max(0, n - cap), 0);
    const open = perBucket.reduce((s, n) => s + Math.min(n, cap), 0);

    const r = await runOutcome(capture, ['--workers', '2', '-q', '-S', `max_flows=${MAX}`]);
    assert.equal(r.exit, 0, r.stderr);
    assert.equal(r.purged, String(expected));
    assert.deepEqual(r.summary, { total_flows: String(N), flow_map_size: String(open), total_packets: String(N) });
    assert.equal((r.records.match(/<fileobject>/g) ?? []).length, N);
    assert.deepEqual(r.files, [], 'SYNs carry no data: no flow files');
    assert.doesNotMatch(r.stderr, /closed early/, '-q: no warning');
    assert.ok(r.maxrssKb > 0 && r.maxrssKb < HALF_OPEN_RSS_BOUND_KB, `peak RSS ${r.maxrssKb} KB`);
  } finally {
    removeDir(tmp);
  }
});
