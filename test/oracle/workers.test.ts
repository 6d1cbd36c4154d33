/**
 * Same input → same output, whatever --workers: every capture of fixtures/corpus/pcaps (and
 * the VLAN captures of fixtures/pcaps: one 4-tuple on several VLANs, tagged and not) is
 * run with `-a -S hash=sha256 -e js -S js_module=examples/tls-sni.js -r CAPTURE -o OUT -w W
 * --jsonl J` (every scanner: md5, http bodies, and SHA-256 digests, netviz's report.svg and report.html
 * with SOURCE_DATE_EPOCH fixing their date, the example plugin's results) and --workers
 * 1, 2 and 4. Everything a
 * run leaves must be the same for the three: the exit status, stderr (the temporary
 * directory's name aside), the output files (path, size, md5, and the modification time set
 * from packet times), report.xml (normalised flows with their hashes, the order of the
 * fileobjects, and every total and counter of its summary but rusage), the JSON Lines report
 * byte for byte (output directory aside), which must also say what report.xml says, record
 * for record, and the -w file (which must also be tcpflow's, byte for byte, where tcpflow
 * can write one).
 *
 * The same comparison between the hosts (src/shard/host-choice.ts): without --workers, a
 * small input runs its worker sessions in the main thread; with --workers 2, in threads;
 * a large one runs its last session in the main thread beside threads, with a smaller
 * share of the flow buckets (forced here for small captures with TCPFLOW_TS_TEST_HOST:
 * 2 threads and a session owning 0.3 of a thread's share). All without the js plugin,
 * which always runs in threads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  collectResult,
  FlowRecord,
  makeTempDir,
  PCAP_DIR,
  POOL_SIZE,
  removeDir,
  REPO_ROOT,
  runCli,
  md5hex,
} from '../helpers/corpus';
import { fx } from '../helpers/capture';
import { checkJsonlMatchesReport, readJsonl, reportCounters } from '../helpers/jsonl';
import { TCPFLOW_PCAP_OUTPUTS, UNPROCESSED_FIXED } from '../helpers/pcap-tools';

const WORKER_COUNTS = [1, 2, 4];
const PLUGIN = path.join(REPO_ROOT, 'examples', 'tls-sni.js');
const RUN_TIMEOUT_MS = 60_000;
/** The report's run summary, each element once at most; rusage and clocktime are run-dependent. */
const TOTALS = ['error', 'open_fds_at_end', 'max_open_flows', 'total_flows', 'flow_map_size', 'total_packets', 'flows_purged'];

/** Capture name -> path. */
const capturePaths = new Map([
  ...fs.readdirSync(PCAP_DIR).filter((f) => fs.statSync(path.join(PCAP_DIR, f)).isFile()).sort()
    .map((f): [string, string] => [f, path.join(PCAP_DIR, f)]),
  ...['vlan-same-tuple.pcap', 'vlan-span.pcap'].map((f): [string, string] => [f, fx(f)]),
]);
const captures = [...capturePaths.keys()];

interface Outcome {
  exit: string;
  stderr: string;
  files: { path: string; size?: number; md5?: string; mtime_us?: number | null }[];
  flows: FlowRecord[];
  order: string[];
  totals: Record<string, string> | null;
  /** The JSON Lines report, with the output directory as OUT. */
  jsonl: string;
  /** md5 of the -w file. */
  unprocessed: string;
}

/** The named summary elements of a report: attributes and text, as written; absent ones left out. */
function summaryElements(xml: string, names: readonly string[]): Record<string, string> {
  const found: Record<string, string> = {};
  for (const name of names) {
    const m = new RegExp(`<${name}(\\s[^>]*)?>([^<]*)</${name}>`).exec(xml);
    if (m) found[name] = `${(m[1] ?? '').trim()} ${m[2]}`.trim();
  }
  return found;
}

const PLUGIN_ARGS = ['-e', 'js', '-S', `js_module=${PLUGIN}`];

/**
 * A run of `capture` with every scanner; `host`: --workers N (threads), or none (a small
 * input: the main thread); `env`: more of the run's environment.
 */
