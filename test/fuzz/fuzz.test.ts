/**
 * The mutation fuzzer inside `npm test`: the seeds as they are, a short campaign with a
 * fixed seed, every regression input of fixtures/fuzz (in memory, and through the CLI
 * for the disk side), and proof that each property check can fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Flow } from '../../src/flow/flow';
import { assertWellFormedXml, makeTempDir, removeDir, runCli, stackFrames, unprefixedLines } from '../helpers/corpus';
import {
  checkSeeds, loadSeeds, makeCase, noteKind, Pipeline, regressionFiles, replay, runInput, runIterations, FuzzFailure,
} from './fuzzer';
import { CheckedOutput, DEFAULT_CONFIG } from './pipeline';
import { allocChunk } from '../../src/capture/chunk';
import { LINKTYPE } from '../../src/decode/link';
import type { ShardProcessor } from '../../src/shard/shard-processor';
import { ACK, ether, ipv4, tcp } from '../helpers/packets';

/** Iterations of the in-test campaign (about 10 s on the project's 2-core VM). */
const ITERATIONS = 2500;
const SEED = 20261201;

const seeds = loadSeeds();
const pipeline = Pipeline.create();

test('every seed as it is keeps every property, and generated seeds give exactly their known files', async () => {
  const generated = seeds.filter((s) => s.generated !== null);
  assert.ok(seeds.length - generated.length >= 100, 'the corpus captures are seeds');
  assert.ok(generated.length >= 7 && generated.every((s) => (s.generated?.expected.length ?? 0) >= 2));
  assert.deepEqual(await checkSeeds(await pipeline, seeds), []);
});

test(`a seeded campaign of ${ITERATIONS} iterations: no failure, and every kind of mutation and outcome happens`, async () => {
  const failures: string[] = [];
  const stats = await runIterations(await pipeline, seeds, SEED, 0, ITERATIONS, 1, (f) => {
    failures.push(`seed ${f.seed} iteration ${f.iteration} (${f.seedName}): ${f.message.slice(0, 2000)}\n  ${f.notes.join('; ')}`);
  }, { fresh: await Pipeline.create() });
  assert.deepEqual(failures, []);
  assert.equal(stats.iterations, ITERATIONS);
  // Inputs end every way: with flows, cut short, refused by the reader for each format.
  for (const o of ['clean, flows', 'truncated', 'invalid packet capture length N', 'corrupt pcapng file', 'unknown file format']) {
    assert.ok((stats.outcomes.get(o) ?? 0) > 0, `no run ended with "${o}": ${[...stats.outcomes.keys()].join(', ')}`);
  }
  assert.ok(stats.flows > 10 * ITERATIONS / 2, `only ${stats.flows} flows`);
  const kinds = [
    'flip bits', 'set byte at', 'truncate at', 'insert bytes at', 'delete bytes at', 'dup', 'delete', 'swap', 'move', 'shuffle',
    'cut packet to', 'pcap record caplen', 'pcap record origlen', 'pcap linktype', 'pcap snaplen', 'block total length',
    'block trailing length', 'packet block interface', 'packet block lying', 'insert IDB at', 'packet IHL', 'packet total length',
    'packet fragment flags', 'packet protocol', 'packet payload length', 'packet next header', 'packet insert extension',
    'packet TCP data', 'packet TCP flags', 'packet TCP seq', 'packet TCP ack', 'packet insert VLAN', 'packet retag VLAN',
  ];
  const missing = kinds.filter((k) => !stats.mutations.has(k));
  assert.deepEqual(missing, [], `mutations never applied; applied: ${[...stats.mutations.keys()].join(', ')}`);
});

