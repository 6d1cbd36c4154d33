/**
 * Live capture end to end: a fresh network namespace joined to the host by a veth pair;
 * tcpflow-ts listens on the namespace's end (-i) while tcpreplay sends corpus captures into
 * the host's end; SIGINT stops it. Its flow files must be those of a -r run of the same
 * captures, and the interface must be promiscuous during the capture unless -p is given.
 * Needs root, ip(8) with netns support, tcpreplay and the optional `pcap` package (CI has
 * them all); elsewhere the test is skipped and says why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI, makeTempDir, PCAP_DIR, removeDir, runCli, walkFiles } from '../helpers/corpus';
import { libpcap } from '../../src/capture/libpcap';

/** Ethernet captures without VLAN tags, every frame within a 1500-byte MTU, TCP flows with payload. */
const CAPTURES = [
  'tcpflow__jpegs.cap',
  'pcapplusplus__http-packets2.pcap',
  'pcapplusplus__650HttpResponses.pcap',
  'tcpdump__ssh.pcap',
  'pcapplusplus__three_http_streams.pcap',
].map((f) => path.join(PCAP_DIR, f));

const NS = `tft${process.pid}`;
const HOST_IF = `tfh${process.pid % 100000}`;
const NS_IF = `tfn${process.pid % 100000}`;

function sh(cmd: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}` };
}

/** null when the namespace and veth pair are up, else why the test cannot run here. */
function setUp(): string | null {
  if (process.getuid?.() !== 0) return 'not root: network namespaces cannot be made';
  try {
    libpcap('live capture');
  } catch (e) {
    return (e as Error).message;
  }
  if (!sh('tcpreplay', ['--version']).ok) return 'tcpreplay is not installed (Debian package tcpreplay)';
  const steps: [string, string[]][] = [
    ['ip', ['netns', 'add', NS]],
    ['ip', ['link', 'add', HOST_IF, 'mtu', '9000', 'type', 'veth', 'peer', 'name', NS_IF, 'mtu', '9000']],
    ['ip', ['link', 'set', NS_IF, 'netns', NS]],
    ['ip', ['link', 'set', HOST_IF, 'up']],
    ['ip', ['netns', 'exec', NS, 'ip', 'link', 'set', NS_IF, 'up']],
    ['ip', ['netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up']],
  ];
  for (const [cmd, args] of steps) {
    const r = sh(cmd, args);
    if (!r.ok) {
      tearDown();
      return `cannot make a network namespace here: ${cmd} ${args.join(' ')}: ${r.out.trim()}`;
    }
  }
  // Router solicitations and the like are not TCP, but keep the link quiet all the same.
  sh('sysctl', ['-q', '-w', `net.ipv6.conf.${HOST_IF}.disable_ipv6=1`]);
  sh('ip', ['netns', 'exec', NS, 'sysctl', '-q', '-w', `net.ipv6.conf.${NS_IF}.disable_ipv6=1`]);
  return null;
}

function tearDown(): void {
  sh('ip', ['link', 'del', HOST_IF]);
  sh('ip', ['netns', 'del', NS]);
}

/** The interface's promiscuity count, as `ip -d link` shows it inside the namespace. */
function promiscuity(): number {
  const r = sh('ip', ['netns', 'exec', NS, 'ip', '-d', 'link', 'show', NS_IF]);
  const m = /promiscuity (\d+)/.exec(r.out);
  assert.ok(m, `no promiscuity in: ${r.out}`);
  return Number(m[1]);
}

/** Every file under `dir` but the report, name → contents. */
function flowFiles(dir: string): Map<string, Buffer> {
  const m = new Map<string, Buffer>();
  for (const f of walkFiles(dir)) if (f.rel !== 'report.xml') m.set(f.rel, fs.readFileSync(f.abs));
  return m;
}

interface LiveRun { code: number | null; stderr: string; promiscuity: number }

interface Listener {
  child: ChildProcess;
  /** Settles once tcpflow-ts says it is listening (rejects if it ended first). */
  listening: Promise<void>;
  exited: Promise<number | null>;
  /** What it printed on `stream` so far. */
  text(): string;
}

/** A command that runs tcpflow-ts -i; its messages are read from `stream` (stderr, or stdout under script(1)). */
function listen(cmd: string, args: string[], stream: 'stdout' | 'stderr', cwd?: string): Listener {
  const child = spawn(cmd, args, { cwd, stdio: ['ignore', stream === 'stdout' ? 'pipe' : 'ignore', 'pipe'] });
  let text = '';
  const listening = new Promise<void>((resolve, reject) => {
    (child[stream] as NodeJS.ReadableStream).on('data', (b: Buffer) => {
      text += b.toString();
      if (text.includes(`listening on ${NS_IF}`)) resolve();
    });
    child.on('exit', () => reject(new Error(`tcpflow-ts ended before listening: ${text}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, listening, exited, text: () => text };
}

