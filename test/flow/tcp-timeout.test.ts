/**
 * -S tcp_timeout (spec §3.3 step 13, §3.5; B17 chosen: also checked before the flow's own
 * packet): small captures whose files say exactly when a flow was closed, the whole-second
 * rule, and interleaved connections idle past the timeout between each of their packets,
 * whose files, mtimes, report records and their order are the same for 1, 2 and 4
 * workers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ACK, FIN, PSH, SYN, ether, ipv4, tcp } from '../helpers/packets';
import { type Frame, writePcap } from '../helpers/pcap-write';
import { writeInterleavedFlows } from '../helpers/flowgen';
import { makeTempDir, removeDir, runCli } from '../helpers/corpus';
import { assertSameOutcomes, runOutcome } from '../helpers/outcome';

const A = '010.000.000.001.40000-010.000.000.002.00080';
const B = '010.000.000.003.40001-010.000.000.002.00080';

function seg(client: string, sport: number, seq: number, flags: number, payload: string, sec: number, usec = 0): Frame {
  return { bytes: ether(ipv4(tcp({ sport, dport: 80, seq, flags, payload }), { src: client, dst: '10.0.0.2' })), sec, usec };
}

/** Runs `frames` with `args`; returns the flow files and their contents. */
async function flowFiles(tmp: string, name: string, frames: Frame[], args: string[]): Promise<Record<string, string>> {
  const capture = path.join(tmp, `${name}.pcap`);
  writePcap(capture, frames);
  const out = path.join(tmp, name);
  const r = await runCli(['-r', capture, '-o', out, ...args]);
  assert.equal(r.code, 0, r.stderr);
  const files: Record<string, string> = {};
  for (const f of fs.readdirSync(out).sort()) if (f !== 'report.xml') files[f] = fs.readFileSync(path.join(out, f), 'latin1');
  return files;
}

const T = 1_600_000_000;
/** Flow A's SYN at T and its first data at T + 1. */
const OPENING = [seg('10.0.0.1', 40000, 1000, SYN, '', T), seg('10.0.0.1', 40000, 1001, ACK | PSH, 'first;', T + 1)];
/** Then flow B at T + 100, and A's second data at T + 101. */
const IDLE_THEN_MORE = [
  ...OPENING,
  seg('10.0.0.3', 40001, 5000, SYN, '', T + 100),
  seg('10.0.0.3', 40001, 5001, ACK | PSH, 'other;', T + 100),
  seg('10.0.0.1', 40000, 1007, ACK | PSH, 'second;', T + 101),
];

test('an idle flow is closed by a later packet of another flow; its next data starts …c1', async () => {
  const tmp = makeTempDir();
  try {
    const frames = [
      ...IDLE_THEN_MORE,
      seg('10.0.0.1', 40000, 1014, ACK | FIN, '', T + 102),
    ];
    assert.deepEqual(await flowFiles(tmp, 'none', frames, []), { [A]: 'first;second;', [B]: 'other;' });
    assert.deepEqual(await flowFiles(tmp, 't50', frames, ['-S', 'tcp_timeout=50']), { [A]: 'first;', [`${A}c1`]: 'second;', [B]: 'other;' });
    // 100 s of idleness is within a 100-second timeout (more than, not at least).
    assert.deepEqual(await flowFiles(tmp, 't100', frames, ['-S', 'tcp_timeout=100']), { [A]: 'first;second;', [B]: 'other;' });
  } finally {
    removeDir(tmp);
  }
});

test('B17: a flow\'s own packet after a long silence closes it first (tcpflow would keep the flow going)', async () => {
  const tmp = makeTempDir();
  try {
    const frames = [
      ...OPENING,
      seg('10.0.0.1', 40000, 1007, ACK | PSH, 'late;', T + 200),
    ];
    assert.deepEqual(await flowFiles(tmp, 'own', frames, ['-S', 'tcp_timeout=50']), { [A]: 'first;', [`${A}c1`]: 'late;' });
    // Whole seconds are compared, as in tcpflow: 50.9 s apart on the clock but 51 by the
    // second counts (T+10.9 → T+61.0); 50.99 s is 50 (T+10.0 → T+60.99).
    const edge = (lastSec: number, lastUsec: number, nextSec: number, nextUsec: number) => [
      seg('10.0.0.1', 40000, 1000, SYN, '', T),
      seg('10.0.0.1', 40000, 1001, ACK | PSH, 'first;', T + lastSec, lastUsec),
      seg('10.0.0.1', 40000, 1007, ACK | PSH, 'next;', T + nextSec, nextUsec),
    ];
    assert.deepEqual(await flowFiles(tmp, 'e1', edge(10, 900_000, 61, 0), ['-S', 'tcp_timeout=50']), { [A]: 'first;', [`${A}c1`]: 'next;' });
    assert.deepEqual(await flowFiles(tmp, 'e2', edge(10, 0, 60, 990_000), ['-S', 'tcp_timeout=50']), { [A]: 'first;next;' });
  } finally {
    removeDir(tmp);
  }
});

