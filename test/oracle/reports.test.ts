/**
 * The report seam through the CLI: the JSON Lines report (--jsonl) carries the same records,
 * in the same order, as report.xml, in every output mode (test/oracle/workers.test.ts checks
 * it on every corpus capture, for --workers 1, 2 and 4); names that different connections
 * can share (`-T %A`, `-T %t-%#`) are tcpflow's for any worker count, run after run;
 * <max_open_flows> is the true maximum of flow files open at once, whatever --workers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { collectResult, FlowRecord, makeTempDir, md5hex, PCAP_DIR, removeDir, runCli, walkFiles } from '../helpers/corpus';
import { checkJsonlMatchesReport, JsonLine, readJsonl, reportCounters } from '../helpers/jsonl';

const RUN_TIMEOUT_MS = 60_000;

interface JsonlRun {
  code: number | null;
  stderr: string;
  lines: JsonLine[];
  flows: FlowRecord[];
  counters: Record<string, number>;
  files: number;
}

async function runJsonl(args: string[], tmp: string, tag: string): Promise<JsonlRun> {
  const out = path.join(tmp, tag);
  const jsonl = path.join(tmp, `${tag}.jsonl`);
  const run = await runCli([...args, '-o', out, '--jsonl', jsonl], { timeoutMs: RUN_TIMEOUT_MS });
  assert.ok(!run.timedOut, `${args.join(' ')}: no exit`);
  const act = collectResult(out, run, { keepOrder: true });
  const lines = readJsonl(jsonl);
  const counters = reportCounters(act.reportText?.toString('utf8') ?? '');
  const flows = act.report?.flows ?? [];
  if (act.report !== null) checkJsonlMatchesReport(lines, flows, counters, out, `${args.join(' ')}`);
  const files = fs.existsSync(out) ? walkFiles(out).filter((f) => f.rel !== 'report.xml').length : 0;
  return { code: run.code, stderr: run.stderr, lines, flows, counters, files };
}

test('--jsonl works with -FX (records without file names) and -X (the DFXML elsewhere); console mode ignores it with a warning', async () => {
  const tmp = makeTempDir('tcpflow-ts-jsonl-');
  try {
    const pcap = path.join(PCAP_DIR, 'tcpflow__test1.pcap');
    const fx = await runJsonl(['-FX', '-r', pcap], tmp, 'fx');
    assert.equal(fx.code, 0, fx.stderr);
    assert.equal(fx.files, 0);
    assert.equal(fx.lines.length, 5);
    assert.ok(fx.lines.slice(0, 4).every((l) => l.type === 'flow' && l.filename === undefined && typeof l.filesize === 'number'));

    const xml = path.join(tmp, 'elsewhere.xml');
    const x = await runJsonl(['-X', xml, '-r', pcap], tmp, 'x');
    assert.equal(x.code, 0, x.stderr);
    assert.ok(fs.readFileSync(xml, 'utf8').includes('<fileobject>'));
    assert.equal(x.lines.length, 5);

    const jsonl = path.join(tmp, 'c.jsonl');
    const c = await runCli(['-c', '-r', pcap, '-o', path.join(tmp, 'c'), '--jsonl', jsonl], { timeoutMs: RUN_TIMEOUT_MS });
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stderr, /^tcpflow-ts: --jsonl .* ignored: console output/m);
    assert.ok(!fs.existsSync(jsonl));
  } finally {
    removeDir(tmp);
  }
});

/** Names, sizes and md5s of a run's files. */
async function namesOf(args: string[], tmp: string, tag: string): Promise<string> {
  const out = path.join(tmp, tag);
  const run = await runCli([...args, '-o', out], { timeoutMs: RUN_TIMEOUT_MS });
  assert.equal(run.code, 0, run.stderr);
  return walkFiles(out).filter((f) => f.rel !== 'report.xml').map((f) => `${f.rel} ${md5hex(fs.readFileSync(f.abs))}`).sort().join('\n');
}

test('templates whose names different connections share give tcpflow\'s names for any --workers, run after run', async () => {
  const tmp = makeTempDir('tcpflow-ts-collide-');
  try {
    for (const [template, capture, runs] of [
      ['%A', 'tcpflow__test1.pcap', 10],
      ['%t-%#', 'tcpflow__test1.pcap', 10],
      ['%A', 'tcpflow__jpegs.cap', 3],
      ['%t-%#', 'tcpflow__jpegs.cap', 3],
    ] as const) {
      const pcap = path.join(PCAP_DIR, capture);
      const want = await namesOf(['--workers', '1', '-T', template, '-r', pcap], tmp, 'base');
      const seen = new Set<string>();
      for (let i = 0; i < runs; i++) {
        for (const w of [2, 4]) {
          const got = await namesOf(['--workers', String(w), '-T', template, '-r', pcap], tmp, `r${i}w${w}`);
          assert.equal(got, want, `-T ${template} on ${capture}, --workers ${w}, run ${i + 1}`);
          seen.add(got);
        }
      }
      assert.equal(seen.size, 1);
      // The earlier connection keeps the plain name, as in tcpflow.
      if (template === '%A' && capture === 'tcpflow__test1.pcap') {
        assert.match(want, /^192\.168\.001\.102 /m);
        assert.match(want, /^192\.168\.001\.102c1 /m);
      }
    }
  } finally {
    removeDir(tmp);
  }
});

test('<max_open_flows> is the true maximum over the run, the same for --workers 1, 2 and 4', async () => {
  const tmp = makeTempDir('tcpflow-ts-maxopen-');
  try {
    for (const [capture, want] of [['tcpdump__resp_1_benchmark.pcap', 2], ['tcpflow__jpegs.cap', 13]] as const) {
      for (const w of [1, 2, 4]) {
        const r = await runJsonl(['--workers', String(w), '-r', path.join(PCAP_DIR, capture)], tmp, `${capture}-w${w}`);
        assert.equal(r.counters.max_open_flows, want, `${capture} --workers ${w}`);
        assert.equal(r.lines[r.lines.length - 1].max_open_flows, want);
      }
    }
  } finally {
    removeDir(tmp);
  }
});