/** tcpflow-ts -i in the namespace with `args`, messages on stderr. */
function listenInNamespace(args: string[], cwd?: string): Listener {
  return listen('ip', ['netns', 'exec', NS, process.execPath, CLI, '-i', NS_IF, ...args], 'stderr', cwd);
}

/** tcpflow-ts -i in the namespace, the captures replayed into it, then SIGINT. */
async function liveRun(out: string, extra: string[], cwd?: string): Promise<LiveRun> {
  const run = listenInNamespace(['--workers', '2', '-o', out, ...extra], cwd);
  const { child, exited } = run;
  await run.listening;
  const promisc = promiscuity();
  const replay = sh('tcpreplay', ['-q', '--topspeed', '-i', HOST_IF, ...CAPTURES]);
  assert.ok(replay.ok, `tcpreplay failed: ${replay.out}`);
  // Delivery on a veth is synchronous, and a stop takes what libpcap still holds: the
  // pause only lets the status settle before the signal.
  await new Promise((r) => setTimeout(r, 500));
  child.kill('SIGINT');
  return { code: await exited, stderr: run.text(), promiscuity: promisc };
}

const why = setUp();
if (why === null) process.on('exit', tearDown);

test('live capture (-i) of replayed captures writes the flow files of a -r run; promiscuous by default, not with -p', { skip: why ?? false }, async () => {
  const dir = makeTempDir();
  try {
    const ref = await runCli([...CAPTURES.flatMap((c) => ['-r', c]), '--workers', '2', '-o', path.join(dir, 'ref')]);
    assert.equal(ref.code, 0, ref.stderr);
    const expected = flowFiles(path.join(dir, 'ref'));
    assert.ok(expected.size > 20, `only ${expected.size} flow files in the -r run`);

    for (const [name, extra, promiscuous] of [['promisc', [], true], ['no-promisc', ['-p'], false]] as const) {
      const out = path.join(dir, name);
      const r = await liveRun(out, [...extra]);
      assert.equal(r.code, 0, `exit status after SIGINT (a user stop): ${r.stderr}`);
      if (promiscuous) assert.ok(r.promiscuity >= 1, `${NS_IF} not promiscuous during capture`);
      else assert.equal(r.promiscuity, 0, `${NS_IF} promiscuous with -p`);
      assert.equal(promiscuity(), 0, 'promiscuous mode left on after the run');
      const got = flowFiles(out);
      assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort(), `${name}: flow file names`);
      for (const [f, bytes] of expected) assert.ok(bytes.equals(got.get(f) as Buffer), `${name}: ${f} differs from the -r run`);
      // The report is complete and says what the interface saw.
      const report = fs.readFileSync(path.join(out, 'report.xml'), 'utf8');
      assert.match(report, /<\/dfxml>\n$/);
      const stats = /<capture_stats interface="([^"]+)" captured="(\d+)" received="(\d+)" kernel_dropped="(\d+)"/.exec(report);
      assert.ok(stats, 'no capture_stats in the report');
      assert.equal(stats[1], NS_IF);
      assert.equal(stats[4], '0', 'kernel drops on a few hundred packets');
      assert.match(r.stderr, new RegExp(`${NS_IF}: ${stats[2]} packets captured, .* 0 dropped by kernel`));
      // stderr is a pipe here: no status line
      assert.doesNotMatch(r.stderr, /packets\/s|\r/);
    }
  } finally {
    removeDir(dir);
  }
});

const nobody = spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' });
let chrootAddon: string | null = null;
try {
  require('tcpflow-ts-chroot');
} catch (e) {
  chrootAddon = `the optional tcpflow-ts-chroot addon is not built (${(e as Error).message.split('\n')[0]})`;
}
const jailSkip = why ?? (nobody.status !== 0 ? 'no user nobody' : chrootAddon ?? false);

