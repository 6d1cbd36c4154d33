/**
 * tcpflow's per-file hooks: tcp_alert_fd / http_alert_fd lines and tcp_cmd / http_cmd
 * commands, through the CLI on a real capture and in their parts (the command runner's
 * bound, the HTTP body listener fed by a fake http scanner).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI, makeTempDir, PCAP_DIR, removeDir, REPO_ROOT } from '../helpers/corpus';
import { readJsonl } from '../helpers/jsonl';
import { CommandRunner } from '../../src/hooks/commands';
import { Hooks } from '../../src/hooks/flow-hooks';
import { checkAlertFd } from '../../src/hooks/alert-fd';
import type { Logger } from '../../src/util/log';

const JPEGS = path.join(PCAP_DIR, 'tcpflow__jpegs.cap');

function logger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, error() {}, warn: (m: string) => warnings.push(m), info() {}, debug() {}, trace() {}, isLevelEnabled: () => false, debugLevel: 0, at() {} };
}

/** The CLI with descriptor 3 open on `alerts` (when given). */
function cli(args: string[], alerts: string | null): Promise<{ code: number | null; stderr: string }> {
  const fd3 = alerts === null ? 'ignore' : fs.openSync(alerts, 'w');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe', fd3] });
    if (typeof fd3 === 'number') fs.closeSync(fd3);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

function script(dir: string, name: string, body: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return p;
}

test('tcp_alert_fd: an open line when each flow file is created, a close line when its flow ends; the same for any --workers', async () => {
  const tmp = makeTempDir('tcpflow-ts-alert-');
  try {
    const sets: string[][] = [];
    for (const workers of [1, 4]) {
      const out = path.join(tmp, `out${workers}`), alerts = path.join(tmp, `alerts${workers}`), jsonl = path.join(tmp, `r${workers}.jsonl`);
      const run = await cli(['-r', JPEGS, '-o', out, '--workers', String(workers), '-S', 'tcp_alert_fd=3', '--jsonl', jsonl], alerts);
      assert.equal(run.code, 0, run.stderr);
      const lines = fs.readFileSync(alerts, 'utf8').split('\n');
      assert.equal(lines.pop(), '', 'every line ends in a newline');
      const files = readJsonl(jsonl).filter((l) => l.type === 'flow' && l.filename !== undefined).map((l) => l.filename as string);
      assert.equal(files.length, 38);
      for (const f of files) {
        const open = lines.indexOf(`open\t${f}`), close = lines.indexOf(`close\t${f}`);
        assert.ok(open >= 0 && close > open, f);
        assert.equal(lines.filter((l) => l.endsWith(`\t${f}`)).length, 2, f);
      }
      assert.equal(lines.length, 2 * files.length);
      sets.push(lines.map((l) => l.replace(out, 'OUT')).sort());
    }
    assert.deepEqual(sets[1], sets[0]);
  } finally {
    removeDir(tmp);
  }
});

test('tcp_cmd: "cmd path" for every closed flow file, all finished before the run ends; failures are warned about, the run goes on', async () => {
  const tmp = makeTempDir('tcpflow-ts-cmd-');
  try {
    const log = path.join(tmp, 'log');
    // It finishes late: its line exists at exit only if the run waited for it.
    const ok = script(tmp, 'ok.sh', `sleep 0.2; echo "$(wc -c < "$1") $1" >> '${log}'`);
    const out = path.join(tmp, 'out'), jsonl = path.join(tmp, 'r.jsonl');
    const run = await cli(['-r', JPEGS, '-o', out, '--workers', '2', '-S', `tcp_cmd=${ok}`, '--jsonl', jsonl], null);
    assert.equal(run.code, 0, run.stderr);
    const seen = fs.readFileSync(log, 'utf8').trim().split('\n').sort();
    const expected = readJsonl(jsonl).filter((l) => l.type === 'flow' && l.filename !== undefined)
      .map((l) => `${l.filesize} ${l.filename as string}`).sort();
    assert.deepEqual(seen, expected, 'each flow file once, complete when its command ran');

    const bad = script(tmp, 'bad.sh', 'exit 3');
    const failing = await cli(['-r', JPEGS, '-o', path.join(tmp, 'out2'), '-S', `tcp_cmd=${bad}`], null);
    assert.equal(failing.code, 0);
    assert.equal(failing.stderr.match(/-S tcp_cmd: '.*bad\.sh .*' exited with status 3/g)?.length, 38, failing.stderr);
    assert.match(failing.stderr, /-S tcp_cmd: 38 of 38 commands failed/);
    assert.ok(fs.existsSync(path.join(tmp, 'out2', 'report.xml')));
  } finally {
    removeDir(tmp);
  }
});

test('-e http with http_alert_fd and http_cmd: every body file the scanner writes is announced, and its command run', async () => {
  const tmp = makeTempDir('tcpflow-ts-httphooks-');
  try {
    const out = path.join(tmp, 'out'), alerts = path.join(tmp, 'alerts'), ran = path.join(tmp, 'ran');
    const cmd = script(tmp, 'body.sh', `echo "$(wc -c < "$1") $1" >> '${ran}'`);
    const run = await cli(['-r', JPEGS, '-o', out, '--workers', '2', '-e', 'http', '-S', 'http_alert_fd=3', '-S', `http_cmd=${cmd}`], alerts);
    assert.equal(run.code, 0, run.stderr);
    const bodies = fs.readdirSync(out).filter((f) => f.includes('-HTTPBODY-')).map((f) => path.join(out, f)).sort();
    assert.equal(bodies.length, 14);
    const lines = fs.readFileSync(alerts, 'utf8').trim().split('\n');
    assert.deepEqual(lines.filter((l) => l.startsWith('open\t')).map((l) => l.slice(5)).sort(), bodies);
    assert.deepEqual(lines.filter((l) => l.startsWith('close\t')).map((l) => l.slice(6)).sort(), bodies);
    for (const b of bodies) assert.ok(lines.indexOf(`open\t${b}`) < lines.indexOf(`close\t${b}`), b);
    assert.deepEqual(fs.readFileSync(ran, 'utf8').trim().split('\n').sort(), bodies.map((b) => `${fs.statSync(b).size} ${b}`).sort());
  } finally {
    removeDir(tmp);
  }
});

test('the command runner: at most `limit` at once, the rest queued without waiting; a name with spaces is one word', async () => {
  const tmp = makeTempDir('tcpflow-ts-runner-');
  try {
    const dir = path.join(tmp, 'running');
    fs.mkdirSync(dir);
    const cmd = script(tmp, 'count.sh', `mkdir '${dir}'/run.$$; ls '${dir}' | wc -l >> '${tmp}/counts'; sleep 0.05; rmdir '${dir}'/run.$$; echo "$1" >> '${tmp}/done'`);
    const log = logger();
    const runner = new CommandRunner(cmd, 'tcp_cmd', 2, log);
    const names = Array.from({ length: 8 }, (_, i) => path.join(tmp, `file ${i}'s`));
    for (const n of names) runner.run(n);
    assert.equal(runner.stats.run, 2, 'two started, six wait: run() never waits');
    await runner.drain();
    assert.equal(runner.stats.run, 8);
    assert.equal(runner.stats.failed, 0, log.warnings.join('\n'));
    const counts = fs.readFileSync(path.join(tmp, 'counts'), 'utf8').trim().split('\n').map(Number);
    assert.equal(counts.length, 8);
    assert.ok(Math.max(...counts) <= 2, `running at once: ${counts}`);
    assert.deepEqual(fs.readFileSync(path.join(tmp, 'done'), 'utf8').trim().split('\n').sort(), names.sort());
    await runner.drain(); // nothing left: resolves at once
  } finally {
    removeDir(tmp);
  }
});

test('HTTP body files (HttpBodyListener, called as the http scanner calls it): alert lines, http_cmd for non-empty bodies only', async () => {
  const tmp = makeTempDir('tcpflow-ts-body-');
  try {
    const alerts = path.join(tmp, 'alerts');
    const fd = fs.openSync(alerts, 'w');
    const full = path.join(tmp, 'x-HTTPBODY-001.html'), empty = path.join(tmp, 'x-HTTPBODY-002');
    const cmd = script(tmp, 'body.sh', `echo "$1" >> '${tmp}/ran'`);
    const hooks = new Hooks({ tcpAlertFd: null, tcpCmd: null, httpAlertFd: fd, httpCmd: cmd, commandLimit: 10 }, logger());
    assert.equal(hooks.flowFiles, null);
    const bodies = hooks.httpBodies;
    assert.ok(bodies !== null);
    bodies.opened(full);
    fs.writeFileSync(full, '<html></html>');
    bodies.opened(empty);
    fs.writeFileSync(empty, '');
    bodies.closed(empty);
    bodies.closed(full);
    await hooks.drain();
    fs.closeSync(fd);
    assert.equal(fs.readFileSync(alerts, 'utf8'), `open\t${full}\nopen\t${empty}\nclose\t${empty}\nclose\t${full}\n`);
    assert.equal(fs.readFileSync(path.join(tmp, 'ran'), 'utf8'), `${full}\n`);
    assert.deepEqual(hooks.stats(), { tcpCmd: null, httpCmd: { run: 1, failed: 0 } });
  } finally {
    removeDir(tmp);
  }
});

test('alert descriptors: the caller\'s are taken; closed, read-only and the runtime\'s own are refused before anything is written', async () => {
  const tmp = makeTempDir('tcpflow-ts-fd-');
  try {
    const w = fs.openSync(path.join(tmp, 'w'), 'w');
    assert.doesNotThrow(() => checkAlertFd('tcp_alert_fd', w));
    const r = fs.openSync(path.join(tmp, 'w'), 'r');
    assert.throws(() => checkAlertFd('tcp_alert_fd', r), /tcp_alert_fd=\d+: descriptor \d+ cannot be written: Bad file descriptor/);
    fs.closeSync(w);
    fs.closeSync(r);
    assert.throws(() => checkAlertFd('http_alert_fd', 999), /http_alert_fd=999: descriptor 999 cannot be written/);
    if (fs.existsSync('/proc/self/fd')) {
      const epoll = fs.readdirSync('/proc/self/fd').find((n) => { try { return fs.readlinkSync(`/proc/self/fd/${n}`).includes('eventpoll'); } catch { return false; } });
      assert.ok(epoll !== undefined, 'libuv has an epoll descriptor');
      assert.throws(() => checkAlertFd('tcp_alert_fd', Number(epoll)), /was not given to tcpflow-ts/);
    }
    const out = path.join(tmp, 'out');
    const run = await cli(['-r', JPEGS, '-o', out, '-S', 'tcp_alert_fd=3'], null);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^tcpflow-ts: -S tcp_alert_fd=3: descriptor 3 /);
    assert.equal(fs.existsSync(out), false);
  } finally {
    removeDir(tmp);
  }
});
