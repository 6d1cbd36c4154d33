/**
 * The seeded whole-capture fuzzer: seeds (the corpus captures and generated ones), one
 * reproducible case per (seed, iteration), the loop that runs cases through the
 * in-memory pipeline, and how failures are written and regressions replayed.
 * scripts/fuzz.ts is the command line (workers, watchdog); test/fuzz/fuzz.test.ts runs
 * a short fixed-seed campaign and the regressions inside `npm test`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng } from '../flow/rng';
import { PCAP_DIR, REPO_ROOT } from '../helpers/corpus';
import { generatedSeeds, GeneratedSeed } from './generate';
import { Layout, parseLayout } from './layout';
import { mutate } from './mutators';
import { DEFAULT_CONFIG, FuzzFailure, Pipeline, RunConfig, RunResult } from './pipeline';

export const REGRESSION_DIR = path.join(REPO_ROOT, 'fixtures', 'fuzz');
/** Per-input time bound (ms): a run that takes longer is a failure. */
export const TIME_LIMIT_MS = 2000;
/** Share of iterations that also run sharded and compare. */
const CROSS_SHARD_RATE = 1 / 8;
/** Share of iterations that start from a generated seed. */
const GENERATED_RATE = 0.3;

export interface Seed {
  name: string;
  bytes: Uint8Array;
  layout: Layout | null;
  generated: GeneratedSeed | null;
}

/** Seeds: every capture of the corpus and of the regression inputs, and the generated captures. */
export function loadSeeds(dir = PCAP_DIR): Seed[] {
  const files = fs.readdirSync(dir).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort().map((f) => path.join(dir, f));
  const seeds: Seed[] = [...files, ...regressionFiles()].map((f) => {
    const bytes = new Uint8Array(fs.readFileSync(f));
    return { name: path.basename(f), bytes, layout: parseLayout(bytes), generated: null };
  });
  for (const g of generatedSeeds()) seeds.push({ name: g.name, bytes: g.bytes, layout: parseLayout(g.bytes), generated: g });
  return seeds;
}