/** Multiply the times of a generated pcap (little-endian, µs) by `factor`, from its first packet. */
function stretchTime(file: string, factor: number): void {
  const b = fs.readFileSync(file);
  let t0 = -1;
  for (let o = 24; o + 16 <= b.length; o += 16 + b.readUInt32LE(o + 8)) {
    const t = b.readUInt32LE(o) * 1e6 + b.readUInt32LE(o + 4);
    if (t0 < 0) t0 = t;
    const s = t0 + (t - t0) * factor;
    b.writeUInt32LE(Math.floor(s / 1e6), o);
    b.writeUInt32LE(s % 1e6, o + 4);
  }
  fs.writeFileSync(file, b);
}

test('connections idle past the timeout between their packets: identical output for --workers 1, 2 and 4', async () => {
  const tmp = makeTempDir('tcpflow-ts-timeout-');
  try {
    const capture = path.join(tmp, 'interleaved.pcap');
    // Packets 10 ms apart; 300 connections at a time put 3 s between a connection's packets,
    // past a 2-second timeout, so flows close between their segments (their data goes on
    // in …c1), and every tenth connection is a SYN alone.
    writeInterleavedFlows(capture, { connections: 1000, active: 300, segments: 2, halfOpenEvery: 10 });
    stretchTime(capture, 10);
    const args = ['-S', 'tcp_timeout=2', '-e', 'md5'];
    const [base, ...rest] = [await runOutcome(capture, ['--workers', '1', ...args]),
      await runOutcome(capture, ['--workers', '2', ...args]), await runOutcome(capture, ['--workers', '4', ...args])];
    assert.equal(base.exit, 0, base.stderr);
    assert.ok(base.files.filter((f) => /c1 /.test(f)).length > 1000, 'flows were closed by the timeout and went on in …c1');
    assertSameOutcomes(base, rest);
    // Without the timeout, flows go on in their files (the few c1 are 4-tuples reused).
    const plain = await runOutcome(capture, ['--workers', '2']);
    assert.ok(plain.files.filter((f) => /c1 /.test(f)).length < 100);
  } finally {
    removeDir(tmp);
  }
});

test('the report counts the flows closed idle (DFXML <flows_timed_out>, JSON Lines flows_timed_out), the same for --workers 1, 2, 4; without -S tcp_timeout neither', async () => {
  const tmp = makeTempDir();
  try {
    const frames = [
      ...IDLE_THEN_MORE,
      // A closed idle by B's SYN (99 s), its …c1 (100 s) and B (101 s) by this packet of a third connection.
      seg('10.0.0.4', 40002, 7000, SYN, '', T + 201),
    ];
    const capture = path.join(tmp, 'idle.pcap');
    writePcap(capture, frames);
    for (const [args, count] of [[['-S', 'tcp_timeout=50'], '3'], [[], null]] as const) {
      for (const workers of ['1', '2', '4']) {
        const out = path.join(tmp, `w${workers}-${count}`);
        const r = await runCli(['--workers', workers, '-r', capture, '-o', out, '--jsonl', `${out}.jsonl`, ...args]);
        assert.equal(r.code, 0, r.stderr);
        const report = fs.readFileSync(path.join(out, 'report.xml'), 'utf8');
        const summary = JSON.parse(fs.readFileSync(`${out}.jsonl`, 'utf8').trim().split('\n').pop() as string) as Record<string, unknown>;
        if (count === null) {
          assert.doesNotMatch(report, /flows_timed_out/);
          assert.equal(summary.flows_timed_out, undefined);
        } else {
          assert.match(report, new RegExp(`\\n  <flows_timed_out tcp_timeout="50">${count}</flows_timed_out>\\n`), `--workers ${workers}`);
          assert.deepEqual([summary.flows_timed_out, summary.tcp_timeout], [Number(count), 50], `--workers ${workers}`);
        }
      }
    }
  } finally {
    removeDir(tmp);
  }
});
