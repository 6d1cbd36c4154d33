/**
 * Conformance: every oracle case of fixtures/corpus/expected in the modes default, md5,
 * multi and continue is run with the compiled CLI and compared with what the oracle
 * tcpflow wrote, the way ../shared/tools/oracle-compare --mtime compares (see
 * test/helpers/corpus.ts): exit status, file list, size, md5 and packet-time mtime of
 * every file, report.xml's normalised flows and totals.
 *
 * A case covered by an entry of test/oracle/deviations.json (capture or "*", mode or "*")
 * is a deliberate difference: it is not held to the oracle, but it must still end with the
 * oracle's exit status or 0/1, write a well-formed report and print no stack trace. An
 * entry that covers cases of these modes none of which differs from the oracle any more
 * is stale and fails the last subtest (oracle-compare's STALE-DEVIATION).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { create } from 'xmlbuilder2';
import {
  assertWellFormedXml,
  checkInputs,
  collectResult,
  CORPUS_DIR,
  compareResults,
  CORPUS_MODES,
  Deviation,
  deviationMatches,
  loadCases,
  loadDeviations,
  makeTempDir,
  OracleCase,
  PCAP_DIR,
  POOL_SIZE,
  removeDir,
  REPORT,
  runCli,
  stackFrames,
  substArgs,
} from '../helpers/corpus';

const CASE_TIMEOUT_MS = 60_000;
const MAX_REASONS_SHOWN = 8;

const cases = loadCases(CORPUS_MODES);
const deviations = loadDeviations();
/** Per deviations entry: covered cases run here, and how many of them differed. */
const coverage = new Map<Deviation, { run: number; differed: number }>(deviations.map((d) => [d, { run: 0, differed: 0 }]));

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
    const act = collectResult(out, run);
    const reasons = compareResults(c, act, { mtime: true });
    const covering = deviations.filter((d) => deviationMatches(d, c));
    for (const d of covering) {
      const s = coverage.get(d)!;
      s.run++;
      if (reasons.length) s.differed++;
    }

    if (covering.length === 0) {
      if (reasons.length) {
        const shown = reasons.slice(0, MAX_REASONS_SHOWN);
        const more = reasons.length > shown.length ? `\n  (+${reasons.length - shown.length} more)` : '';
        const tail = run.stderr.trimEnd().split('\n').slice(-5).map((l) => `  | ${l}`).join('\n');
        assert.fail(`${c.capture} ${c.mode} differs from the oracle:\n  ${shown.join('\n  ')}${more}\n` +
          `command: ${cmd}\nstderr (last lines):\n${tail}`);
      }
      return;
    }

    const specs = [...new Set(covering.map((d) => d.spec))].join(',');
    if (reasons.length === 0) {
      // A pass, as in oracle-compare; an entry is stale when none of its cases differs (below).
      if (covering.some((d) => d.capture !== '*')) t.diagnostic(`covered by deviation ${specs} but matches the oracle`);
      return;
    }
    t.diagnostic(`DEVIATION ${specs} ${c.capture} ${c.mode}: ${reasons[0]}`);
    // A deliberate difference still has to be a clean run.
    const allowed = new Set([c.exit_code, 0, 1]);
    assert.ok(allowed.has(act.exit_code) && act.signal === null,
      `${cmd}: exit status ${act.exit_code ?? act.signal}, expected ${[...allowed].join(' or ')}\n${run.stderr}`);
    assert.deepEqual(stackFrames(run.stderr), [], `${cmd}: stack trace on stderr:\n${run.stderr}`);
    assert.ok(act.reportText !== null, `${cmd}: no ${REPORT} written`);
    assert.doesNotThrow(() => assertWellFormedXml(act.reportText!), `${cmd}: ${REPORT} is not well-formed`);
    assert.doesNotThrow(() => create(act.reportText!.toString('utf8')), `${cmd}: xmlbuilder2 cannot parse ${REPORT}`);
    assert.ok(act.report?.root === 'dfxml', `${cmd}: ${REPORT} has no <dfxml> element`);
  } finally {
    removeDir(tmp);
  }
}

test('oracle corpus (modes default, md5, multi, continue)', { concurrency: POOL_SIZE }, async (t) => {
  const byMode = new Map<string, number>();
  for (const c of cases) byMode.set(c.mode, (byMode.get(c.mode) ?? 0) + 1);
  for (const m of CORPUS_MODES) {
    assert.ok((byMode.get(m) ?? 0) > 0, `no oracle case of mode ${m} in fixtures/corpus/expected (run scripts/copy-corpus.sh)`);
  }

  await Promise.all(cases.map((c) => t.test(`${c.capture} ${c.mode}`, (st) => checkCase(c, st))));

  await t.test('deviations.json has no stale entries', () => {
    const stale = deviations.filter((d) => {
      const s = coverage.get(d)!;
      return s.run > 0 && s.differed === 0;
    });
    assert.deepEqual(stale.map((d) => `STALE-DEVIATION ${d.spec} ${d.capture} ${d.mode}`), [],
      'these entries of test/oracle/deviations.json cover cases that no longer differ from the oracle: ' +
      'the implementation now matches tcpflow there, remove them from test/oracle/deviations.json');
  });
});

test('fixtures/corpus names the origin of its captures', () => {
  const origin = fs.readFileSync(path.join(CORPUS_DIR, 'ORIGIN.md'), 'utf8');
  for (const f of fs.readdirSync(PCAP_DIR)) {
    assert.ok(origin.includes(f) || origin.includes(f.replace(/\.[^.]+$/, '')), `${f} is not described in fixtures/corpus/ORIGIN.md`);
  }
});
