/**
 * Where worker sessions run (src/shard/host-choice.ts): in the main thread for inputs of
 * plain capture files up to IN_PROCESS_MAX_BYTES, one of them in the main thread beside
 * threads for larger ones, in threads otherwise or when --workers is given. That all of
 * them give the same output is test/oracle/workers.test.ts's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import {
  chooseHost, COORDINATOR_SHARE_LONG, COORDINATOR_SHARE_SCANNED, IN_PROCESS_MAX_BYTES, LONG_FLOW_MEAN_RECORD, mainWeight, MIN_MAIN_WEIGHT,
  meanRecordBytes, meanRecordOf, plainInputBytes, type HostInputs,
} from '../../src/shard/host-choice';
import { makeTempDir, removeDir, runCli } from '../helpers/corpus';
import { allocChunk } from '../../src/capture/chunk';
import { openCapture } from '../../src/capture/reader';
import { fx } from '../helpers/capture';
import { BULK_FLOW, BULK_RECORD, BULK_SEGMENT, PCAP_HEADER, bulkCapture, manyFlowFrames } from '../helpers/pcap-write';
import { runOutcome } from '../helpers/outcome';
import { ACK, RST } from '../helpers/packets';

const NONE: HostInputs = { workers: 2, workersGiven: false, live: false, plugin: false, reportOnly: false, meanRecord: () => null, scanning: false, bytes: 0, stdin: false };
const IN_PROCESS = /\d+ bytes of input \(at most \d+\): \d+ worker sessions in the main thread/;
const THREADS = /: \d+ worker threads(, records of \d+ bytes on average)?\n/;
const MIXED = /: 1 worker thread and a worker session in the main thread, records of \d+ bytes on average, owning 0\.\d\d times a thread's share of the flows\n/;
const kind = (i: Partial<HostInputs> & { bytes: number | null }) => chooseHost({ ...NONE, ...i }).kind;

test('chooseHost: small inputs in the main thread; long flows above the threshold a session in the main thread beside threads; short flows, --workers, live capture, -e js or an input of unknown size in threads', () => {
  const long = { meanRecord: () => LONG_FLOW_MEAN_RECORD }, short = { meanRecord: () => LONG_FLOW_MEAN_RECORD - 1 };
  assert.equal(kind({ bytes: 0 }), 'main');
  assert.equal(kind({ bytes: IN_PROCESS_MAX_BYTES }), 'main');
  assert.equal(kind({ ...long, bytes: IN_PROCESS_MAX_BYTES + 1 }), 'mixed');
  assert.equal(kind({ ...short, bytes: IN_PROCESS_MAX_BYTES + 1 }), 'threads');
  assert.equal(kind({ bytes: IN_PROCESS_MAX_BYTES + 1 }), 'threads');
  assert.equal(kind({ ...long, bytes: IN_PROCESS_MAX_BYTES + 1, workers: 1 }), 'threads');
  assert.equal(kind({ bytes: null }), 'threads');
  assert.equal(kind({ workersGiven: true, bytes: 100 }), 'threads');
  assert.equal(kind({ ...long, workersGiven: true, bytes: 1e12 }), 'threads');
  assert.equal(kind({ live: true, bytes: null }), 'threads');
  assert.equal(kind({ plugin: true, bytes: 100 }), 'threads');
  assert.equal(kind({ ...long, plugin: true, bytes: 1e12 }), 'threads');
  // -FX of large records (long flows): in the main thread whatever the size, unless threads are asked for (or needed).
  const fxLong = { ...long, reportOnly: true }, fxShort = { ...short, reportOnly: true };
  assert.equal(kind({ ...fxLong, workers: 1, bytes: 1e12 }), 'main');
  assert.equal(kind({ ...fxShort, workers: 1, bytes: 1e12 }), 'threads');
  assert.equal(kind({ reportOnly: true, workers: 1, bytes: 1e12 }), 'threads');
  assert.equal(kind({ ...fxLong, workersGiven: true, bytes: 1e12 }), 'threads');
  assert.equal(kind({ ...fxLong, live: true, bytes: null }), 'threads');
  assert.equal(kind({ ...fxLong, plugin: true, bytes: 1e12 }), 'threads');
  // Standard input alone: its size is unknown, its first MiB says how large its records are.
  assert.equal(kind({ ...long, bytes: null, stdin: true }), 'mixed');
  assert.equal(kind({ ...short, bytes: null, stdin: true }), 'threads');
  assert.equal(kind({ bytes: null, stdin: true }), 'threads');
  assert.equal(kind({ ...fxLong, workers: 1, bytes: null, stdin: true }), 'main');
  assert.equal(kind({ ...fxShort, workers: 1, bytes: null, stdin: true }), 'threads');
  assert.equal(kind({ ...long, workersGiven: true, bytes: null, stdin: true }), 'threads');
});

test('chooseHost reads the mean record size only where the choice depends on it (a large plain input, threads not asked for)', () => {
  let reads = 0;
  const meanRecord = () => { reads++; return LONG_FLOW_MEAN_RECORD; };
  const cases: [Partial<HostInputs> & { bytes: number | null }, number][] = [
    [{ bytes: IN_PROCESS_MAX_BYTES }, 0],
    [{ bytes: null }, 0],
    [{ bytes: 1e12, workersGiven: true }, 0],
    [{ bytes: null, live: true }, 0],
    [{ bytes: 1e12, plugin: true }, 0],
    [{ bytes: 1e12, workers: 1 }, 0],
    [{ bytes: 1e12, workers: 1, reportOnly: true }, 1],
    [{ bytes: 1e12 }, 1],
    [{ bytes: 1e12, reportOnly: true }, 1],
  ];
  for (const [i, expected] of cases) {
    reads = 0;
    chooseHost({ ...NONE, ...i, meanRecord });
    assert.equal(reads, expected, JSON.stringify(i));
  }
});

test('mainWeight: every CPU gets the same work; scanners give the main session more; none once the coordinator fills a CPU', () => {
  for (const c of [0, 0.1, COORDINATOR_SHARE_SCANNED, 0.22, COORDINATOR_SHARE_LONG, 0.45]) {
    for (let cpus = 2; cpus <= 8; cpus++) {
      const w = mainWeight(cpus, c);
      assert.ok(w >= 0 && w <= 1, `${cpus} CPUs, ${c}: ${w}`);
      if (w === 0) continue;
      // The main session's part of the sessions' work, x; each thread's, (1 - x) / (cpus - 1).
      const x = w / (w + cpus - 1);
      assert.ok(Math.abs(c + x - (1 - x) / (cpus - 1)) < 1e-9, `${cpus} CPUs, ${c}: main ${c + x}, a thread ${(1 - x) / (cpus - 1)}`);
    }
  }
  assert.equal(mainWeight(2, 0), 1);
  assert.equal(mainWeight(2, 1), 0);
  assert.ok(mainWeight(2, COORDINATOR_SHARE_LONG) < mainWeight(2, COORDINATOR_SHARE_SCANNED));
  // On 2 CPUs (measured: README): half a thread's share for long flows, 0.71 with scanners.
  const weight = (i: Partial<HostInputs>) => {
    const h = chooseHost({ ...NONE, bytes: 1e12, meanRecord: () => LONG_FLOW_MEAN_RECORD, ...i });
    return h.kind === 'mixed' ? h.mainWeight : h.kind;
  };
  assert.ok(Math.abs((weight({}) as number) - 0.5) < 0.01);
  assert.ok(Math.abs((weight({ scanning: true }) as number) - 0.71) < 0.01);
  // Long flows: threads only from 4 CPUs (the coordinator alone fills a CPU's share), 7 with scanners.
  assert.deepEqual([2, 3, 4].map((workers) => typeof weight({ workers })), ['number', 'number', 'string']);
  assert.deepEqual([2, 3, 4, 5, 6, 7].map((workers) => typeof weight({ workers, scanning: true })), ['number', 'number', 'number', 'number', 'number', 'string']);
  assert.ok(mainWeight(4, COORDINATOR_SHARE_LONG) < MIN_MAIN_WEIGHT);
});

test('meanRecordBytes: over the first MiB, headers included (of a directory: its first file by name); null for what is no plain capture', () => {
  const tmp = makeTempDir('tcpflow-ts-host-');
  try {
    const big = path.join(tmp, 'big.pcap');
    bulkCapture(big, 2000);
    assert.equal(meanRecordBytes(big), BULK_RECORD);
    assert.equal(meanRecordBytes(tmp), BULK_RECORD);
    const chunk = allocChunk(1 << 20, 100);
    const reader = openCapture(big);
    try {
      const n = reader.fill(chunk);
      assert.equal(meanRecordOf(chunk, n), BULK_RECORD);
      assert.equal(meanRecordOf(chunk, 1), null);
    } finally {
      reader.close();
    }
    const gz = path.join(tmp, 'a.pcap.gz');
    fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(big)));
    assert.equal(meanRecordBytes(gz), null);
    assert.equal(meanRecordBytes(tmp), null);
    assert.equal(meanRecordBytes(path.join(tmp, 'missing.pcap')), null);
    fs.mkdirSync(path.join(tmp, 'empty'));
    assert.equal(meanRecordBytes(path.join(tmp, 'empty')), null);
  } finally {
    removeDir(tmp);
  }
});

test('plainInputBytes: the sum of plain files, directories\' files included; null for standard input or a compressed file, in a directory too', () => {
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
    // A directory: every file below it as the run reads them (src/capture/inputs.ts), hidden ones left out.
    const dir = path.join(tmp, 'dir');
    fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
    fs.copyFileSync(a, path.join(dir, 'one.pcap'));
    fs.copyFileSync(a, path.join(dir, 'sub', 'two.pcap'));
    fs.writeFileSync(path.join(dir, '.hidden'), 'x'.repeat(1000));
    assert.equal(plainInputBytes([dir]), 2 * size);
    assert.equal(plainInputBytes([dir, a]), 3 * size);
    fs.copyFileSync(gz, path.join(dir, 'sub', 'three.pcap.gz'));
    assert.equal(plainInputBytes([dir]), null);
  } finally {
    removeDir(tmp);
  }
});

test('a run says which host it chose (-d 2): a small capture in the main thread; --workers 2 in threads; a capture above the threshold with a session in the main thread (2 CPUs)', async () => {
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
    // The tests' way to compare the arrangements on small captures (test/oracle/workers.test.ts).
    const forced = await runCli(['-d', '2', '--workers', '3', '-r', small, '-o', path.join(tmp, 'o4')], { env: { TCPFLOW_TS_TEST_HOST: 'mixed:0.3' } });
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stderr, /: 2 worker threads and a worker session in the main thread, owning 0\.30 times a thread's share of the flows\n/);
    const big = path.join(tmp, 'big.pcap');
    const packets = Math.ceil((IN_PROCESS_MAX_BYTES - PCAP_HEADER) / BULK_RECORD) + 1;
    bulkCapture(big, packets);
    assert.ok(fs.statSync(big).size > IN_PROCESS_MAX_BYTES);
    const r3 = await runCli(['-d', '2', '-r', big, '-o', path.join(tmp, 'o3')]);
    assert.equal(r3.code, 0, r3.stderr);
    // One session per CPU: on 2 (this VM, CI) one of them in the main thread.
    const cpus = os.availableParallelism();
    const expected = chooseHost({ ...NONE, workers: cpus, bytes: fs.statSync(big).size, meanRecord: () => BULK_RECORD }).kind;
    assert.match(r3.stderr, expected === 'mixed' && cpus === 2 ? MIXED : expected === 'mixed' ? /worker session in the main thread/ : THREADS);
    // Long flows (full-size segments): half a thread's share on 2 CPUs.
    if (cpus === 2) assert.match(r3.stderr, new RegExp(`records of ${BULK_RECORD} bytes on average, owning 0\\.50 times a thread's share`));
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

test('standard input alone is placed by its first MiB as a file is (-FX of long flows in the main thread, files with a session there), with the same files and records as the file, through a pipe or as a file', async () => {
  const tmp = makeTempDir('tcpflow-ts-host-');
  try {
    const big = path.join(tmp, 'big.pcap');
    bulkCapture(big, Math.ceil(IN_PROCESS_MAX_BYTES / BULK_RECORD) + 1, manyFlowFrames(300, 16, RST | ACK));
    for (const [args, host] of [[['-FX'], /no flow files \(-FX\), records of \d+ bytes on average: 1 worker session in the main thread/], [[], MIXED]] as const) {
      const want = await runOutcome(big, [...args]);
      for (const pipe of [true, false]) {
        const dir = path.join(tmp, `${args.join('')}-${pipe ? 'pipe' : 'file'}`);
        fs.mkdirSync(dir);
        const r = await runCli(['-d', '2', ...args, '-r', '-', '-o', 'out'], { cwd: dir, stdin: { file: big, pipe } });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, host, `${args.join(' ')} ${pipe ? 'pipe' : 'file'}`);
        const report = fs.readFileSync(path.join(dir, 'out', 'report.xml'), 'latin1');
        const fileobjects = (x: string) => (x.match(/<fileobject>[\s\S]*?<\/fileobject>/g) ?? []).join('');
        assert.ok(fileobjects(want.records).length > 0);
        assert.equal(fileobjects(report.slice(report.indexOf('<configuration>', report.indexOf('<tdelta>')))), fileobjects(want.records));
        const files = fs.readdirSync(path.join(dir, 'out')).filter((f) => f !== 'report.xml').sort();
        assert.deepEqual(files, want.files.map((f) => f.split(' ')[0]).sort());
      }
    }
  } finally {
    removeDir(tmp);
  }
});
