/**
 * Conformance: every oracle case of fixtures/corpus/expected in the modes the CLI
 * implements is run with the compiled CLI and compared with what the oracle tcpflow wrote,
 * the way ../shared/tools/oracle-compare --mtime compares (see test/helpers/corpus.ts):
 * exit status, file list, size, md5 and packet-time mtime of every file, console output,
 * report.xml's normalised flows and totals.
 *
 * A case covered by entries of test/oracle/deviations.json is judged as oracle-compare
 * judges it (test/helpers/deviations.ts): an entry of a row with a narrow effect (B5, B6,
 * B7, B9, B10, B11, B35) forgives only the differences that row causes, an entry of any
 * other row forgives the whole case, and whatever is not forgiven fails. A deviation must
 * still be a clean run: exit status the oracle's or 0/1, no stack trace, a well-formed report
 * where the oracle wrote one. An entry that covers cases run here but forgives nothing in
 * them is stale and fails the last subtest (oracle-compare's STALE-DEVIATION).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  assertWellFormedXml,
  checkInputs,
  collectResult,
  CORPUS_DIR,
  CORPUS_MODES,
  diffResults,
  loadCases,
  makeTempDir,
  OracleCase,
  PCAP_DIR,
  POOL_SIZE,
  Reason,
  removeDir,
  REPORT,
  runCli,
  stackFrames,
  substArgs,
} from '../helpers/corpus';
import { Deviation, deviationMatches, judgeCase, loadDeviations } from '../helpers/deviations';

const CASE_TIMEOUT_MS = 60_000;
const MAX_REASONS_SHOWN = 8;

const cases = loadCases(CORPUS_MODES);
const deviations = loadDeviations();
/** Per deviations entry: covered cases run here, and how many differences it forgave in them. */
const tally = new Map<Deviation, { run: number; forgave: number }>(deviations.map((d) => [d, { run: 0, forgave: 0 }]));

function listed(reasons: readonly Reason[]): string {
  const shown = reasons.slice(0, MAX_REASONS_SHOWN).map((r) => r.text);
  const more = reasons.length > shown.length ? `\n  (+${reasons.length - shown.length} more)` : '';
  return `  ${shown.join('\n  ')}${more}`;
}

async function checkCase(c: OracleCase, t: { diagnostic(msg: string): void }): Promise<void> {
  const inputProblems = checkInputs(c);
  assert.deepEqual(inputProblems, [], `${c.file}: the captures in fixtures/corpus/pcaps are not the oracle's (rerun scripts/copy-corpus.sh)`);

  const tmp = makeTempDir('tcpflow-ts-corpus-');
  try {
    const out = path.join(tmp, 'out');
    const args = substArgs(c, out);
    const run = await runCli(args, { timeoutMs: CASE_TIMEOUT_MS });
    const cmd = `tcpflow-ts ${args.join(' ')}`;
    assert.ok(!run.timedOut, `${cmd}: no exit within ${CASE_TIMEOUT_MS / 1000} s`);
    const act = collectResult(out, run, { stdout: c.stdout !== undefined });
    const reasons = diffResults(c, act, { mtime: true });
    const covering = deviations.filter((d) => deviationMatches(d, c));
    for (const d of covering) tally.get(d)!.run++;
    if (reasons.length === 0) return;

    const tail = run.stderr.trimEnd().split('\n').slice(-5).map((l) => `  | ${l}`).join('\n');
    const context = `command: ${cmd}\nstderr (last lines):\n${tail}`;
    if (covering.length === 0) assert.fail(`${c.capture} ${c.mode} differs from the oracle:\n${listed(reasons)}\n${context}`);

    const j = judgeCase(c, act, reasons, covering, { mtime: true });
    for (const [d, n] of j.credit) tally.get(d)!.forgave += n;
    if (j.unforgiven.length) {
      const notes = [j.forgiven ? `+${j.forgiven} forgiven by ${j.rows.join(',')}` : '', j.hint ?? ''].filter(Boolean);
      assert.fail(`${c.capture} ${c.mode} differs from the oracle beyond its deviations entries` +
        `${notes.length ? ` (${notes.join('; ')})` : ''}:\n${listed(j.unforgiven)}\n${context}`);
    }
    t.diagnostic(`DEVIATION ${j.rows.join(',')} ${c.capture} ${c.mode}: ${reasons[0].text}`);
    // A deliberate difference still has to be a clean run.
    const allowed = new Set([c.exit_code, 0, 1]);
    assert.ok(allowed.has(act.exit_code) && act.signal === null,
      `${cmd}: exit status ${act.exit_code ?? act.signal}, expected ${[...allowed].join(' or ')}\n${run.stderr}`);
    assert.deepEqual(stackFrames(run.stderr), [], `${cmd}: stack trace on stderr:\n${run.stderr}`);
    if (c.report !== null) assert.ok(act.reportText !== null, `${cmd}: no ${REPORT} written`);
    if (act.reportText !== null) {
      assert.doesNotThrow(() => assertWellFormedXml(act.reportText!), `${cmd}: ${REPORT} is not well-formed`);
    }
  } finally {
    removeDir(tmp);
  }
}

test(`oracle corpus (modes ${CORPUS_MODES.join(', ')})`, { concurrency: POOL_SIZE }, async (t) => {
  const byMode = new Map<string, number>();
  for (const c of cases) byMode.set(c.mode, (byMode.get(c.mode) ?? 0) + 1);
  for (const m of CORPUS_MODES) {
    assert.ok((byMode.get(m) ?? 0) > 0, `no oracle case of mode ${m} in fixtures/corpus/expected (run scripts/copy-corpus.sh)`);
  }

  await Promise.all(cases.map((c) => t.test(`${c.capture} ${c.mode}`, (st) => checkCase(c, st))));

  await t.test('deviations.json has no stale entries', () => {
    const stale = deviations.filter((d) => tally.get(d)!.run > 0 && tally.get(d)!.forgave === 0);
    assert.deepEqual(stale.map((d) => `STALE-DEVIATION ${d.spec} ${d.capture} ${d.mode}`), [],
      'these entries of test/oracle/deviations.json cover cases run here but forgive no difference in them: ' +
      'either the implementation now matches tcpflow there (remove the entry) or the row cited does not ' +
      'explain the difference (correct the row)');
  });
});

test('fixtures/corpus names the origin of its captures', () => {
  const origin = fs.readFileSync(path.join(CORPUS_DIR, 'ORIGIN.md'), 'utf8');
  for (const f of fs.readdirSync(PCAP_DIR)) {
    assert.ok(origin.includes(f) || origin.includes(f.replace(/\.[^.]+$/, '')), `${f} is not described in fixtures/corpus/ORIGIN.md`);
  }
});
