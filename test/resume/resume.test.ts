/**
 * --resume on real captures (fixtures/corpus, six inputs): runs killed with SIGKILL at
 * chosen points (after an input's chunk was handed to the workers; after the workers
 * checkpointed an input but before the journal said so; twice in a row; from outside while
 * it runs), then run again with --resume, give exactly what the guarantee says: the output
 * of the run stopped at its last checkpoint, with the later inputs read by a new run into
 * the same directory (flow files with their bytes and mtimes, the report's fileobjects
 * byte for byte and in order, its totals, the JSON Lines report), with 1 and 2 workers,
 * -e md5 and -I. An uninterrupted --resume run is a plain run; a finished one is not redone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { CLI, makeTempDir, md5hex, PCAP_DIR, POOL_SIZE, removeDir, runCli, walkFiles } from '../helpers/corpus';
import { parseCommandLine } from '../../cli/options';
import { planRun } from '../../src/plan';

const INPUTS = [
  // IP fragments first: their counts must carry over a resumption too.
  path.join(PCAP_DIR, 'pcapplusplus__frag_http_req.pcap'),
  ...[1, 2, 3].map((i) => path.join(PCAP_DIR, `derived__tcpflow__jpegs__part${i}.pcap`)),
  ...[1, 2, 3].map((i) => path.join(PCAP_DIR, `derived__pcapplusplus__http-packets2__part${i}.pcap`)),
];
const OPTIONS = ['-e', 'md5', '-I'];
const JOURNAL = path.join('out', '.tcpflow-ts-resume', 'journal.json');

interface Report {
  files: string[];
  fileobjects: string;
  totals: Record<string, number>;
  jsonlFlows: string;
  jsonlSummary: Record<string, unknown>;
}

function files(out: string): string[] {
  return walkFiles(out).filter((f) => !f.rel.startsWith('.tcpflow-ts-resume/') && !/^report/.test(f.rel)).map((f) => {
    const st = fs.statSync(f.abs, { bigint: true });
    // -I indexes are not stamped: their time is when they were written.
    return `${f.rel} ${st.size} ${md5hex(fs.readFileSync(f.abs))} ${f.rel.endsWith('.findx') ? '' : st.mtimeNs / 1000n}`;
  });
}

const TOTALS = ['open_fds_at_end', 'max_open_flows', 'total_flows', 'flow_map_size', 'total_packets'];

function readReport(dir: string, xml: string, jsonl: string): Omit<Report, 'files'> {
  const text = fs.readFileSync(path.join(dir, xml), 'utf8');
  const start = text.indexOf('  <tdelta>');
  const fileobjects = text.slice(text.indexOf('  <configuration>\n', start) + 18, text.indexOf('  </configuration>\n', start));
  const totals: Record<string, number> = {};
  for (const t of TOTALS) totals[t] = Number(new RegExp(`<${t}>(\\d+)</${t}>`).exec(text)?.[1]);
  assert.ok(text.endsWith('</dfxml>\n'), `${xml} is complete`);
  const lines = fs.readFileSync(path.join(dir, jsonl), 'utf8').split('\n').filter((l) => l !== '');
  return {
    fileobjects,
    totals,
    jsonlFlows: lines.slice(0, -1).join('\n'),
    jsonlSummary: JSON.parse(lines[lines.length - 1]) as Record<string, unknown>,
  };
}

async function run(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return runCli(args, { cwd, env });
}

function inputArgs(inputs: readonly string[]): string[] {
  return inputs.flatMap((i) => ['-r', i]);
}

/**
 * The guarantee's reference: the inputs in segments [0, c1), [c1, c2), ... [ck, n), each read
 * by its own plain run into one directory; the report is the runs' records in turn, the
 * totals added up (the most open files: the largest; open at the end: the last run's).
 */
async function reference(cuts: readonly number[], workers: number): Promise<Report> {
  const tmp = makeTempDir('tcpflow-ts-resume-ref-');
  try {
    const bounds = [0, ...cuts, INPUTS.length];
    const parts: Omit<Report, 'files'>[] = [];
    for (let s = 0; s + 1 < bounds.length; s++) {
      if (bounds[s] === bounds[s + 1]) continue;
      const r = await run(['--workers', String(workers), ...OPTIONS, ...inputArgs(INPUTS.slice(bounds[s], bounds[s + 1])), '-o', 'out',
        '-X', `r${s}.xml`, '--jsonl', `r${s}.jsonl`], tmp);
      assert.equal(r.code, 0, r.stderr);
      parts.push(readReport(tmp, `r${s}.xml`, `r${s}.jsonl`));
    }
    const last = parts[parts.length - 1];
    const sum = (t: string) => parts.reduce((a, p) => a + p.totals[t], 0);
    const jsum = (t: string) => parts.reduce((a, p) => a + (p.jsonlSummary[t] as number), 0);
    return {
      files: files(path.join(tmp, 'out')),
      fileobjects: parts.map((p) => p.fileobjects).join(''),
      totals: {
        open_fds_at_end: last.totals.open_fds_at_end, max_open_flows: Math.max(...parts.map((p) => p.totals.max_open_flows)),
        total_flows: sum('total_flows'), flow_map_size: last.totals.flow_map_size, total_packets: sum('total_packets'),
      },
      jsonlFlows: parts.map((p) => p.jsonlFlows).filter((f) => f !== '').join('\n'),
      jsonlSummary: {
        ...last.jsonlSummary, total_flows: jsum('total_flows'), total_packets: jsum('total_packets'), flows_purged: jsum('flows_purged'),
        max_open_flows: Math.max(...parts.map((p) => p.jsonlSummary.max_open_flows as number)),
        ...fragmentSum(parts.map((p) => p.jsonlSummary)),
      },
    };
  } finally {
    removeDir(tmp);
  }
}