async function runWith(capture: string, host: string[], plugin = PLUGIN_ARGS, env: Record<string, string> = {}): Promise<Outcome> {
  const tmp = makeTempDir('tcpflow-ts-workers-');
  try {
    const out = path.join(tmp, 'out');
    const wfile = path.join(tmp, 'w.pcap');
    const jsonl = path.join(tmp, 'r.jsonl');
    const args = [...host, '-a', '-S', 'hash=sha256', ...plugin,
      '-r', capturePaths.get(capture) as string, '-o', out, '-w', wfile, '--jsonl', jsonl];
    const run = await runCli(args, { timeoutMs: RUN_TIMEOUT_MS, env: { SOURCE_DATE_EPOCH: '1700000000', ...env } });
    assert.ok(!run.timedOut, `tcpflow-ts ${args.join(' ')}: no exit within ${RUN_TIMEOUT_MS / 1000} s`);
    const act = collectResult(out, run, { keepOrder: true });
    const label = (f: FlowRecord) =>
      f.filename || `(no file: ${f.tcpflow?.src_ipn}:${f.tcpflow?.srcport}->${f.tcpflow?.dst_ipn}:${f.tcpflow?.dstport} ${f.tcpflow?.startime})`;
    const flows = act.report ? [...act.report.flows] : [];
    const order = flows.map(label);
    flows.sort((a, b) => {
      const ka = `${label(a)}\u0000${JSON.stringify(a)}`;
      const kb = `${label(b)}\u0000${JSON.stringify(b)}`;
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
    const xml = act.reportText?.toString('utf8') ?? null;
    if (act.report !== null && xml !== null) {
      checkJsonlMatchesReport(readJsonl(jsonl), act.report.flows, reportCounters(xml), out, `${capture} ${host.join(' ')}`);
    }
    return {
      exit: run.signal ? `signal ${run.signal}` : String(run.code),
      stderr: run.stderr.split(tmp).join('<tmp>'),
      files: act.files.filter((f) => !f.volatile).map(({ path: p, size, md5, mtime_us }) => ({ path: p, size, md5, mtime_us })),
      flows,
      order,
      totals: xml === null ? null : summaryElements(xml, TOTALS),
      jsonl: fs.existsSync(jsonl) ? fs.readFileSync(jsonl, 'utf8').split(`${out}/`).join('OUT/') : '(none)',
      unprocessed: fs.existsSync(wfile) ? md5hex(fs.readFileSync(wfile)) : '(none)',
    };
  } finally {
    removeDir(tmp);
  }
}

function assertSameOutcome(o: Outcome, base: Outcome, name: string, baseName: string): void {
  const what = `${name} vs ${baseName}`;
  assert.equal(o.exit, base.exit, `${what}: exit status\n${baseName} stderr:\n${base.stderr}${name} stderr:\n${o.stderr}`);
  assert.equal(o.stderr, base.stderr, `${what}: stderr`);
  assert.deepEqual(o.files, base.files, `${what}: output files (path, size, md5, mtime)`);
  assert.deepEqual(o.flows, base.flows, `${what}: report.xml flows`);
  assert.deepEqual(o.totals, base.totals, `${what}: report.xml totals`);
  assert.deepEqual(o.order, base.order, `${what}: order of the report's fileobjects`);
  assert.equal(o.jsonl, base.jsonl, `${what}: the JSON Lines report`);
  assert.equal(o.unprocessed, base.unprocessed, `${what}: -w file`);
}

test('output does not depend on --workers (1, 2, 4; -a, sha256, js plugin)', { concurrency: POOL_SIZE }, async (t) => {
  assert.ok(captures.length > 2, 'no captures in fixtures/corpus/pcaps (run scripts/copy-corpus.sh)');
  await Promise.all(captures.map((capture) => t.test(capture, async () => {
    const outcomes: Outcome[] = [];
    for (const w of WORKER_COUNTS) outcomes.push(await runWith(capture, ['--workers', String(w)]));
    const [base, ...rest] = outcomes;
    rest.forEach((o, i) => assertSameOutcome(o, base, `--workers ${WORKER_COUNTS[i + 1]}`, `--workers ${WORKER_COUNTS[0]}`));
    // The same runs check -w against tcpflow 1.6.1, byte for byte; test/output/unprocessed.test.ts
    // checks the records of the others (tcpflow aborts, or a fix changes what is written).
    const recorded = TCPFLOW_PCAP_OUTPUTS.captures[capture]?.w;
    if (recorded !== undefined && recorded !== 'aborted' && UNPROCESSED_FIXED[capture] === undefined) {
      assert.equal(base.unprocessed, recorded, '-w file: md5 of tcpflow\'s');
    }
  })));
});

test('output does not depend on the host: worker sessions in the main thread (small input) = in threads (--workers 2) = one in the main thread beside threads, owning less', { concurrency: POOL_SIZE }, async (t) => {
  await Promise.all(captures.map((capture) => t.test(capture, async () => {
    const threads = await runWith(capture, ['--workers', '2'], []);
    const inProcess = await runWith(capture, [], []);
    assertSameOutcome(inProcess, threads, 'the main thread', 'threads');
    const mixed = await runWith(capture, ['--workers', '3'], [], { TCPFLOW_TS_TEST_HOST: 'mixed:0.3' });
    assertSameOutcome(mixed, threads, 'the main thread beside threads', 'threads');
  })));
});
