import { test } from 'node:test';
import { DEFAULT_INFLATE_LIMITS } from '../../src/scanners/http/inflate';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { allocChunk } from '../../src/capture/chunk';
import { memorySource } from '../../src/capture/source';
import { DEFAULT_MAX_FLOWS, perBucketCap } from '../../src/flow/buckets';
import { DEFAULT_MAX_SEEK } from '../../src/flow/tcpdemux';
import { DEFAULT_TEMPLATE } from '../../src/output/template';
import { Coordinator, workerError } from '../../src/shard/coordinator';
import { DFXML_RECORD_ROOM } from '../../src/report/dfxml';
import { InProcessHost, MixedHost, ThreadHost, type WorkerHost } from '../../src/shard/hosts';
import { splitBuckets } from '../../src/shard/bucket-split';
import { NO_HOOKS } from '../../src/hooks/flow-hooks';
import type { WorkerConfig } from '../../src/shard/protocol';
import type { Logger } from '../../src/util/log';
import { PCAP_DIR } from '../helpers/corpus';

const silent: Logger = { error() {}, warn() {}, info() {}, debug() {}, trace() {}, isLevelEnabled: () => false, debugLevel: 0, at() {} };

function config(over: Partial<WorkerConfig> = {}): Omit<WorkerConfig, 'index' | 'spillPath'> {
  return {
    mode: 'console', outdir: '.', template: DEFAULT_TEMPLATE, maxOpenFiles: 100, maxSeek: DEFAULT_MAX_SEEK, maxBytes: -1,
    scanners: [], scannerSettings: { httpDecompress: true, httpLimits: DEFAULT_INFLATE_LIMITS }, tcpdemux: true, netviz: null, plugin: null,
    hooks: NO_HOOKS, findx: false, tdelta: 0, tcpTimeout: 0, savedWindow: 100_000, maxFlowsPerBucket: perBucketCap(DEFAULT_MAX_FLOWS), mergeVlans: false,
    records: true, recordRoom: DFXML_RECORD_ROOM, debugLevel: 0,
    console: { header: true, hex: false, json: false, color: false, binary: false, newline: true }, unprocessed: false, shard: null,
    ...over,
  };
}

/** Small chunks (16 records), so a capture makes many chunks and releases. */
const ring = (n: number) => Array.from({ length: n }, () => allocChunk(64 * 1024, 16));

async function consoleRun(capture: string, workers: number, host: WorkerHost = new InProcessHost(silent), weights: number[] | null = null) {
  let text = '';
  const c = await Coordinator.start(host, workers, config(), () => null, { print: (t) => { text += t; }, unprocessed: null },
    { slots: ring(workers + 1), split: weights === null ? undefined : splitBuckets(weights) });
  const fed = await c.feed(memorySource(capture, fs.readFileSync(path.join(PCAP_DIR, capture))), false, () => false);
  const totals = await c.finish();
  return { text, fed, totals, error: c.error };
}

test('console text comes out whole and in packet order for any worker count, nothing lost at the end', async () => {
  for (const capture of ['tcpflow__jpegs.cap', 'tcpflow__test1.pcap', 'tcpreplay__test.pcap']) {
    const one = await consoleRun(capture, 1);
    assert.ok(one.text.length > 1000, capture);
    assert.equal(one.error, null);
    for (const w of [2, 3, 5]) {
      const r = await consoleRun(capture, w);
      assert.equal(r.text, one.text, `${capture}, ${w} workers`);
      assert.equal(r.totals.results.length, w);
      assert.equal(r.totals.results.reduce((n, x) => n + x.totalPackets, 0), one.totals.results[0].totalPackets);
      assert.equal(r.totals.results.reduce((n, x) => n + x.records, 0), one.totals.results[0].records);
    }
  }
});