/** The runs' ip_fragments counts added up (absent when no run had fragments). */
function fragmentSum(summaries: readonly Record<string, unknown>[]): { ip_fragments?: Record<string, number> } {
  const all = summaries.map((s) => s.ip_fragments as Record<string, number> | undefined).filter((f) => f !== undefined);
  if (all.length === 0) return {};
  const sum: Record<string, number> = {};
  for (const f of all) for (const [k, v] of Object.entries(f)) sum[k] = (sum[k] ?? 0) + v;
  return { ip_fragments: sum };
}

function resumedReport(tmp: string): Report {
  return { files: files(path.join(tmp, 'out')), ...readReport(tmp, 'out/report.xml', 'flows.jsonl') };
}

function journal(tmp: string): { inputsDone: number; finished: boolean } {
  return JSON.parse(fs.readFileSync(path.join(tmp, JOURNAL), 'utf8')) as { inputsDone: number; finished: boolean };
}

function assertSame(actual: Report, expected: Report, what: string): void {
  assert.deepEqual(actual.files, expected.files, `${what}: flow files and -I indexes (path, size, md5, mtime)`);
  assert.equal(actual.fileobjects, expected.fileobjects, `${what}: the report's fileobjects, in order`);
  assert.deepEqual(actual.totals, expected.totals, `${what}: the report's totals`);
  assert.equal(actual.jsonlFlows, expected.jsonlFlows, `${what}: the JSON Lines records`);
  assert.deepEqual(actual.jsonlSummary, expected.jsonlSummary, `${what}: the JSON Lines summary`);
}

/** Records (packets) in the first `n` inputs: little-endian microsecond pcaps, as these fixtures are. */
function packetsBefore(n: number): number {
  let total = 0;
  for (const input of INPUTS.slice(0, n)) {
    const b = fs.readFileSync(input);
    assert.equal(b.readUInt32LE(0), 0xa1b2c3d4, input);
    for (let off = 24; off + 16 <= b.length; off += 16 + b.readUInt32LE(off + 8)) total++;
  }
  return total;
}

/** Kill points: [environment of the killed run, what it stops at]. */
type Kill = Record<string, string>;

async function killedThenResumed(kills: readonly Kill[], workers: number): Promise<{ report: Report; cuts: number[] }> {
  const tmp = makeTempDir('tcpflow-ts-resume-');
  try {
    const args = ['--resume', '--workers', String(workers), ...OPTIONS, ...inputArgs(INPUTS), '-o', 'out', '--jsonl', 'flows.jsonl'];
    const cuts: number[] = [];
    for (const env of kills) {
      const r = await run(args, tmp, env);
      assert.equal(r.signal, 'SIGKILL', `killed (${JSON.stringify(env)}): ${r.stderr}`);
      const j = journal(tmp);
      assert.equal(j.finished, false);
      cuts.push(j.inputsDone);
    }
    const r = await run(args, tmp);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /--resume: going on from input \d+ \(attempt \d+\)/);
    assert.equal(journal(tmp).finished, true);
    assert.deepEqual(fs.readdirSync(path.join(tmp, 'out', '.tcpflow-ts-resume')), ['journal.json'], 'only the journal is left');
    assert.deepEqual(fs.readdirSync(path.join(tmp, 'out')).filter((f) => f.includes('.part')), [], 'no spill file is left');
    return { report: resumedReport(tmp), cuts: [...new Set(cuts)] };
  } finally {
    removeDir(tmp);
  }
}

test('--resume after SIGKILL: the stopped run up to its last checkpoint, then the rest as a new run', { concurrency: POOL_SIZE }, async (t) => {
  const at = [1, 2, 4].map(packetsBefore);
  const cases: { name: string; kills: Kill[]; expect: number[] }[] = [
    // Killed right after the chunk of input 2, 3 or 5 went to the workers: the journal says 1, 2 or 4 inputs are done.
    { name: 'killed in input 2', kills: [{ TCPFLOW_TS_TEST_KILL_AT_PACKET: String(at[0] + 1) }], expect: [1] },
    { name: 'killed in input 5', kills: [{ TCPFLOW_TS_TEST_KILL_AT_PACKET: String(at[2] + 1) }], expect: [4] },
    // Input 3 fully processed (flows written on, files created, records spilled), the journal still at 2.
    { name: 'killed before the journal says input 3 is done', kills: [{ TCPFLOW_TS_TEST_KILL_AT_CHECKPOINT: '3' }], expect: [2] },
    { name: 'killed in input 1: nothing done yet', kills: [{ TCPFLOW_TS_TEST_KILL_AT_PACKET: '1' }], expect: [0] },
    {
      name: 'killed twice', expect: [1, 4],
      kills: [{ TCPFLOW_TS_TEST_KILL_AT_CHECKPOINT: '2' }, { TCPFLOW_TS_TEST_KILL_AT_CHECKPOINT: '5' }],
    },
  ];
  await Promise.all(cases.flatMap((c) => [1, 2].map((workers) => t.test(`${c.name}, ${workers} worker${workers > 1 ? 's' : ''}`, async () => {
    const { report, cuts } = await killedThenResumed(c.kills, workers);
    assert.deepEqual(cuts, c.expect, 'inputs done when killed');
    assertSame(report, await reference(cuts.filter((x) => x > 0), workers), c.name);
  }))));
});

