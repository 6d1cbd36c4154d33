/**
 * Progress (src/util/progress.ts): the line's content from a known state and clock, the
 * modes, and end to end on a pseudo-terminal (`script` from util-linux): the bar is drawn
 * on a terminal and erased, -q silences it, off a terminal nothing, -d 2 logs lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { Progress } from '../../src/util/progress';
import { CLI, makeTempDir, removeDir, REPO_ROOT, runCli } from '../helpers/corpus';

test('the line: files, bytes of the total, packets/s, open flows, ETA; a bar fitted to the width', () => {
  let now = 1_000_000;
  const lines: string[] = [];
  const p = new Progress('bar', 20, 1_000_000_000, (t) => lines.push(t), () => now);
  now += 10_000; // 10 s in
  p.fileDone(200_000_000);
  const state = { file: 5, name: 'x.pcap5', fileBytes: 50_000_000, packets: 1_234_567, openFlows: 4321 };
  const text = p.line(state, now, 0);
  // 250 MB in 10 s: 750 MB left at 25 MB/s is 30 s.
  assert.equal(text, '6/20 files, 250 MB of 1.00 GB (25%), 123,457 packets/s, 4,321 open flows, ETA 0:30; reading x.pcap5');
  const bar = p.line(state, now, 100);
  assert.ok(bar.length <= 100);
  assert.match(bar, /^\[#+\.+\] 6\/20 files {2}250 MB of 1\.00 GB \(25%\)/);
  const inner = (/^\[([#.]+)\]/.exec(bar) as RegExpExecArray)[1];
  assert.equal((inner.match(/#/g) ?? []).length, Math.round(inner.length / 4), 'a quarter of the bar filled');
  // Unknown total (standard input): no percentage, no ETA.
  const stdin = new Progress('log', 1, 0, (t) => lines.push(t), () => now);
  assert.equal(stdin.line({ ...state, file: 0 }, now + 1000, 0), '1/1 files, 50.0 MB, 1,234,567 packets/s, 4,321 open flows, ETA unknown; reading x.pcap5');
  // Redrawn at most every 200 ms; cleared once.
  p.update(state);
  p.update(state);
  now += 250;
  p.update(state);
  p.clear();
  p.clear();
  assert.equal(lines.filter((l) => l.startsWith('\r\x1b[K[')).length, 2);
  assert.equal(lines.filter((l) => l === '\r\x1b[K').length, 1);
});

test('modes: -q and -d 0 silence it, -d 2 logs lines, off a terminal nothing', () => {
  const mode = (d: number, q: boolean) => Progress.forStderr(d, q, 1, 0, () => {}).mode;
  assert.equal(mode(1, true), 'off');
  assert.equal(mode(0, false), 'off');
  assert.equal(mode(2, false), 'log');
  assert.equal(mode(2, true), 'off');
  assert.equal(mode(1, false), process.stderr.isTTY === true ? 'bar' : 'off');
});

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;

test('on a pseudo-terminal the bar is drawn and erased; -q silences it', { skip: hasScript ? false : 'needs script (util-linux)' }, () => {
  const tmp = makeTempDir();
  try {
    const input = path.join(REPO_ROOT, 'fixtures', 'rotated');
    const run = (extra: string) => spawnSync('script', ['-qec', `${process.execPath} ${CLI} -r ${input} -o ${path.join(tmp, extra || 'plain')} ${extra}`, '/dev/null'],
      { encoding: 'latin1', env: { ...process.env, NODE_TEST_CONTEXT: '' }, timeout: 60_000 });
    const shown = run('');
    assert.equal(shown.status, 0, shown.stdout);
    assert.match(shown.stdout, /\r\x1b\[K\[[#.]+\] \d+\/13 files {2}[\d.]+ kB of 314 kB \(\d+%\) {2}[\d,]+ packets\/s {2}[\d,]+ open flows {2}ETA \d+:\d\d/);
    assert.match(shown.stdout, /\r\x1b\[K(\r\n|$)/, 'erased at the end');
    const quiet = run('-q');
    assert.equal(quiet.status, 0, quiet.stdout);
    // The bar's own text: a checkout's path may hold the word 'files' (/work/wt-files).
    assert.doesNotMatch(quiet.stdout, /\x1b\[K|\d+\/13 files/);
  } finally {
    removeDir(tmp);
  }
});

test('off a terminal: no bar; at -d 2 progress comes as log lines', async () => {
  const tmp = makeTempDir();
  try {
    const input = path.join(REPO_ROOT, 'fixtures', 'rotated');
    const plain = await runCli(['-r', input, '-o', path.join(tmp, 'a')]);
    assert.equal(plain.code, 0);
    assert.doesNotMatch(plain.stderr, /\x1b|progress/);
    const logged = await runCli(['-d', '2', '-r', input, '-o', path.join(tmp, 'b')]);
    assert.match(logged.stderr, /^tcpflow-ts: progress: 1\/13 files, [\d.]+ kB of 314 kB \(\d+%\), [\d,]+ packets\/s, \d+ open flows, ETA \d+:\d\d; reading \S+jpegs\.pcap$/m);
  } finally {
    removeDir(tmp);
  }
});
