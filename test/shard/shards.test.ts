/**
 * --shard K/N and merge-reports on real captures (fixtures/corpus): the four runs
 * --shard 0/4 ... 3/4 into one shared output directory, then merge-reports, give exactly
 * what one run without --shard gives: the same flow files (path, bytes, mtime), the same
 * report fileobjects in the same order, byte for byte, the same totals, and the same JSON
 * Lines report, byte for byte; with 1 and 2 worker threads per shard. Also: the index
 * from JOB_COMPLETION_INDEX / SLURM_ARRAY_TASK_ID, bad arguments, and merges refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTempDir, md5hex, PCAP_DIR, pool, POOL_SIZE, removeDir, runCli, walkFiles } from '../helpers/corpus';
import { parseCommandLine } from '../../cli/options';
import { parseShard, shardFromEnvironment, shardPath, sliceOf } from '../../src/shard/slice';

const SHARDS = 4;
const pcap = (name: string) => path.join(PCAP_DIR, name);

/** Input options of each case (real captures; several -r files; -r then -R; a small -f). */
const CASES: { name: string; args: string[] }[] = [
  { name: 'jpegs', args: ['-r', pcap('tcpflow__jpegs.cap')] },
  { name: '650 HTTP responses', args: ['-r', pcap('pcapplusplus__650HttpResponses.pcap')] },
  { name: 'example2', args: ['-r', pcap('pcapplusplus__example2.pcap')] },
  { name: 'http-packets2 in 3 files', args: [1, 2, 3].flatMap((i) => ['-r', pcap(`derived__pcapplusplus__http-packets2__part${i}.pcap`)]) },
  { name: 'test1 -r part 1 -R part 2', args: ['-r', pcap('derived__tcpflow__test1__part1.pcap'), '-R', pcap('derived__tcpflow__test1__part2.pcap')] },
  { name: 'tcp-reassembly with -f 2 -Fk', args: ['-f', '2', '-Fk', '-r', pcap('pcapplusplus__tcp-reassembly.pcap')] },
  // Idle flows closed by packet time: every shard's workers see every packet's time.
  { name: 'jpegs with -S tcp_timeout=1', args: ['-S', 'tcp_timeout=1', '-r', pcap('tcpflow__jpegs.cap')] },
  { name: 'a directory of rotated pieces', args: ['-r', path.join(PCAP_DIR, '..', '..', 'rotated')] },
  // IP fragments are reassembled before sharding: every shard counts them all, the merge once.
  { name: 'IP fragments', args: ['-r', pcap('pcapplusplus__frag_http_req.pcap'), '-r', pcap('tcpflow__test1.pcap')] },
];

/** What a run leaves: every file but the reports (path, size, md5, mtime), and the reports' parts. */
interface Outcome {
  files: string[];
  /** report.xml from the first fileobject to the end of the last one. */
  fileobjects: string;
  totals: string;
  jsonl: string;
}

function flowFiles(out: string): string[] {
  return walkFiles(out)
    .filter((f) => !/^report(\.shard-\d+-of-\d+)?\.xml$/.test(f.rel))
    .map((f) => {
      const st = fs.statSync(f.abs, { bigint: true });
      return `${f.rel} ${st.size} ${md5hex(fs.readFileSync(f.abs))} ${st.mtimeNs / 1000n}`;
    });
}

function reportParts(xml: string): { fileobjects: string; totals: string } {
  const start = xml.indexOf('  <tdelta>');
  const body = xml.slice(xml.indexOf('  <configuration>\n', start) + '  <configuration>\n'.length, xml.indexOf('  </configuration>\n', start));
  const totals = xml.slice(xml.indexOf('  </configuration>\n', start), xml.indexOf('  <rusage>'));
  return { fileobjects: body, totals };
}