/** In-process workers whose worker 1 fails on its third chunk (as a bug in a worker would). */
class FailingHost extends InProcessHost {
  override start(...args: Parameters<InProcessHost['start']>) {
    const links = super.start(...args);
    const inner = links[1];
    let chunks = 0;
    links[1] = {
      send: (msg, transfer) => {
        if (msg.type === 'chunk' && ++chunks === 3) this.sessions[1].processor.processChunk = () => { throw new Error('boom'); };
        inner.send(msg, transfer);
      },
      close: () => inner.close(),
      thread: false,
    };
    return links;
  }
}

/** MixedHost noting which of its links are threads. */
class NotedMixedHost extends MixedHost {
  onThreads: boolean[] = [];
  override start(...args: Parameters<MixedHost['start']>) {
    const links = super.start(...args);
    this.onThreads = links.map((l) => l.thread);
    return links;
  }
}

test('MixedHost: the last worker in the main thread owning a smaller share, the others on threads: the console text of one worker; whenBooted waits for the threads only', async () => {
  for (const capture of ['tcpflow__jpegs.cap', 'tcpreplay__test.pcap']) {
    const one = await consoleRun(capture, 1);
    for (const weights of [[1, 0.5], [1, 1, 0.3]]) {
      const host = new NotedMixedHost(silent);
      const r = await consoleRun(capture, weights.length, host, weights);
      assert.deepEqual(host.onThreads, weights.map((_, i) => i < weights.length - 1), `${capture}, ${weights.join('/')}: threads, then the main thread`);
      assert.equal(r.error, null);
      assert.equal(r.text, one.text, `${capture}, weights ${weights.join('/')}`);
      assert.equal(r.totals.results.length, weights.length);
      // Every session had records, the main one too.
      assert.ok(r.totals.results.every((x) => x.totalPackets > 0), JSON.stringify(r.totals.results.map((x) => x.totalPackets)));
      assert.equal(r.totals.results.reduce((n, x) => n + x.totalPackets, 0), one.totals.results[0].totalPackets);
    }
  }
  const c = await Coordinator.start(new MixedHost(silent), 2, config(), () => null, { print: null, unprocessed: null },
    { slots: ring(3), split: splitBuckets([1, 0.5]) });
  let called = 0;
  const booted = new Promise<void>((resolve) => c.whenBooted(() => { called++; resolve(); }));
  await c.feed(memorySource('tcpflow__test1.pcap', fs.readFileSync(path.join(PCAP_DIR, 'tcpflow__test1.pcap'))), false, () => false);
  await booted;
  await c.finish();
  assert.equal(called, 1);
});

test('whenBooted: once, when every worker thread has booted (V8 flags wait for it); at once when registered later; never in-process', async () => {
  const order: string[] = [];
  const c = await Coordinator.start(new ThreadHost(), 2, config(), () => null, { print: () => { order.push('print'); }, unprocessed: null },
    { slots: ring(3) });
  const booted = new Promise<void>((resolve) => c.whenBooted(() => { order.push('booted'); resolve(); }));
  await c.feed(memorySource('tcpflow__test1.pcap', fs.readFileSync(path.join(PCAP_DIR, 'tcpflow__test1.pcap'))), false, () => false);
  await booted;
  const totals = await c.finish();
  assert.equal(c.error, null);
  assert.equal(order.filter((o) => o === 'booted').length, 1);
  assert.ok(order.includes('print'));
  assert.equal(totals.results.length, 2);
  // Registered after the threads booted: runs at once.
  let late = 0;
  c.whenBooted(() => late++);
  assert.equal(late, 1);

  const inProcess = await Coordinator.start(new InProcessHost(silent), 2, config(), () => null, { print: null, unprocessed: null }, { slots: ring(3) });
  let called = 0;
  inProcess.whenBooted(() => called++);
  await inProcess.feed(memorySource('tcpflow__test1.pcap', fs.readFileSync(path.join(PCAP_DIR, 'tcpflow__test1.pcap'))), false, () => false);
  await inProcess.finish();
  assert.equal(called, 0);
});

