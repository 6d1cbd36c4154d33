/**
 * Where worker sessions run (src/shard/host-choice.ts): in the main thread for inputs of
 * plain capture files up to IN_PROCESS_MAX_BYTES, in threads otherwise or when --workers
 * is given. That both give the same output is test/oracle/workers.test.ts's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { IN_PROCESS_FX_MEAN_RECORD, IN_PROCESS_MAX_BYTES, meanRecordBytes, plainInputBytes, useThreads } from '../../src/shard/host-choice';
import { makeTempDir, removeDir, runCli } from '../helpers/corpus';
import { fx } from '../helpers/capture';
import { BULK_FLOW, BULK_RECORD, BULK_SEGMENT, PCAP_HEADER, bulkCapture, manyFlowFrames } from '../helpers/pcap-write';
import { runOutcome } from '../helpers/outcome';
import { ACK, RST } from '../helpers/packets';

const NONE = { workersGiven: false, live: false, plugin: false, reportOnly: null };
const IN_PROCESS = /\d+ bytes of input \(at most \d+\): \d+ worker sessions in the main thread/;
const THREADS = /: \d+ worker threads\n/;

test('useThreads: up to the threshold in the main thread; above it, --workers, live capture, -e js or an input of unknown size in threads', () => {
  assert.equal(useThreads({ ...NONE, bytes: 0 }), false);
  assert.equal(useThreads({ ...NONE, bytes: IN_PROCESS_MAX_BYTES }), false);
  assert.equal(useThreads({ ...NONE, bytes: IN_PROCESS_MAX_BYTES + 1 }), true);
  assert.equal(useThreads({ ...NONE, bytes: null }), true);
  assert.equal(useThreads({ ...NONE, workersGiven: true, bytes: 100 }), true);
  assert.equal(useThreads({ ...NONE, live: true, bytes: null }), true);
  assert.equal(useThreads({ ...NONE, plugin: true, bytes: 100 }), true);
  // -FX of large records (long flows): in the main thread whatever the size, unless threads are asked for (or needed).
  const long = { meanRecord: IN_PROCESS_FX_MEAN_RECORD }, short = { meanRecord: IN_PROCESS_FX_MEAN_RECORD - 1 };
  assert.equal(useThreads({ ...NONE, reportOnly: long, bytes: 1e12 }), false);
  assert.equal(useThreads({ ...NONE, reportOnly: short, bytes: 1e12 }), true);
  assert.equal(useThreads({ ...NONE, reportOnly: { meanRecord: null }, bytes: 1e12 }), true);
  assert.equal(useThreads({ ...NONE, reportOnly: long, workersGiven: true, bytes: 1e12 }), true);
  assert.equal(useThreads({ ...NONE, reportOnly: long, live: true, bytes: null }), true);
  assert.equal(useThreads({ ...NONE, reportOnly: long, plugin: true, bytes: 1e12 }), true);
});

test('meanRecordBytes: over the first MiB, headers included; null for what is no plain capture', () => {
  const tmp = makeTempDir('tcpflow-ts-host-');
  try {
    const big = path.join(tmp, 'big.pcap');
    bulkCapture(big, 2000);
    assert.equal(meanRecordBytes(big), BULK_RECORD);
    const gz = path.join(tmp, 'a.pcap.gz');
    fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(big)));
    assert.equal(meanRecordBytes(gz), null);
    assert.equal(meanRecordBytes(path.join(tmp, 'missing.pcap')), null);
    assert.equal(meanRecordBytes(tmp), null);
  } finally {
    removeDir(tmp);
  }
});

test('plainInputBytes: the sum of plain files; null for standard input, a directory or a compressed file', () => {
  const tmp = makeTempDir('tcpflow-ts-host-');
  try {
    const a = fx('tcpflow__test1.pcap');
    const gz = path.join(tmp, 'a.pcap.gz');
    fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(a)));
    const size = fs.statSync(a).size;
    assert.equal(plainInputBytes([a]), size);
    assert.equal(plainInputBytes([a, a]), 2 * size);
    // A missing file is reported when it is read: it weighs nothing here.
    assert.equal(plainInputBytes([a, path.join(tmp, 'missing.pcap')]), size);
    assert.equal(plainInputBytes([a, '-']), null);
    assert.equal(plainInputBytes([tmp]), null);
    assert.equal(plainInputBytes([a, gz]), null);
  } finally {
    removeDir(tmp);
  }
});

test('a run says which host it chose (-d 2): a small capture in the main thread; --workers 2 or a capture above the threshold in threads', async () => {
  const tmp = makeTempDir('tcpflow-ts-host-');
  try {
    const small = fx('tcpflow__test1.pcap');
    const r1 = await runCli(['-d', '2', '-r', small, '-o', path.join(tmp, 'o1')]);
    assert.equal(r1.code, 0, r1.stderr);
    assert.match(r1.stderr, IN_PROCESS);
    const r2 = await runCli(['-d', '2', '--workers', '2', '-r', small, '-o', path.join(tmp, 'o2')]);
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(r2.stderr, THREADS);
    assert.doesNotMatch(r2.stderr, IN_PROCESS);
    const big = path.join(tmp, 'big.pcap');
    const packets = Math.ceil((IN_PROCESS_MAX_BYTES - PCAP_HEADER) / BULK_RECORD) + 1;
    bulkCapture(big, packets);
    assert.ok(fs.statSync(big).size > IN_PROCESS_MAX_BYTES);
    const r3 = await runCli(['-d', '2', '-r', big, '-o', path.join(tmp, 'o3')]);
    assert.equal(r3.code, 0, r3.stderr);
    assert.match(r3.stderr, THREADS);
    assert.equal(fs.statSync(path.join(tmp, 'o3', BULK_FLOW)).size, packets * BULK_SEGMENT);
  } finally {
    removeDir(tmp);
  }
});

test('-FX of long flows above the threshold runs in the main thread, its records spilled and merged as threads do: the same report as --workers 1 and 2; short ones in a thread', async () => {
  const tmp = makeTempDir('tcpflow-ts-host-');
  try {
    const big = path.join(tmp, 'big.pcap');
    // 300 short flows closed by RST (their records merged while the run goes on), then
    // one long one: above the threshold, records of ~1,100 bytes on average in its first MiB.
    bulkCapture(big, Math.ceil(IN_PROCESS_MAX_BYTES / BULK_RECORD) + 1, manyFlowFrames(300, 16, RST | ACK));
    const r = await runCli(['-d', '2', '-FX', '-r', big, '-o', path.join(tmp, 'o')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /no flow files \(-FX\), records of \d+ bytes on average: 1 worker session in the main thread/);
    assert.doesNotMatch(r.stderr, THREADS);
    // Its spill file went the way of the threads' ones.
    assert.deepEqual(fs.readdirSync(path.join(tmp, 'o')), ['report.xml']);
    const main = await runOutcome(big, ['-FX']);
    assert.ok((main.records.match(/<fileobject>/g) ?? []).length > 300);
    for (const workers of ['1', '2']) {
      const threads = await runOutcome(big, ['-FX', '--workers', workers]);
      assert.equal(threads.records, main.records, `--workers ${workers}`);
      assert.deepEqual(threads.summary, main.summary, `--workers ${workers}`);
    }
    // Short records (a flow per few packets: the worker's flow work outweighs the reading).
    const short = path.join(tmp, 'short.pcap');
    bulkCapture(short, Math.ceil(IN_PROCESS_MAX_BYTES / BULK_RECORD) + 1, manyFlowFrames(20000, 16, RST | ACK));
    const s = await runCli(['-d', '2', '-FX', '-r', short, '-o', path.join(tmp, 's')]);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stderr, THREADS);
  } finally {
    removeDir(tmp);
  }
});