async function run(args: string[], cwd: string, env: Record<string, string> = {}): Promise<void> {
  const r = await runCli(args, { cwd, env });
  assert.equal(r.code, 0, `tcpflow-ts ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
}

async function single(args: string[]): Promise<Outcome> {
  const tmp = makeTempDir('tcpflow-ts-shard-one-');
  try {
    await run(['-e', 'md5', ...args, '-o', 'out', '--jsonl', 'flows.jsonl'], tmp);
    return { files: flowFiles(path.join(tmp, 'out')), ...reportParts(fs.readFileSync(path.join(tmp, 'out', 'report.xml'), 'utf8')), jsonl: fs.readFileSync(path.join(tmp, 'flows.jsonl'), 'utf8') };
  } finally {
    removeDir(tmp);
  }
}

async function sharded(args: string[], workers: number): Promise<Outcome & { perShard: number[] }> {
  const tmp = makeTempDir('tcpflow-ts-shards-');
  try {
    // One shared output directory, the same command line but for K, two at a time.
    await pool(Array.from({ length: SHARDS }, (_, k) => k), 2, (k) =>
      run(['--workers', String(workers), '--shard', `${k}/${SHARDS}`, '-e', 'md5', ...args, '-o', 'out', '--jsonl', 'flows.jsonl'], tmp));
    const xmls = Array.from({ length: SHARDS }, (_, k) => `out/report.shard-${k}-of-${SHARDS}.xml`);
    const jsonls = Array.from({ length: SHARDS }, (_, k) => `flows.shard-${k}-of-${SHARDS}.jsonl`);
    const perShard = jsonls.map((j) => fs.readFileSync(path.join(tmp, j), 'utf8').split('\n').filter((l) => l.startsWith('{"type":"flow"')).length);
    // Inputs in any order: the merge sorts them out.
    await run(['merge-reports', '-o', 'merged.xml', '--jsonl', 'merged.jsonl', ...xmls.reverse(), ...jsonls], tmp);
    const xml = fs.readFileSync(path.join(tmp, 'merged.xml'), 'utf8');
    assert.doesNotMatch(xml, /tcpflow-ts:(shard|record)\b/, 'shard extensions left in the merged report');
    assert.match(xml, new RegExp(`<tcpflow-ts:merged xmlns:tcpflow-ts='[^']+' shards='${SHARDS}' run='[0-9a-f]+'/>`));
    assert.ok(xml.endsWith('</dfxml>\n'));
    return { files: flowFiles(path.join(tmp, 'out')), ...reportParts(xml), jsonl: fs.readFileSync(path.join(tmp, 'merged.jsonl'), 'utf8'), perShard };
  } finally {
    removeDir(tmp);
  }
}

test('the union of --shard k/4 runs, merged, is one run: files, fileobjects, order, totals, JSON Lines', { concurrency: POOL_SIZE }, async (t) => {
  await Promise.all(CASES.map((c) => t.test(c.name, async () => {
    const one = await single(c.args);
    assert.ok(one.fileobjects.includes('<fileobject>'), 'the case has flows');
    for (const workers of [1, 2]) {
      const merged = await sharded(c.args, workers);
      const what = `${c.name}, ${workers} worker${workers > 1 ? 's' : ''} per shard`;
      assert.deepEqual(merged.files, one.files, `${what}: flow files (path, size, md5, mtime)`);
      assert.equal(merged.fileobjects, one.fileobjects, `${what}: the report's fileobjects, in order`);
      assert.equal(merged.totals, one.totals, `${what}: the report's totals`);
      assert.equal(merged.jsonl, one.jsonl, `${what}: the JSON Lines report`);
      const flows = one.jsonl.split('\n').filter((l) => l.startsWith('{"type":"flow"')).length;
      assert.equal(merged.perShard.reduce((a, b) => a + b, 0), flows, `${what}: every flow in exactly one shard`);
      if (flows >= 20) assert.ok(merged.perShard.every((n) => n > 0), `${what}: every shard has flows (${merged.perShard.join(', ')})`);
    }
  })));
});

