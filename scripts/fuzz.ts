/**
 * The seeded whole-capture fuzzer's command line (see test/fuzz/fuzzer.ts and the
 * README's Robustness section):
 *
 *   npm run fuzz -- --iterations N [--seed S] [--jobs J] [--start I] [--failures DIR] [--max-failures K]
 *   npm run fuzz -- --seed S --iteration I      one iteration, described
 *   npm run fuzz -- --replay FILE...            saved inputs (e.g. fixtures/fuzz/*)
 *
 * Iterations run in J worker threads, each with its own in-memory pipeline; a watchdog
 * in this thread stops a worker stuck on one input (a hang) and records that input.
 * Every failure prints its seed and iteration, and its input goes to DIR with a .json
 * description. Exit status: 0 without failures, 1 with, 2 on bad arguments.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { randomInt } from 'node:crypto';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import {
  Failure, failureOf, loadSeeds, makeCase, newStats, Pipeline, replay, runInput, runIterations, saveFailure, Stats,
  TIME_LIMIT_MS,
} from '../test/fuzz/fuzzer';

interface Args {
  iterations: number;
  seed: number;
  jobs: number;
  start: number;
  iteration: number | null;
  replay: string[];
  failures: string;
  maxFailures: number;
}

interface JobData {
  seed: number;
  from: number;
  to: number;
  step: number;
  status: Int32Array;
  slot: number;
}

type FromJob =
  | { type: 'progress'; done: number }
  | { type: 'failure'; failure: Failure; input: Uint8Array }
  | { type: 'done'; stats: SerialStats };

type SerialStats = Omit<Stats, 'outcomes' | 'mutations'> & { outcomes: [string, number][]; mutations: [string, number][] };

/** A worker stuck this long on one input is hung (each input has TIME_LIMIT_MS). */
const HANG_MS = Number(process.env.FUZZ_HANG_MS) || Math.max(30_000, 10 * TIME_LIMIT_MS);
const PROGRESS_EVERY = 200;