test('an iteration is reproducible from its seed and number alone', () => {
  const a = makeCase(seeds, SEED, 1234), b = makeCase(seeds, SEED, 1234), c = makeCase(seeds, SEED, 1235);
  assert.deepEqual([a.seedName, a.notes, a.config], [b.seedName, b.notes, b.config]);
  assert.equal(Buffer.compare(a.input, b.input), 0);
  assert.notDeepEqual([c.seedName, c.notes, [...c.input]], [a.seedName, a.notes, [...a.input]]);
  assert.equal(noteKind('packet 3 TCP seq 1->2'), 'packet TCP seq');
});

const regressions = regressionFiles();

test('fixtures/fuzz: every input replays cleanly in memory (its own settings, the defaults, small chunks and limits)', async () => {
  assert.ok(regressions.length >= 2, 'regression inputs are present');
  const p = await Pipeline.create();
  for (const f of regressions) await replay(p, f);
});

test('fixtures/fuzz: every input through the CLI (disk side): exit 0 or 1, no stack trace, a complete report', async () => {
  const tmp = makeTempDir('tcpflow-ts-fuzz-');
  try {
    for (const [k, f] of regressions.entries()) {
      const out = path.join(tmp, `out${k}`);
      const r = await runCli(['-r', f, '-o', out, '-e', 'md5', '--workers', '2'], { timeoutMs: 30_000 });
      assert.ok(r.code === 0 || r.code === 1, `${f}: exit ${r.code}\n${r.stderr}`);
      assert.deepEqual(stackFrames(r.stderr), [], `${f}: stack trace\n${r.stderr}`);
      assert.deepEqual(unprefixedLines(r.stderr), [], r.stderr);
      const report = fs.readFileSync(path.join(out, 'report.xml'));
      assertWellFormedXml(report);
      assert.ok(report.toString().endsWith('</dfxml>\n'));
    }
  } finally {
    removeDir(tmp);
  }
});

test('each property check fails when it should', async () => {
  const p = await pipeline;
  const expectFailure = (property: string, fn: () => unknown) => {
    assert.throws(fn, (e: unknown) => e instanceof FuzzFailure && e.property === property, property);
  };
  // A write outside the record being processed, or from another buffer, is an over-read;
  // bytes at a position their sequence number does not give are misplaced.
  const frame = ether(ipv4(tcp({ sport: 1, dport: 2, seq: 1000, flags: ACK, payload: 'x'.repeat(20) }), { src: '10.0.0.1', dst: '10.0.0.2' }));
  const chunk = allocChunk(4096, 4);
  chunk.data.set(frame, 10);
  Object.assign(chunk, { count: 1 });
  chunk.offset[0] = 10;
  chunk.caplen[0] = chunk.origlen[0] = frame.length;
  chunk.linktype[0] = LINKTYPE.EN10MB;
  const payload = 10 + frame.length - 20;
  const out = new CheckedOutput(DEFAULT_CONFIG);
  out.processors = [{ chunk, record: 0 } as unknown as ShardProcessor];
  const flow = new Flow(Uint8Array.from([10, 0, 0, 1]), Uint8Array.from([10, 0, 0, 2]), 1, 2, -1, null, 0);
  flow.isn = 999;
  const sink = out.open(flow);
  sink.write(0, chunk.data, payload, 20);
  expectFailure('over-read', () => sink.write(0, chunk.data, payload, 21));
  expectFailure('over-read', () => sink.write(0, chunk.data, 9, 1));
  expectFailure('over-read', () => sink.write(0, new Uint8Array(4096), payload, 1));
  expectFailure('placement', () => sink.write(1, chunk.data, payload, 1));
  out.processors = [];
  expectFailure('over-read', () => sink.write(0, chunk.data, payload, 1));
  // The report's filesize must be the file's size.
  flow.lastByte = 19;
  expectFailure('filesize', () => sink.close());
  // The time bound, measured.
  const g = seeds.find((x) => x.name === 'gen-many.pcap');
  assert.ok(g);
  await assert.rejects(runInput(p, g.name, g.bytes, DEFAULT_CONFIG, true, -1), (e: unknown) => e instanceof FuzzFailure && e.property === 'time');
});