test('--shards N takes K from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID, as --shard K/N', async () => {
  const tmp = makeTempDir('tcpflow-ts-shards-env-');
  try {
    const args = ['-r', pcap('pcapplusplus__650HttpResponses.pcap'), '--jsonl', 'f.jsonl'];
    await run(['--shard', '2/4', ...args, '-o', 'a'], tmp);
    await run(['--shards', '4', ...args, '-o', 'b'], tmp, { JOB_COMPLETION_INDEX: '2', SLURM_ARRAY_TASK_ID: '0' });
    await run(['--shards', '4', ...args, '-o', 'c'], tmp, { JOB_COMPLETION_INDEX: '', SLURM_ARRAY_TASK_ID: '2' });
    const flows = (j: string) => fs.readFileSync(path.join(tmp, j), 'utf8');
    const a = flows('f.shard-2-of-4.jsonl');
    assert.match(a, /^\{"type":"shard","index":2,"count":4,/);
    assert.ok(a.includes('"type":"flow"'));
    for (const dir of ['b', 'c']) {
      assert.deepEqual(fs.readdirSync(path.join(tmp, dir)).sort(), fs.readdirSync(path.join(tmp, 'a')).sort(), dir);
      assert.equal(reportParts(fs.readFileSync(path.join(tmp, dir, 'report.shard-2-of-4.xml'), 'utf8')).fileobjects.split(`${dir}/`).join('a/'),
        reportParts(fs.readFileSync(path.join(tmp, 'a', 'report.shard-2-of-4.xml'), 'utf8')).fileobjects);
    }
  } finally {
    removeDir(tmp);
  }
});

test('shard arguments: bad values are refused with one line naming them', () => {
  const bad: [string[], Record<string, string>, RegExp][] = [
    [['--shard', '4/4'], {}, /--shard: '4\/4': K must be a whole number from 0 to 3/],
    [['--shard', '1'], {}, /--shard: '1' is not K\/N/],
    [['--shard', 'a/4'], {}, /K must be a whole number from 0 to 3/],
    [['--shard', '-1/4'], {}, /K must be/],
    [['--shard', '0/0'], {}, /--shard: '0' is not a whole number of shards from 1 to/],
    [['--shard', '0/4x'], {}, /'4x' is not a whole number of shards/],
    [['--shards', '4'], {}, /--shards 4: no shard index: set JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID/],
    [['--shards', '4'], { JOB_COMPLETION_INDEX: '4' }, /JOB_COMPLETION_INDEX='4' is not a shard index from 0 to 3/],
    [['--shards', '4'], { SLURM_ARRAY_TASK_ID: '4' }, /SLURM_ARRAY_TASK_ID='4' is not a shard index from 0 to 3 \(submit the array as --array=0-3\)/],
    [['--shards', '4'], { SLURM_ARRAY_TASK_ID: ' 1' }, /SLURM_ARRAY_TASK_ID=' 1' is not a shard index/],
    [['--shards', 'x'], { JOB_COMPLETION_INDEX: '0' }, /--shards: 'x' is not a whole number of shards/],
    [['--shard', '0/2', '--shards', '2'], { JOB_COMPLETION_INDEX: '0' }, /give one shard option, once/],
    [['--shard', '0/2', '--shard', '1/2'], {}, /give one shard option, once/],
  ];
  for (const [args, env, message] of bad) {
    assert.throws(() => parseCommandLine(['-r', 'x.pcap', ...args], env), (e: Error & { exitCode?: number }) => {
      assert.match(e.message, message, args.join(' '));
      assert.equal(e.exitCode, 2);
      return true;
    }, args.join(' '));
  }
  const ok = parseCommandLine(['-r', 'x.pcap', '--shard', '3/4'], {});
  assert.ok(ok.kind === 'run');
  assert.deepEqual(ok.options.shard, { index: 3, count: 4 });
  assert.deepEqual(shardFromEnvironment('8', { JOB_COMPLETION_INDEX: '', SLURM_ARRAY_TASK_ID: '7' }), { index: 7, count: 8 });
  assert.deepEqual(parseShard('0/1'), { index: 0, count: 1 });
});

test('shard paths and slices', () => {
  const s = { index: 1, count: 4 };
  assert.equal(shardPath('out/report.xml', s), 'out/report.shard-1-of-4.xml');
  assert.equal(shardPath('flows', s), 'flows.shard-1-of-4');
  assert.equal(shardPath('/a.b/flows', s), '/a.b/flows.shard-1-of-4');
  assert.equal(shardPath('x.tar.gz', s), 'x.tar.shard-1-of-4.gz');
  // Slices are contiguous ranges of the 32-bit hash, every one of the same size (±1).
  assert.equal(sliceOf(0, 4), 0);
  assert.equal(sliceOf(0x3fffffff, 4), 0);
  assert.equal(sliceOf(0x40000000, 4), 1);
  assert.equal(sliceOf(0xffffffff, 4), 3);
  assert.equal(sliceOf(-1, 3), 2);
});

test('--shard with a template that lets connections share a name is refused; -w goes to each shard\'s own file', async () => {
  const tmp = makeTempDir('tcpflow-ts-shards-cli-');
  try {
    const r = await runCli(['--shard', '0/2', '-T', '%A', '-r', pcap('tcpflow__test1.pcap'), '-o', 'out'], { cwd: tmp });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^tcpflow-ts: --shard: template %A%C%c can give different connections the same name/m);
    assert.equal(fs.existsSync(path.join(tmp, 'out')), false, 'nothing written');
    // -w: packets of no connection in shard 0's file only; TCP packets of a connection in its shard's.
    for (const k of [0, 1]) await run(['--shard', `${k}/2`, '-w', 'u.pcap', '-r', pcap('tcpflow__jpegs.cap'), '-o', 'out'], tmp);
    await run(['-w', 'u.pcap', '-r', pcap('tcpflow__jpegs.cap'), '-o', 'one'], tmp);
    const size = (f: string) => fs.statSync(path.join(tmp, f)).size;
    assert.equal(size('u.shard-0-of-2.pcap') + size('u.shard-1-of-2.pcap') - 24, size('u.pcap'), 'the -w records split over the shards, once each');
  } finally {
    removeDir(tmp);
  }
});