test('--resume without a stop is a plain run; a finished run is not redone; another run\'s journal is refused', async () => {
  const tmp = makeTempDir('tcpflow-ts-resume-plain-');
  try {
    const args = [...OPTIONS, ...inputArgs(INPUTS), '-o', 'out', '--jsonl', 'flows.jsonl'];
    const r = await run(['--resume', ...args], tmp);
    assert.equal(r.code, 0, r.stderr);
    const resumed = resumedReport(tmp);
    assertSame(resumed, await reference([], 2), 'uninterrupted --resume');
    const again = await run(['--resume', ...args], tmp);
    assert.equal(again.code, 0);
    assert.match(again.stderr, /--resume: the journal in out\/.tcpflow-ts-resume says this run finished: nothing to do/);
    assert.deepEqual(resumedReport(tmp), resumed, 'nothing changed');
    const other = await run(['--resume', '-b', '10', ...args], tmp);
    assert.equal(other.code, 2);
    assert.match(other.stderr, /--resume: .*journal.json: made by another run/);
  } finally {
    removeDir(tmp);
  }
});

test('--resume killed from outside while it runs', async () => {
  const tmp = makeTempDir('tcpflow-ts-resume-kill-');
  try {
    // The six inputs four times over: a run long enough to be killed in the middle.
    const many = [...INPUTS, ...INPUTS, ...INPUTS, ...INPUTS];
    const args = ['--resume', '--workers', '2', ...OPTIONS, ...inputArgs(many), '-o', 'out', '--jsonl', 'flows.jsonl'];
    const child = spawn(process.execPath, [CLI, ...args], { cwd: tmp, stdio: 'ignore' });
    const exited = new Promise<string | null>((resolve) => child.on('exit', (_c, s) => resolve(s)));
    // Killed once the journal says an input is done (or the run ends first: then it is a plain run).
    for (let i = 0; i < 2000 && child.exitCode === null; i++) {
      try { if (journal(tmp).inputsDone >= 1) break; } catch { /* no journal yet */ }
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill('SIGKILL');
    const signal = await exited;
    const cut = signal === 'SIGKILL' ? journal(tmp).inputsDone : many.length;
    const r = await run(args, tmp);
    assert.equal(r.code, 0, r.stderr);
    // The reference, for these inputs: a run of the first `cut` and one of the rest.
    const ref = makeTempDir('tcpflow-ts-resume-kill-ref-');
    try {
      const parts = [many.slice(0, cut), many.slice(cut)].filter((p) => p.length > 0);
      for (const [s, part] of parts.entries()) {
        const p = await run(['--workers', '2', ...OPTIONS, ...inputArgs(part), '-o', 'out', '-X', `r${s}.xml`, '--jsonl', `r${s}.jsonl`], ref);
        assert.equal(p.code, 0, p.stderr);
      }
      const got = resumedReport(tmp);
      assert.deepEqual(got.files, files(path.join(ref, 'out')), `killed after ${cut} inputs: flow files`);
      const expected = parts.map((_, s) => readReport(ref, `r${s}.xml`, `r${s}.jsonl`));
      assert.equal(got.fileobjects, expected.map((e) => e.fileobjects).join(''), 'fileobjects');
      assert.equal(got.jsonlFlows, expected.map((e) => e.jsonlFlows).join('\n'), 'JSON Lines records');
    } finally {
      removeDir(ref);
    }
  } finally {
    removeDir(tmp);
  }
});

test('--resume refuses what it cannot take back', () => {
  for (const [extra, message] of [
    [['-c'], /console output/],
    [['-K'], /-K/],
    [['-w', 'u.pcap'], /-w/],
  ] as [string[], RegExp][]) {
    const cmd = parseCommandLine(['--resume', '-r', INPUTS[0], ...extra], {});
    assert.ok(cmd.kind === 'run');
    assert.throws(() => planRun(cmd.options, 1024), (e: Error & { exitCode?: number }) => message.test(e.message) && e.exitCode === 2, extra.join(' '));
  }
  const stdin = parseCommandLine(['--resume', '-r', '-'], {});
  assert.ok(stdin.kind === 'run');
  assert.throws(() => planRun(stdin.options, 1024), /standard input/);
});