test('a live capture with -z jail -U nobody: the flow files of a -r run, inside jail only, owned by nobody; the report complete', { skip: jailSkip }, async () => {
  const dir = makeTempDir();
  try {
    fs.chmodSync(dir, 0o755);
    const jail = path.join(dir, 'jail');
    fs.mkdirSync(jail);
    const ref = await runCli([...CAPTURES.flatMap((c) => ['-r', c]), '--workers', '2', '-o', path.join(dir, 'ref')]);
    assert.equal(ref.code, 0, ref.stderr);
    // The interface is opened as root, then the run chroots and becomes nobody; `out` is taken inside jail.
    const r = await liveRun('out', ['-z', 'jail', '-U', 'nobody', '--jsonl', 'flows.jsonl'], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^tcpflow-ts: dropped privs to nobody$/m);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['jail', 'ref']);
    assert.deepEqual(fs.readdirSync(jail).sort(), ['flows.jsonl', 'out']);
    const expected = flowFiles(path.join(dir, 'ref'));
    const got = flowFiles(path.join(jail, 'out'));
    assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort());
    for (const [f, bytes] of expected) assert.ok(bytes.equals(got.get(f) as Buffer), `${f} differs from the -r run`);
    const uid = Number(nobody.stdout.trim());
    for (const f of walkFiles(path.join(jail, 'out'))) assert.equal(fs.statSync(f.abs).uid, uid, f.rel);
    const report = fs.readFileSync(path.join(jail, 'out', 'report.xml'), 'utf8');
    assert.match(report, /<\/dfxml>\n$/);
    assert.match(report, new RegExp(`<capture_stats interface="${NS_IF}" captured="\\d+"`));
    const records = fs.readFileSync(path.join(jail, 'flows.jsonl'), 'utf8').trim().split('\n');
    assert.equal(records.length - 1, expected.size, 'a JSON Lines record per flow file, then the summary');
  } finally {
    removeDir(dir);
  }
});

test('two live --shard runs on one interface, merged: the flow files of a -r run, each shard\'s capture counts in the report', { skip: why ?? false }, async () => {
  const dir = makeTempDir();
  try {
    const ref = await runCli([...CAPTURES.flatMap((c) => ['-r', c]), '--workers', '2', '-o', path.join(dir, 'ref')]);
    assert.equal(ref.code, 0, ref.stderr);
    const out = path.join(dir, 'live');
    const shards = [0, 1].map((k) => listenInNamespace(['--shard', `${k}/2`, '--workers', '2', '-o', out, '--jsonl', path.join(dir, 'f.jsonl')]));
    await Promise.all(shards.map((s) => s.listening));
    const replay = sh('tcpreplay', ['-q', '--topspeed', '-i', HOST_IF, ...CAPTURES]);
    assert.ok(replay.ok, `tcpreplay failed: ${replay.out}`);
    await new Promise((r) => setTimeout(r, 500));
    for (const s of shards) s.child.kill('SIGINT');
    for (const s of shards) assert.equal(await s.exited, 0, s.text());
    const merged = await runCli(['merge-reports', '-o', path.join(dir, 'merged.xml'), '--jsonl', path.join(dir, 'merged.jsonl'),
      ...[0, 1].map((k) => path.join(out, `report.shard-${k}-of-2.xml`)), ...[0, 1].map((k) => path.join(dir, `f.shard-${k}-of-2.jsonl`))]);
    assert.equal(merged.code, 0, merged.stderr);
    const expected = flowFiles(path.join(dir, 'ref'));
    const got = flowFiles(out);
    for (const k of [0, 1]) got.delete(`report.shard-${k}-of-2.xml`);
    assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort());
    for (const [f, bytes] of expected) assert.ok(bytes.equals(got.get(f) as Buffer), `${f} differs from the -r run`);
    // Both shards saw every packet of the interface: each one's counts are kept, by shard.
    const report = fs.readFileSync(path.join(dir, 'merged.xml'), 'utf8');
    const stats = [...report.matchAll(/<capture_stats shard="(\d)" interface="([^"]+)" captured="(\d+)"/g)];
    assert.deepEqual(stats.map((m) => [m[1], m[2]]), [['0', NS_IF], ['1', NS_IF]]);
    for (const m of stats) assert.ok(Number(m[3]) >= 1000, `shard ${m[1]} captured only ${m[3]} packets`);
    const summary = JSON.parse(fs.readFileSync(path.join(dir, 'merged.jsonl'), 'utf8').trimEnd().split('\n').pop() as string) as { captures: { shard: number; captured: number }[] };
    assert.deepEqual(summary.captures.map((c) => [c.shard, c.captured]), stats.map((m) => [Number(m[1]), Number(m[3])]));
  } finally {
    removeDir(dir);
  }
});