function usage(msg: string): never {
  process.stderr.write(`fuzz: ${msg}\nusage: npm run fuzz -- --iterations N [--seed S] [--jobs J] [--start I] [--failures DIR] [--max-failures K]\n` +
    '       npm run fuzz -- --seed S --iteration I\n       npm run fuzz -- --replay FILE...\n');
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    iterations: 1000, seed: randomInt(0, 2 ** 32 - 1), jobs: 1, start: 0, iteration: null, replay: [],
    failures: 'fuzz-failures', maxFailures: 20,
  };
  const int = (v: string | undefined, name: string, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < min) usage(`${name} needs an integer >= ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const o = argv[i];
    switch (o) {
      case '--iterations': a.iterations = int(argv[++i], o, 0); break;
      case '--seed': a.seed = int(argv[++i], o, 0) >>> 0; break;
      case '--jobs': a.jobs = int(argv[++i], o, 1); break;
      case '--start': a.start = int(argv[++i], o, 0); break;
      case '--iteration': a.iteration = int(argv[++i], o, 0); break;
      case '--failures': a.failures = argv[++i] ?? usage('--failures needs a directory'); break;
      case '--max-failures': a.maxFailures = int(argv[++i], o, 1); break;
      case '--replay':
        while (i + 1 < argv.length && !argv[i + 1].startsWith('--')) a.replay.push(argv[++i]);
        if (a.replay.length === 0) usage('--replay needs files');
        break;
      default: usage(`unknown argument ${o}`);
    }
  }
  return a;
}

// ------------------------------------------------------------ worker side

async function job(d: JobData): Promise<void> {
  const port = parentPort;
  if (port === null) return;
  const [p, fresh] = await Promise.all([Pipeline.create(), Pipeline.create()]);
  const seeds = loadSeeds();
  let done = 0;
  const stats = newStats();
  await runIterations(p, seeds, d.seed, d.from, d.to, d.step, (failure, input) => {
    port.postMessage({ type: 'failure', failure, input } satisfies FromJob);
  }, {
    stats, fresh,
    current: (i) => {
      Atomics.store(d.status, d.slot, i);
      if (++done % PROGRESS_EVERY === 0) port.postMessage({ type: 'progress', done: PROGRESS_EVERY } satisfies FromJob);
    },
  });
  port.postMessage({ type: 'progress', done: done % PROGRESS_EVERY } satisfies FromJob);
  const { outcomes, mutations, ...rest } = stats;
  port.postMessage({ type: 'done', stats: { ...rest, outcomes: [...outcomes], mutations: [...mutations] } } satisfies FromJob);
}

// ------------------------------------------------------------ main side

function merge(into: Stats, s: SerialStats): void {
  into.iterations += s.iterations;
  into.failures += s.failures;
  into.flows += s.flows;
  if (s.slowestMs > into.slowestMs) { into.slowestMs = s.slowestMs; into.slowestIteration = s.slowestIteration; }
  for (const [k, v] of s.outcomes) into.outcomes.set(k, (into.outcomes.get(k) ?? 0) + v);
  for (const [k, v] of s.mutations) into.mutations.set(k, (into.mutations.get(k) ?? 0) + v);
}

function top(m: Map<string, number>, n: number): string {
  return [...m].sort((x, y) => y[1] - x[1]).slice(0, n).map(([k, v]) => `${k} ${v}`).join(', ');
}

function report(f: Failure, file: string): void {
  process.stdout.write(`FAIL seed=${f.seed} iteration=${f.iteration} property=${f.property} (from ${f.seedName}; ` +
    `reproduced in a fresh pipeline: ${f.reproduced ?? 'not tried'})\n  ${f.message.split('\n').slice(0, 4).join('\n  ')}\n` +
    `  mutations: ${f.notes.join('; ')}\n  input: ${file}\n  again: npm run fuzz -- --seed ${f.seed} --iteration ${f.iteration}\n`);
}

async function campaign(a: Args): Promise<number> {
  const total = a.iterations;
  const jobs = Math.min(a.jobs, Math.max(1, total));
  process.stdout.write(`fuzz: seed ${a.seed}, iterations ${a.start}..${a.start + total - 1}, ${jobs} job(s), ` +
    `failures to ${path.resolve(a.failures)} (${os.availableParallelism()} CPUs)\n`);
  const seeds = loadSeeds();
  const stats = newStats();
  const status = new Int32Array(new SharedArrayBuffer(4 * jobs)).fill(-1);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let done = 0;
  let failures = 0;
  let stopping = false;
  const end = a.start + total;

  // Iterations of workers stopped early (they send no statistics), counted from their position.
  let stoppedEarly = 0;
  interface Job { w: Worker; from: number }
  const workers: (Job | null)[] = [];
  const finished: Promise<void>[] = [];
  /** Stop slot j's worker; its current iteration counts as run when `failed`. */
  const stop = (j: number, failed: boolean): number => {
    const job = workers[j];
    const it = Atomics.load(status, j);
    if (job === null || job === undefined) return it;
    workers[j] = null;
    void job.w.terminate();
    stoppedEarly += Math.max(0, (it - job.from) / jobs) + (failed ? 1 : 0);
    return it;
  };

  const onFailure = (f: Failure, input: Uint8Array) => {
    failures++;
    if (failures <= a.maxFailures) report(f, saveFailure(a.failures, f, input));
    if (failures >= a.maxFailures && !stopping) {
      stopping = true;
      process.stdout.write(`fuzz: ${failures} failures, stopping\n`);
      for (let j = 0; j < jobs; j++) stop(j, false);
    }
  };

  /** A worker died or hung on its current input: that input fails, the slot goes on after it. */
  const lose = (j: number, why: string, property: string) => {
    const it = stop(j, true);
    const c = makeCase(seeds, a.seed, it);
    const f = failureOf(c, new Error(why));
    f.property = property;
    done++;
    onFailure(f, c.input);
    start(j, it + jobs);
  };

  const start = (slot: number, from: number): void => {
    if (from >= end || stopping) return;
    Atomics.store(status, slot, from);
    const data: JobData = { seed: a.seed, from, to: end, step: jobs, status, slot };
    const w = new Worker(__filename, { workerData: data });
    const job: Job = { w, from };
    workers[slot] = job;
    finished.push(new Promise((resolve) => {
      w.on('message', (m: FromJob) => {
        if (m.type === 'progress') done += m.done;
        else if (m.type === 'failure') onFailure(m.failure, m.input);
        else merge(stats, m.stats);
      });
      // E.g. out of memory on one input.
      w.on('error', (e) => { if (workers[slot] === job) lose(slot, `worker died: ${e instanceof Error ? e.message : String(e)}`, 'crash'); });
      w.on('exit', () => { if (workers[slot] === job) workers[slot] = null; resolve(); });
    }));
  };
  for (let j = 0; j < jobs; j++) start(j, a.start + j);

  // Watchdog and progress.
  const seen = Array.from({ length: jobs }, () => ({ it: -1, since: performance.now() }));
  let lastPrint = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    for (let j = 0; j < jobs; j++) {
      if (workers[j] === null || workers[j] === undefined) continue;
      const it = Atomics.load(status, j);
      if (it !== seen[j].it) { seen[j] = { it, since: now }; continue; }
      if (now - seen[j].since > HANG_MS && !stopping) {
        const secs = (now - seen[j].since) / 1000;
        seen[j] = { it: -1, since: now };
        lose(j, `no result after ${secs.toFixed(0)} s`, 'hang');
      }
    }
    if (now - lastPrint >= 10_000) {
      lastPrint = now;
      const rate = done / ((now - t0) / 1000);
      process.stdout.write(`fuzz: ${done}/${total} iterations, ${rate.toFixed(0)} it/s, ${failures} failure(s), ` +
        `${((total - done) / rate / 60).toFixed(1)} min left\n`);
    }
  }, 1000);
  // Workers restarted after a hang add to `finished` while we wait.
  for (let k = 0; k < finished.length; k++) await finished[k];
  clearInterval(timer);

  const secs = (performance.now() - t0) / 1000;
  const count = stats.iterations + stoppedEarly;
  const rate = count / secs;
  const cu = process.cpuUsage(cpu0);
  const cpuMs = (cu.user + cu.system) / 1000;
  process.stdout.write(`fuzz: ${count} iterations in ${secs.toFixed(1)} s with ${jobs} job(s): ${rate.toFixed(0)} it/s; ` +
    `${failures} failure(s); ${stats.flows} flows${stoppedEarly > 0 ? ' (statistics without the workers stopped early)' : ''}; slowest input ${stats.slowestMs.toFixed(0)} ms (iteration ${stats.slowestIteration})\n` +
    `  outcomes: ${top(stats.outcomes, 12)}\n  mutations: ${top(stats.mutations, 40)}\n` +
    `  at this rate 1,000,000 iterations take ${(1e6 / rate / 60).toFixed(0)} min with ${jobs} job(s); ` +
    `CPU ${(cpuMs / count).toFixed(2)} ms per iteration (all threads), i.e. ${(1e6 * cpuMs / count / 60_000 / jobs).toFixed(0)} min ` +
    `on ${jobs} otherwise idle core(s)\n`);
  return failures > 0 ? 1 : 0;
}

async function one(a: Args, iteration: number): Promise<number> {
  const p = await Pipeline.create();
  const c = makeCase(loadSeeds(), a.seed, iteration);
  process.stdout.write(`fuzz: seed ${a.seed} iteration ${iteration}: from ${c.seedName}, ${c.input.length} bytes, ` +
    `config ${JSON.stringify(c.config)}\n  mutations: ${c.notes.join('; ')}\n`);
  try {
    const r = await runInput(p, `fuzz-${a.seed}-${iteration}`, c.input, c.config, c.oracle);
    process.stdout.write(`  ok: ${r.records} records, ${r.tcp} TCP, ${r.totals.flows} flows, ${r.files.size} files` +
      `${r.error ? `, error: ${r.error}` : ''}${r.truncation ? `, truncated at ${r.truncation.offset}` : ''}\n`);
    return 0;
  } catch (e) {
    const f = failureOf(c, e);
    report(f, saveFailure(a.failures, f, c.input));
    return 1;
  }
}

async function replayAll(files: string[]): Promise<number> {
  const p = await Pipeline.create();
  let bad = 0;
  for (const f of files) {
    try {
      await replay(p, f);
      process.stdout.write(`ok   ${f}\n`);
    } catch (e) {
      bad++;
      process.stdout.write(`FAIL ${f}: ${(e as Error).message}\n`);
    }
  }
  return bad > 0 ? 1 : 0;
}

async function main(): Promise<number> {
  const a = parseArgs(process.argv.slice(2));
  if (a.replay.length > 0) return replayAll(a.replay);
  if (a.iteration !== null) return one(a, a.iteration);
  return campaign(a);
}

if (isMainThread) {
  main().then((code) => { process.exitCode = code; }, (e: unknown) => {
    process.stderr.write(`fuzz: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = 1;
  });
} else {
  void job(workerData as JobData);
}