test('a worker that fails: reading stops, every worker still answers, the error names the failure', async () => {
  const r = await consoleRun('tcpflow__jpegs.cap', 3, new FailingHost(silent));
  assert.ok(r.error !== null);
  assert.equal(r.error.message.split('\n')[0], 'internal error in worker thread 1: Error: boom');
  assert.equal(r.totals.results.length, 3);
  assert.ok(r.totals.results[1].error !== null);
});

test('flow files: the most open at once is counted over all workers in packet order, the same for any count', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpflow-ts-coord-'));
  try {
    const results: number[] = [];
    for (const w of [1, 2, 3, 4]) {
      const outdir = path.join(tmp, `w${w}`);
      fs.mkdirSync(outdir);
      const c = await Coordinator.start(new InProcessHost(silent), w, config({ mode: 'files', outdir, console: null }), () => null,
        undefined, { slots: ring(w + 1) });
      await c.feed(memorySource('jpegs', fs.readFileSync(path.join(PCAP_DIR, 'tcpflow__jpegs.cap'))), false, () => false);
      const t = await c.finish();
      assert.equal(c.error, null);
      results.push(t.maxOpenFiles);
    }
    assert.deepEqual(results, [13, 13, 13, 13]);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('a dead worker thread: the message says which one and why (the thread\'s error, where it was thrown)', () => {
  assert.equal(workerError(1, 2, new Error('worker exited with code: 70')).message, 'worker thread 1 of 2 failed: it exited with code 70');
  const thrown = new TypeError("Cannot read properties of undefined (reading 'x')");
  thrown.stack = `${thrown.name}: ${thrown.message}\n    at ShardProcessor.processChunk (/app/dist/src/shard/shard-processor.js:120:33)\n    at other (/x.js:1:1)`;
  assert.equal(workerError(0, 2, thrown).message, "worker thread 0 of 2 failed: TypeError: Cannot read properties of undefined (reading 'x') at /app/dist/src/shard/shard-processor.js:120:33");
  const io = Object.assign(new Error('EMFILE: too many open files, open \'x\''), { code: 'EMFILE' });
  io.stack = `Error: ${io.message}\n    at Object.openSync (node:fs:573:18)`;
  assert.equal(workerError(3, 4, io).message, "worker thread 3 of 4 failed: Error: EMFILE: too many open files, open 'x' (EMFILE) at node:fs:573:18");
  assert.equal(workerError(0, 1, 'gone').message, 'worker thread 0 of 1 failed: gone');
  assert.equal(workerError(0, 1, new Error('x')).exitCode, 4);
});

/**
 * Report-only runs with spill files, recording what every release tells the reports'
 * merge: (worker, bytes of whole records in its spill, packet before which it will close
 * no more flows).
 */
async function spillRun(capture: string, workers: number, over: Partial<WorkerConfig> = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpflow-spilled-'));
  try {
    const spill = (i: number) => path.join(dir, `part${i}`);
    const events: { w: number; bytes: number; through: number }[] = [];
    const c = await Coordinator.start(new InProcessHost(silent), workers, config({ mode: 'report-only', console: null, ...over }), spill,
      { print: null, unprocessed: null, spilled: (w, bytes, through) => events.push({ w, bytes, through }) }, { slots: ring(workers + 1) });
    await c.feed(memorySource(capture, fs.readFileSync(path.join(PCAP_DIR, capture))), false, () => false);
    await c.finish();
    // Each spill line: close packet, first packet, the record.
    const lines = Array.from({ length: workers }, (_, i) => {
      const text = fs.readFileSync(spill(i), 'utf8');
      let at = 0;
      return text.split('\n').filter((l) => l !== '').map((l) => {
        const [close, first] = l.split(' ', 2).map(Number);
        at += Buffer.byteLength(l) + 1;
        return { close, first, end: at };
      });
    });
    return { events, lines };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('reports merged during the run: a release counts whole records, and no later record of that worker closes before its packet', async () => {
  let closedAfterRelease = 0;
  for (const [capture, over] of [['tcpreplay__test.pcap', {}], ['tcpflow__jpegs.cap', {}], ['tcpreplay__test.pcap', { tcpTimeout: 1 }]] as const) {
    for (const workers of [2, 3]) {
      const { events, lines } = await spillRun(capture, workers, over);
      assert.ok(events.length > 10, `${capture}: ${events.length} releases`);
      for (const e of events) {
        const mine = lines[e.w];
        assert.ok(e.bytes === 0 || mine.some((l) => l.end === e.bytes), `${capture}: ${e.bytes} is not the end of a record`);
        for (const l of mine) {
          if (l.end > e.bytes) assert.ok(l.close >= e.through, `${capture}, worker ${e.w}: a record closed at ${l.close} spilled after the release saying ${e.through}`);
        }
      }
      closedAfterRelease += events.filter((e) => lines[e.w].some((l) => l.end > e.bytes && l.close < Number.MAX_SAFE_INTEGER)).length;
    }
  }
  // Flows do close after releases (not only at the end of input): the check above is not empty.
  assert.ok(closedAfterRelease > 10, `${closedAfterRelease} releases with flows closed after them`);
});

/** In-process workers that note what each message would hand a thread. */
class WatchingHost extends InProcessHost {
  readonly seen: { shared: boolean; transfers: number }[] = [];
  override start(...args: Parameters<InProcessHost['start']>) {
    return super.start(...args).map((inner) => ({
      send: (msg: Parameters<typeof inner.send>[0], transfer: ArrayBuffer[]) => {
        if (msg.type === 'chunk') this.seen.push({ shared: msg.records.buffer instanceof SharedArrayBuffer, transfers: transfer.length });
        inner.send(msg, transfer);
      },
      close: () => inner.close(),
      thread: false,
    }));
  }
}

test('chunk messages carry their record lists in shared memory and transfer nothing (a transfer detaches a buffer: V8 then drops its optimised typed-array code)', async () => {
  for (const w of [1, 3]) {
    const host = new WatchingHost(silent);
    const one = await consoleRun('tcpflow__jpegs.cap', w, host);
    assert.equal(one.error, null);
    assert.ok(host.seen.length > 10, `${w} workers: ${host.seen.length} chunk messages`);
    assert.ok(host.seen.every((m) => m.shared && m.transfers === 0), `${w} workers`);
  }
});

test('worker threads: one that cannot start its task, or ends before its result, fails the run naming it and why; the run still ends', async () => {
  const capture = fs.readFileSync(path.join(PCAP_DIR, 'tcpflow__jpegs.cap'));
  // The task rejects before the thread has booted (its -e js module does not load in it).
  const missing = path.join(os.tmpdir(), 'tcpflow-ts-no-such-module.mjs');
  const c = await Coordinator.start(new ThreadHost(), 2, config({ plugin: { module: missing, function: 'scan' } }), () => null,
    { print: null, unprocessed: null }, { slots: ring(3) });
  await c.feed(memorySource('jpegs', capture), false, () => false);
  const totals = await c.finish();
  assert.match(c.error?.message ?? '', /^worker thread [01] of 2 failed: .*-S js_module=.*tcpflow-ts-no-such-module\.mjs: cannot load/);
  assert.ok(totals.results.length < 2);
  // A thread that exits on its own before its result (TCPFLOW_TS_FAULT=worker-exit: worker 0 exits with 70 at its first chunk).
  process.env.TCPFLOW_TS_FAULT = 'worker-exit';
  try {
    const d = await Coordinator.start(new ThreadHost(), 2, config(), () => null, { print: null, unprocessed: null }, { slots: ring(3) });
    await d.feed(memorySource('jpegs', capture), false, () => false);
    const t = await d.finish();
    assert.equal(d.error?.message, 'worker thread 0 of 2 failed: it exited with code 70');
    assert.deepEqual(t.results.map((r) => r.error), [null]);
  } finally {
    delete process.env.TCPFLOW_TS_FAULT;
  }
});