/**
 * tcpflow-ts -i on a pseudo-terminal (script(1) of util-linux gives the command one as its
 * stdin, stdout and stderr), a capture replayed, SIGINT; returns what the terminal showed.
 */
async function ttyRun(out: string, extra: string[]): Promise<{ code: number | null; screen: string }> {
  // `ip netns exec` and the shell exec: the pid printed is tcpflow-ts's.
  const cmd = `echo PID $$; exec ip netns exec ${NS} ${process.execPath} ${CLI} -i ${NS_IF} --workers 2 -o ${out} ${extra.join(' ')}`;
  const run = listen('script', ['-qfec', cmd, '/dev/null'], 'stdout');
  await run.listening;
  const screen = run.text;
  const pid = Number(/PID (\d+)/.exec(screen())?.[1]);
  const replay = sh('tcpreplay', ['-q', '--topspeed', '-i', HOST_IF, CAPTURES[0]]);
  assert.ok(replay.ok, `tcpreplay failed: ${replay.out}`);
  // The status line is redrawn every 500 ms: two redraws at least after the packets.
  await new Promise((r) => setTimeout(r, 1300));
  process.kill(pid, 'SIGINT');
  return { code: await run.exited, screen: screen() };
}

test('on a terminal a one-line live status shows packets, packets/s, open flows and drops; not with -q', { skip: why ?? false }, async () => {
  const dir = makeTempDir();
  try {
    const shown = await ttyRun(path.join(dir, 'tty'), []);
    assert.equal(shown.code, 0, shown.screen);
    const lines = [...shown.screen.matchAll(new RegExp(`\r\x1b\\[K${NS_IF}: ([\\d,]+) packets  ([\\d,]+) packets/s  ([\\d,]+) flows open  ([\\d,]+) dropped`, 'g'))];
    assert.ok(lines.length >= 2, `no status line on the terminal: ${JSON.stringify(shown.screen)}`);
    const last = lines[lines.length - 1];
    const stats = /<capture_stats interface="[^"]+" captured="(\d+)"/.exec(fs.readFileSync(path.join(dir, 'tty', 'report.xml'), 'utf8'));
    assert.ok(stats);
    // The last redraw came after every packet: it counts them all, and nothing lost.
    assert.equal(last[1].replace(/,/g, ''), stats[1]);
    assert.equal(last[4], '0');
    assert.ok(lines.some((l) => Number(l[2].replace(/,/g, '')) > 0), 'a rate above 0 while the packets came');
    // The line is cleared before the messages that end the capture.
    assert.match(shown.screen, /dropped\r\x1b\[Ktcpflow-ts: SIGINT: terminating orderly/);

    const quiet = await ttyRun(path.join(dir, 'quiet'), ['-q']);
    assert.equal(quiet.code, 0, quiet.screen);
    assert.doesNotMatch(quiet.screen, /packets\/s/);
  } finally {
    removeDir(dir);
  }
});

test('a live capture with a filter expression keeps only what it selects', { skip: why ?? false }, async () => {
  const dir = makeTempDir();
  try {
    const expr = ['tcp', 'port', '80', 'and', 'not', 'host', '10.1.1.1'];
    const ref = await runCli([...CAPTURES.flatMap((c) => ['-r', c]), '-o', path.join(dir, 'ref'), ...expr]);
    assert.equal(ref.code, 0, ref.stderr);
    const r = await liveRun(path.join(dir, 'live'), expr);
    assert.equal(r.code, 0, r.stderr);
    const expected = flowFiles(path.join(dir, 'ref'));
    const got = flowFiles(path.join(dir, 'live'));
    assert.ok(expected.size > 0);
    assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort());
    for (const [f, bytes] of expected) assert.ok(bytes.equals(got.get(f) as Buffer), `${f} differs`);
  } finally {
    removeDir(dir);
  }
});