/** An independent generator per iteration: any iteration can be replayed alone. */
export function iterationRng(seed: number, iteration: number): Rng {
  let h = (seed ^ Math.imul(iteration + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return new Rng((h ^ (h >>> 16)) >>> 0);
}

export interface Case {
  seed: number;
  iteration: number;
  seedName: string;
  input: Uint8Array;
  config: RunConfig;
  oracle: boolean;
  notes: string[];
}

/**
 * Mostly the defaults; otherwise one demultiplexer setting changed to one of a few values
 * (shard processors are kept per setting, so the set stays small).
 */
function randomConfig(r: Rng): RunConfig {
  const c: RunConfig = {
    ...DEFAULT_CONFIG,
    chunk: r.chance(0.1) ? 'small' : 'big',
    md5: r.chance(0.1),
    crossShards: r.chance(CROSS_SHARD_RATE) ? r.pick([2, 3]) : 1,
    crossUneven: r.chance(0.5),
    again: r.chance(0.1) ? r.pick(['read', 'finish'] as const) : 'none',
  };
  switch (r.int(0, 9)) {
    case 0: c.maxBytes = r.pick([0, 1, 100, 3000]); break;
    case 1: c.maxSeek = r.pick([0, 1, 1000, 70_000]); break;
    case 2: c.savedWindow = r.pick([0, 1, 5]); break;
    case 3: c.mergeVlans = true; break;
    case 4: c.tcpTimeout = r.pick([1, 2]); break;
    default: break;
  }
  return c;
}

/** The input and settings of one iteration. */
export function makeCase(seeds: readonly Seed[], seed: number, iteration: number): Case {
  const r = iterationRng(seed, iteration);
  const generated = seeds.filter((s) => s.generated !== null);
  const corpus = seeds.filter((s) => s.generated === null);
  const from = generated.length > 0 && (corpus.length === 0 || r.chance(GENERATED_RATE)) ? generated : corpus;
  const s = r.pick(from);
  const config = randomConfig(r);
  const { bytes, notes } = mutate(s.bytes, s.layout, r);
  return {
    seed, iteration, seedName: s.name, input: bytes, config, notes,
    oracle: s.generated !== null,
  };
}

/** Run one input; a FuzzFailure if any property breaks or it takes longer than the bound. */
export async function runInput(p: Pipeline, name: string, input: Uint8Array, config: RunConfig, oracle: boolean,
  timeLimitMs = TIME_LIMIT_MS): Promise<RunResult> {
  const t0 = performance.now();
  let result: RunResult;
  try {
    result = await p.check(name, input, config, oracle);
  } catch (e) {
    if (e instanceof FuzzFailure) throw e;
    // Anything thrown outside the pipeline's own catch (a bug in a check, a stack overflow).
    throw new FuzzFailure('exception', e instanceof Error && e.stack ? e.stack : String(e));
  }
  const ms = performance.now() - t0;
  if (ms > timeLimitMs) {
    // Once more, so that a pause of the machine (other processes, a full GC) is not taken for a hang.
    const t1 = performance.now();
    await p.check(name, input, config, oracle);
    const again = performance.now() - t1;
    if (again > timeLimitMs) {
      throw new FuzzFailure('time', `${ms.toFixed(0)} ms, then ${again.toFixed(0)} ms, for ${input.length} bytes (bound ${timeLimitMs} ms)`);
    }
  }
  return result;
}

export interface Failure {
  seed: number;
  iteration: number;
  seedName: string;
  property: string;
  message: string;
  notes: string[];
  config: RunConfig;
  /** Whether the case fails again in a fresh pipeline (null: not tried). */
  reproduced: boolean | null;
}

export function failureOf(c: Case, e: unknown): Failure {
  const f = e instanceof FuzzFailure ? e : new FuzzFailure('exception', String(e));
  return {
    seed: c.seed, iteration: c.iteration, seedName: c.seedName, property: f.property, message: f.message,
    notes: c.notes, config: c.config, reproduced: null,
  };
}

export interface Stats {
  iterations: number;
  failures: number;
  /** How runs ended: clean, truncated, or the reader's error (numbers as N). */
  outcomes: Map<string, number>;
  /** Mutator notes by kind, to show what was exercised. */
  mutations: Map<string, number>;
  flows: number;
  /** The slowest input: milliseconds and iteration. */
  slowestMs: number;
  slowestIteration: number;
}

export function newStats(): Stats {
  return { iterations: 0, failures: 0, outcomes: new Map(), mutations: new Map(), flows: 0, slowestMs: 0, slowestIteration: -1 };
}

function bump(m: Map<string, number>, k: string, n = 1): void {
  m.set(k, (m.get(k) ?? 0) + n);
}

/** The kind of a mutator note: its words without numbers ('packet 3 TCP seq 1->2' → 'TCP seq'). */
export function noteKind(note: string): string {
  return note.replace(/\(.*\)/g, '').replace(/\S*\d\S*/g, '').replace(/\s+/g, ' ').trim().split(' ').slice(0, 3).join(' ');
}

/** How a run ended, for the statistics. */
function outcomeOf(r: RunResult): string {
  if (r.error !== null) return r.error.replace(/^.*?: /, '').split(/[;:,(]/)[0].replace(/\d+/g, 'N').trim();
  return r.truncation !== null ? 'truncated' : r.totals.flows > 0 ? 'clean, flows' : 'clean, no flow';
}

/**
 * Iterations from, from + step, ... below `to`. `current` (if given) is told the
 * iteration being run, for a watchdog that cannot see inside a hung loop. A failing
 * case is tried again in `fresh` (a pipeline that shares no state between inputs).
 */
export async function runIterations(p: Pipeline, seeds: readonly Seed[], seed: number, from: number, to: number, step: number,
  onFailure: (f: Failure, input: Uint8Array) => void,
  opts: { stats?: Stats; current?: (iteration: number) => void; fresh?: Pipeline } = {}): Promise<Stats> {
  const stats = opts.stats ?? newStats();
  for (let i = from; i < to; i += step) {
    opts.current?.(i);
    const c = makeCase(seeds, seed, i);
    stats.iterations++;
    for (const n of c.notes) bump(stats.mutations, noteKind(n));
    const t0 = performance.now();
    try {
      const r = await runInput(p, `fuzz-${seed}-${i}`, c.input, c.config, c.oracle);
      bump(stats.outcomes, outcomeOf(r));
      stats.flows += r.totals.flows;
    } catch (e) {
      stats.failures++;
      const f = failureOf(c, e);
      if (opts.fresh !== undefined) {
        try {
          await runInput(opts.fresh, `fuzz-${seed}-${i}`, c.input, c.config, c.oracle);
          f.reproduced = false;
        } catch {
          f.reproduced = true;
        }
      }
      onFailure(f, c.input);
    }
    const ms = performance.now() - t0;
    if (ms > stats.slowestMs) { stats.slowestMs = ms; stats.slowestIteration = i; }
  }
  return stats;
}

function extensionOf(input: Uint8Array): string {
  const m = input.length >= 4 ? ((input[0] << 24) | (input[1] << 16) | (input[2] << 8) | input[3]) >>> 0 : 0;
  if (m === 0x0a0d0d0a) return '.pcapng';
  if ([0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1].includes(m)) return '.pcap';
  return '.bin';
}

/** Write the failing input and a description next to it; returns the input's path. */
export function saveFailure(dir: string, f: Failure, input: Uint8Array): string {
  fs.mkdirSync(dir, { recursive: true });
  const base = path.join(dir, `${f.seed}-${f.iteration}`);
  const file = base + extensionOf(input);
  fs.writeFileSync(file, input);
  fs.writeFileSync(base + '.json', JSON.stringify({
    seed: f.seed, iteration: f.iteration, from: f.seedName, property: f.property, message: f.message,
    mutations: f.notes, config: f.config, reproducedInFreshPipeline: f.reproduced,
    reproduce: `npm run fuzz -- --seed ${f.seed} --iteration ${f.iteration}`,
    replay: `npm run fuzz -- --replay ${file}`,
  }, null, 2) + '\n');
  return file;
}

/** Regression inputs: every file of the directory except the .json descriptions and README. */
export function regressionFiles(dir = REGRESSION_DIR): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir)
    .filter((f) => !f.endsWith('.json') && !f.endsWith('.md'))
    .sort()
    .map((f) => path.join(dir, f));
}

/**
 * Replay a saved input: under the settings it failed with (its .json, if any), the
 * default settings, and small chunks with -b and a small -m, each cross-checked sharded.
 */
export async function replay(p: Pipeline, file: string): Promise<void> {
  const input = new Uint8Array(fs.readFileSync(file));
  const configs: RunConfig[] = [];
  const desc = file.replace(/\.[^./]+$/, '.json');
  if (fs.existsSync(desc)) {
    const saved = (JSON.parse(fs.readFileSync(desc, 'utf8')) as { config?: RunConfig }).config;
    if (saved) configs.push({ ...DEFAULT_CONFIG, ...saved });
  }
  configs.push({ ...DEFAULT_CONFIG, crossShards: 3 });
  configs.push({ ...DEFAULT_CONFIG, chunk: 'small', maxBytes: 100, maxSeek: 1000, savedWindow: 3, md5: true, crossShards: 2, crossUneven: true, again: 'finish' });
  for (const cfg of configs) await runInput(p, path.basename(file), input, cfg, true);
}

/**
 * A generated seed, not mutated, must give exactly its known files: each direction's
 * stream (holes as zeros) under its ISN, and no other non-empty file.
 */
export function checkGenerated(r: RunResult, g: GeneratedSeed): string[] {
  const problems: string[] = [];
  const used = new Set<number>();
  for (const e of g.expected) {
    const idx = r.closed.findIndex((c, k) => !used.has(k) && c.flow.sport === e.sport && c.flow.dport === e.dport && (c.flow.isn >>> 0) === e.isn &&
      (e.vlan === undefined || c.flow.vlan === e.vlan));
    if (idx < 0) { problems.push(`${g.name}: no flow ${e.sport}>${e.dport} isn ${e.isn}${e.vlan !== undefined ? ` vlan ${e.vlan}` : ''}`); continue; }
    used.add(idx);
    const got = r.closed[idx].file.bytes();
    if (Buffer.compare(got, e.content) !== 0) {
      problems.push(`${g.name}: flow ${e.sport}>${e.dport} isn ${e.isn}: ${got.length} bytes, expected ${e.content.length}` +
        ` (first difference at ${firstDifference(got, e.content)})`);
    }
  }
  r.closed.forEach((c, k) => {
    if (!used.has(k) && c.file.length > 0) {
      problems.push(`${g.name}: unexpected file ${c.name} (${c.file.length} bytes, isn ${c.flow.isn >>> 0})`);
    }
  });
  return problems;
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

/** Every seed as it is: the properties hold, and generated seeds give their known files. */
export async function checkSeeds(p: Pipeline, seeds: readonly Seed[]): Promise<string[]> {
  const problems: string[] = [];
  for (const s of seeds) {
    try {
      const r = await runInput(p, s.name, s.bytes, { ...DEFAULT_CONFIG, crossShards: 3 }, s.generated !== null);
      if (s.generated !== null) problems.push(...checkGenerated(r, s.generated));
    } catch (e) {
      problems.push(`${s.name}: ${(e as Error).message}`);
    }
  }
  return problems;
}

export { FuzzFailure, Pipeline };