/** Four shard reports of one capture, in `dir`: out/report.shard-K-of-4.xml and f.shard-K-of-4.jsonl. */
async function shardReports(dir: string, extra: string[] = []): Promise<void> {
  for (let k = 0; k < SHARDS; k++) {
    await run(['--shard', `${k}/${SHARDS}`, ...extra, '-r', pcap('pcapplusplus__650HttpResponses.pcap'), '-o', 'out', '--jsonl', 'f.jsonl'], dir);
  }
}

test('merge-reports refuses reports that are not all the shards of one job, and writes nothing', async () => {
  const tmp = makeTempDir('tcpflow-ts-merge-bad-');
  try {
    await shardReports(tmp);
    fs.mkdirSync(path.join(tmp, 'other'));
    await run(['--shard', '1/4', '-b', '100', '-r', pcap('pcapplusplus__650HttpResponses.pcap'), '-o', 'other/out'], tmp);
    await run(['--shard', '1/3', '-r', pcap('pcapplusplus__650HttpResponses.pcap'), '-o', 'other/o3'], tmp);
    await run(['-r', pcap('tcpflow__test1.pcap'), '-o', 'plain'], tmp);
    const x = (k: number) => `out/report.shard-${k}-of-4.xml`;
    fs.copyFileSync(path.join(tmp, x(1)), path.join(tmp, 'out/copy.xml'));
    const truncated = 'out/truncated.xml';
    const text = fs.readFileSync(path.join(tmp, x(3)), 'utf8');
    fs.writeFileSync(path.join(tmp, truncated), text.slice(0, text.lastIndexOf('</fileobject>')));
    const cases: [string[], number, RegExp][] = [
      [[x(0), x(1), x(2)], 1, /shard 3 of 4 is missing/],
      [[x(0), x(1)], 1, /shards 2, 3 of 4 are missing/],
      [[x(0), x(1), x(2), x(3), 'out/copy.xml'], 1, /out\/report.shard-1-of-4.xml and out\/copy.xml are both shard 1 of 4/],
      [[x(0), 'other/out/report.shard-1-of-4.xml', x(2), x(3)], 1, /come from different runs/],
      [[x(0), 'other/o3/report.shard-1-of-3.xml', x(2), x(3)], 1, /is shard 0 of 4 but other\/o3\/report.shard-1-of-3.xml is shard 1 of 3/],
      [[x(0), x(1), x(2), truncated], 1, /truncated/],
      [[x(0), x(1), x(2), 'plain/report.xml'], 1, /plain\/report.xml: not the report of a --shard run/],
      [[x(0), x(1), x(2), x(2)], 2, /is given twice/],
      [[x(0), x(1), x(2), x(3), 'f.shard-0-of-4.jsonl'], 2, /no output was given for that format \(--jsonl FILE\)/],
      [['missing.xml'], 1, /missing.xml: No such file or directory/],
    ];
    for (const [inputs, code, message] of cases) {
      const r = await runCli(['merge-reports', '-o', 'm.xml', ...inputs], { cwd: tmp });
      assert.equal(r.code, code, `${inputs.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, inputs.join(' '));
      assert.match(r.stderr, /^tcpflow-ts: /);
      assert.equal(fs.existsSync(path.join(tmp, 'm.xml')), false, `${inputs.join(' ')}: nothing written`);
      assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.startsWith('m.xml')), [], 'no temporary file left');
    }
    for (const args of [['merge-reports'], ['merge-reports', x(0)], ['merge-reports', '-o', x(0), x(0)], ['merge-reports', '-y', '-o', 'm', x(0)]]) {
      const r = await runCli(args, { cwd: tmp });
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, /^tcpflow-ts: merge-reports: .*\nTry 'tcpflow-ts merge-reports --help'/, args.join(' '));
    }
    // The format comes from the content: -o alone with JSON Lines inputs writes JSON Lines.
    const jsonls = [0, 1, 2, 3].map((k) => `f.shard-${k}-of-4.jsonl`);
    const r = await runCli(['merge-reports', '-o', 'm.jsonl', ...jsonls], { cwd: tmp });
    assert.equal(r.code, 0, r.stderr);
    assert.match(fs.readFileSync(path.join(tmp, 'm.jsonl'), 'utf8'), /^\{"type":"flow",[^\n]*\n(\{"type":"flow",[^\n]*\n)*\{"type":"summary",[^\n]*\}\n$/);
  } finally {
    removeDir(tmp);
  }
});

test('merge-reports -h describes the subcommand; -h lists it', async () => {
  const r = await runCli(['merge-reports', '--help']);
  assert.equal(r.code, 0);
  const text = r.stdout.toString();
  for (const s of ['usage: tcpflow-ts merge-reports', '-o merged', '--jsonl merged.jsonl', 'Exit status']) assert.ok(text.includes(s), s);
  const h = await runCli(['-h']);
  assert.match(h.stdout.toString(), /^ {3}merge-reports +merge the reports of the runs of one --shard K\/N job/m);
  assert.match(h.stdout.toString(), /^ {3}--shard K\/N /m);
  assert.match(h.stdout.toString(), /^ {3}--shards N /m);
});

test('merge-reports keeps each live shard\'s capture counts: one <capture_stats shard="K"> each, JSON Lines "captures"', async () => {
  const tmp = makeTempDir('tcpflow-ts-merge-capture-');
  try {
    await shardReports(tmp);
    const x = (k: number) => path.join(tmp, `out/report.shard-${k}-of-4.xml`);
    const j = (k: number) => path.join(tmp, `f.shard-${k}-of-4.jsonl`);
    await run(['merge-reports', '-o', 'plain.xml', '--jsonl', 'plain.jsonl', ...[0, 1, 2, 3].map(x), ...[0, 1, 2, 3].map(j)], tmp);
    // What a live shard run writes (each shard captures the interface itself): counts that differ by shard.
    const stats = (k: number) => ({ interface: 'veth&0', captured: 1000 + k, received: 1100 + k, kernel_dropped: k, interface_dropped: 0, backlog_dropped: 10 * k });
    const attrs = (k: number) => Object.entries(stats(k)).map(([a, v]) => `${a}="${String(v).replace('&', '&amp;')}"`).join(' ');
    for (const k of [0, 1, 2, 3]) {
      const xml = fs.readFileSync(x(k), 'utf8');
      assert.ok(xml.includes('\n  <rusage>'));
      fs.writeFileSync(x(k), xml.replace('\n  <rusage>', `\n  <capture_stats ${attrs(k)}/>\n  <rusage>`));
      const lines = fs.readFileSync(j(k), 'utf8').trimEnd().split('\n');
      const summary = JSON.parse(lines.pop() as string) as Record<string, unknown>;
      fs.writeFileSync(j(k), [...lines, JSON.stringify({ ...summary, capture: stats(k) })].join('\n') + '\n');
    }
    // Given in any order: the counts come out by shard.
    await run(['merge-reports', '-o', 'live.xml', '--jsonl', 'live.jsonl', ...[2, 0, 3, 1].map(x), ...[1, 3, 0, 2].map(j)], tmp);
    const merged = fs.readFileSync(path.join(tmp, 'live.xml'), 'utf8');
    const expected = fs.readFileSync(path.join(tmp, 'plain.xml'), 'utf8')
      .replace('\n  <rusage>', `\n${[0, 1, 2, 3].map((k) => `  <capture_stats shard="${k}" ${attrs(k)}/>\n`).join('')}  <rusage>`);
    assert.equal(merged, expected);
    const plain = fs.readFileSync(path.join(tmp, 'plain.jsonl'), 'utf8').trimEnd().split('\n');
    const live = fs.readFileSync(path.join(tmp, 'live.jsonl'), 'utf8').trimEnd().split('\n');
    assert.deepEqual(live.slice(0, -1), plain.slice(0, -1));
    assert.deepEqual(JSON.parse(live[live.length - 1]), { ...JSON.parse(plain[plain.length - 1]) as object, captures: [0, 1, 2, 3].map((k) => ({ shard: k, ...stats(k) })) });
    // Counts that cannot be read stop the merge, naming the file.
    fs.writeFileSync(x(1), fs.readFileSync(x(1), 'utf8').replace('captured="1001"', 'captured="-1"'));
    const r = await runCli(['merge-reports', '-o', 'bad.xml', ...[0, 1, 2, 3].map(x)], { cwd: tmp });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /report\.shard-1-of-4\.xml: a <capture_stats> that cannot be read/);
  } finally {
    removeDir(tmp);
  }
});
