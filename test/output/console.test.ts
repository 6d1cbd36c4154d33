import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Console modes byte for byte against the reference tcpflow's own output, recorded by
 * scripts/record-console.sh into fixtures/console (commands in its COMMANDS.md). The
 * captures have no padded frames, so tcpflow 1.6.1's padding bug (B1) does not show.
 */
const ROOT = path.join(__dirname, '../../..');
const CLI = path.join(ROOT, 'dist/cli/main.js');
const CAPTURES = ['tcpflow__test1.pcap', 'tcpflow__test-gzip.pcap', 'tcpdump__ssh.pcap', 'pcapplusplus__Ftp.pcap',
  'tcpreplay__test.pcap', 'tcpflow__test2.pcap', 'pcapplusplus__one_ipv6_http_stream.pcap'];
const MODES: Record<string, string[]> = {
  c: ['-c'], C: ['-C'], cD: ['-c', '-D'], CD: ['-C', '-D'], cg: ['-c', '-g'], cs: ['-c', '-s'],
  cB: ['-c', '-B'], c0: ['-c', '-0'], cb100: ['-c', '-b', '100'],
};

/** `host`: [] (a small input: the worker sessions in the main thread) or ['--workers', N] (threads). */
function runIn(dir: string, args: string[], host: string[]): Buffer {
  return execFileSync(process.execPath, [CLI, ...args, '-r', 'in.pcap', '-o', 'OUT', ...host],
    { cwd: dir, maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
}

for (const cap of CAPTURES) {
  test(`console modes match tcpflow on ${cap}`, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpflow-ts-console-'));
    try {
      fs.copyFileSync(path.join(ROOT, 'fixtures/corpus/pcaps', cap), path.join(dir, 'in.pcap'));
      for (const [mode, args] of Object.entries(MODES)) {
        const expected = fs.readFileSync(path.join(ROOT, 'fixtures/console', `${cap}.${mode}.out`));
        // Arrival order must hold whatever the number of workers and wherever they run.
        for (const host of [[], ['--workers', '3']]) {
          const actual = runIn(dir, args, host);
          assert.ok(actual.equals(expected), `${cap} ${mode} ${host.join(' ') || '(main thread)'}: output differs from tcpflow's`);
        }
        assert.equal(fs.existsSync(path.join(dir, 'OUT/report.xml')), false, 'console mode writes no report');
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('-J prints one JSON object per segment, built from the flow key (spec B20)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpflow-ts-console-'));
  try {
    fs.copyFileSync(path.join(ROOT, 'fixtures/corpus/pcaps/pcapplusplus__one_ipv6_http_stream.pcap'), path.join(dir, 'in.pcap'));
    const lines = runIn(dir, ['-c', '-J'], []).toString('latin1').split('\n').filter((l) => l !== '');
    assert.ok(lines.length > 2);
    const first = JSON.parse(lines[0]) as { src_host: string; src_port: number; dst_host: string; dst_port: number; payload: number[] };
    assert.equal(first.src_host, '2001:618:400::5199:cc70');
    assert.equal(first.dst_host, '2001:618:1:8000::5');
    assert.equal(first.dst_port, 80);
    assert.equal(Buffer.from(first.payload).toString('latin1').slice(0, 4), 'GET ');
    assert.match(lines[0], /,"payload": \[/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
