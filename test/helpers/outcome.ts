/**
 * A run's whole outcome, for tests that compare runs (--workers 1, 2, 4 and the like):
 * exit status, every output file (path, size, md5, mtime), the report's records verbatim
 * and in order, its totals.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTempDir, md5hex, removeDir, runCli, type RunResult, walkFiles } from './corpus';

const RUN_TIMEOUT_MS = 120_000;

export interface Outcome {
  exit: number | null;
  stderr: string;
  /** Every output file: path, size, md5, mtime (packet time). */
  files: string[];
  /** The report's fileobjects, verbatim and in order. */
  records: string;
  summary: Record<string, string>;
  purged: string | null;
  maxrssKb: number;
}

/**
 * A run of `args -r capture -o out` in a directory of its own (report file names are the
 * same for every run), and what it left: for comparing runs whose output must be identical.
 */
export async function runOutcome(capture: string, args: string[]): Promise<Outcome> {
  const tmp = makeTempDir('tcpflow-ts-flowcap-');
  try {
    // Relative -o in a directory of its own: report file names are the same for every run.
    const run: RunResult = await runCli([...args, '-r', capture, '-o', 'out'], { cwd: tmp, timeoutMs: RUN_TIMEOUT_MS });
    assert.ok(!run.timedOut, `${args.join(' ')}: no exit within ${RUN_TIMEOUT_MS / 1000} s`);
    const out = path.join(tmp, 'out');
    const files = walkFiles(out).filter((f) => f.rel !== 'report.xml').map((f) => {
      const st = fs.statSync(f.abs, { bigint: true });
      return `${f.rel} ${st.size} ${md5hex(fs.readFileSync(f.abs))} ${st.mtimeNs / 1000n}`;
    }).sort();
    const report = fs.readFileSync(path.join(out, 'report.xml'), 'latin1');
    // Complete, and the count (if any) right after <total_packets> in the summary.
    assert.ok(report.endsWith('</rusage>\n</dfxml>\n'), 'a complete report');
    assert.match(report, /<\/total_packets>\n {2}(<flows_purged [^\n]*\n {2})?(<flows_timed_out [^\n]*\n {2})?<rusage>/);
    const second = report.indexOf('<configuration>', report.indexOf('<tdelta>'));
    const end = report.lastIndexOf('</configuration>');
    const summary: Record<string, string> = {};
    for (const k of ['total_flows', 'flow_map_size', 'total_packets']) {
      summary[k] = new RegExp(`<${k}>(\\d+)</${k}>`).exec(report)?.[1] ?? '(absent)';
    }
    // -S tcp_timeout only.
    const idle = /<flows_timed_out tcp_timeout="\d+">(\d+)<\/flows_timed_out>/.exec(report);
    if (idle !== null) summary.flows_timed_out = idle[1];
    const purged = /<flows_purged reason="max_flows" max_flows="\d+">(\d+)<\/flows_purged>/.exec(report);
    return {
      exit: run.code,
      stderr: run.stderr,
      files,
      records: report.slice(second, end),
      summary,
      purged: purged === null ? (report.includes('flows_purged') ? 'malformed' : null) : purged[1],
      maxrssKb: Number(/<maxrss>(\d+)<\/maxrss>/.exec(report)?.[1]),
    };
  } finally {
    removeDir(tmp);
  }
}

/** Runs with --workers 2 and 4 (`rest`) against --workers 1 (`base`): the same exit status, files, records and their order, totals. */
export function assertSameOutcomes(base: Outcome, rest: readonly Outcome[]): void {
  rest.forEach((o, i) => {
    const what = `--workers ${[2, 4][i]} vs --workers 1`;
    assert.equal(o.exit, base.exit, `${what}: exit status\n${o.stderr}`);
    assert.deepEqual(o.files, base.files, `${what}: output files (path, size, md5, mtime)`);
    assert.equal(o.records, base.records, `${what}: report records and their order`);
    assert.deepEqual(o.summary, base.summary, `${what}: report totals`);
    assert.equal(o.purged, base.purged, `${what}: flows_purged`);
  });
}
