/**
 * -d levels (spec §6.6): which of tcpflow's debug messages appear at which level, checked on
 * a real run, and the level arithmetic of the logger.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { levelFor } from '../../src/util/log';
import { makeTempDir, PCAP_DIR, removeDir, runCli, stackFrames, unprefixedLines } from '../helpers/corpus';

test('tcpflow -d levels map onto pino levels', () => {
  assert.equal(levelFor(0), 'warn');
  assert.equal(levelFor(1), 'info');
  assert.equal(levelFor(2), 'debug');
  assert.equal(levelFor(9), 'debug');
  assert.equal(levelFor(10), 'trace');
});

/** Messages expected from `-r tcpflow__test1.pcap` (4 flows, 20 TCP packets), by the lowest level that shows them. */
const BY_LEVEL: [number, RegExp][] = [
  [1, /^tcpflow-ts: reportfilename: .*report\.xml$/m],
  [1, /^tcpflow-ts: changing max_fds from \d+ to 2$/m],
  [2, /^tcpflow-ts: Open FDs at end of processing: +\d+$/m],
  [2, /^tcpflow-ts: Flows seen: +4$/m],
  [2, /^tcpflow-ts: Total flows processed: 4$/m],
  [2, /^tcpflow-ts: Total packets processed: 20$/m],
  [3, /^tcpflow-ts: looking for handler for datalink type 1 for interface .*tcpflow__test1\.pcap$/m],
  [5, /^tcpflow-ts: new flow flow\[192\.168\.1\.102:50955->74\.125\.19\.104:80\]\. path: {2}next seq num \(nsn\):3895900921$/m],
  [5, /^tcpflow-ts: .*192\.168\.001\.102\.50955-074\.125\.019\.104\.00080: created new file$/m],
  [5, /^tcpflow-ts: .*192\.168\.001\.102\.50955-074\.125\.019\.104\.00080: closing file in tcpip::close_file$/m],
  [10, /^tcpflow-ts: tcpflow-ts \S+ \(tcpflow 1\.6\.1 compatible\)$/m],
  [10, /^tcpflow-ts: process_pkt #0 192\.168\.1\.102:50712->17\.250\.248\.105:80 seq \d+ flags 0x11 len 0$/m],
  [10, /^tcpflow-ts: Cleaning up flows$/m],
];

test('-d 0, 1, 2, 3, 5, 10: each message from its level on, none before', async () => {
  const tmp = makeTempDir('tcpflow-ts-debug-');
  try {
    for (const level of [0, 1, 2, 3, 5, 10]) {
      const run = await runCli(['-d', String(level), '-f', '2', '--workers', '2', '-r', path.join(PCAP_DIR, 'tcpflow__test1.pcap'),
        '-o', path.join(tmp, `out${level}`)]);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(stackFrames(run.stderr), []);
      assert.deepEqual(unprefixedLines(run.stderr), []);
      for (const [from, re] of BY_LEVEL) {
        assert.equal(re.test(run.stderr), level >= from, `-d ${level}: ${re} ${level >= from ? 'missing' : 'shown'}\n${run.stderr}`);
      }
      if (level === 10) assert.equal(run.stderr.match(/process_pkt #/g)?.length, 21, 'one process_pkt line per TCP segment (21; 20 of them counted in flows)');
    }
  } finally {
    removeDir(tmp);
  }
});

test('-d 2: -b truncation is reported', async () => {
  const tmp = makeTempDir('tcpflow-ts-debug-');
  try {
    const run = await runCli(['-d', '2', '-b', '10', '-r', path.join(PCAP_DIR, 'tcpflow__test1.pcap'), '-o', path.join(tmp, 'out')]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /^tcpflow-ts: packet truncated by max_bytes_per_flow on flow\[192\.168\.1\.102:50955->74\.125\.19\.104:80\] \(its later packets are not reported\)$/m);
    // One line per flow direction, not per packet.
    const lines = run.stderr.split('\n').filter((l) => l.includes('truncated by max_bytes'));
    assert.equal(lines.length, new Set(lines).size, run.stderr);
    const quiet = await runCli(['-d', '1', '-b', '10', '-r', path.join(PCAP_DIR, 'tcpflow__test1.pcap'), '-o', path.join(tmp, 'out1')]);
    assert.doesNotMatch(quiet.stderr, /truncated by max_bytes/);
  } finally {
    removeDir(tmp);
  }
});
