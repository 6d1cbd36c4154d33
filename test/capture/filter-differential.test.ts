/**
 * Filter expressions have exactly libpcap's semantics: for each expression, the CLI given
 * the expression writes the flow files (names and bytes) it writes without one on the
 * records `tcpdump -r FILE -w - EXPRESSION` selected from the same captures. The captures
 * cover VLAN tags, IPv6, several hosts, nets and ports, and a pcapng, all Ethernet (an
 * expression like `vlan` cannot be compiled for raw IP: tcpdump refuses those too). Needs tcpdump (the
 * oracle) and the optional `pcap` package; skipped with the reason otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { makeTempDir, PCAP_DIR, pool, removeDir, runCli, walkFiles } from '../helpers/corpus';
import { libpcap } from '../../src/capture/libpcap';
import { DecompressedInput, DEFAULT_MAX_DECOMPRESSED, DEFAULT_MAX_RATIO, detectCompression } from '../../src/capture/decompress';
import { NOT_YET } from '../../src/capture/reader';

const CAPTURES = [
  'tcpflow__jpegs.cap',
  'tcpreplay__test.pcap',                    // VLAN-tagged and untagged packets, IPv6
  'pcapplusplus__example2.pcap',             // a few thousand packets, some VLAN
  'derived__tcpreplay__test__qinq.pcap',     // every packet VLAN-tagged (200), some twice
  'tcpflow__test1-out-of-order.pcap',        // pcapng
].map((f) => path.join(PCAP_DIR, f));

/** Each as the words of a command line (tcpflow joins them with spaces). */
const EXPRESSIONS: string[][] = [
  ['tcp'],
  ['ip'],
  ['ip6'],
  ['ip6 and tcp'],
  ['host', '10.1.1.1'],
  ['src host 10.1.1.101'],
  ['dst', 'host', '209.225.0.6'],
  ['net 10.0.0.0/8'],
  ['src net 10.0.0.0/24'],
  ['not', 'net', '10.0.0.0/8'],
  ['dst net 172.16.0.0/12 or src net 172.16.0.0/12'],
  ['port 80'],
  ['src port 80'],
  ['dst port 80'],
  ['tcp', 'port', '80'],
  ['not port 80'],
  ['port 80', 'or', 'port 443'],
  ['portrange 1-1024'],
  ['tcp dst portrange 3180-3190'],
  ['tcp src portrange 1024-65535 and dst portrange 1-1023'],
  ['vlan'],
  ['vlan and tcp'],
  ['not vlan'],
  ['vlan 200'],
  ['vlan 200 and tcp port 80'],
  ['tcp[tcpflags] & tcp-syn != 0'],
  ['tcp[tcpflags] & (tcp-fin|tcp-rst) != 0'],
  ['tcp[tcpflags] & tcp-push != 0 and port 80'],
  ['greater 1000'],
  ['less 100'],
  ['greater', '200', 'and', 'less', '1400'],
  ['host 10.1.1.1 and not port 80'],
  ['(src port 80 and dst net 10.0.0.0/8) or (dst port 80)'],
  ['tcp and not (host 10.1.1.1 or host 209.225.0.6)'],
  ['ip6 or (ip and tcp[13] & 2 = 2)'],
  ['len <= 1000 and tcp'],
  ['ether host 00:04:e2:22:5a:03'],
];

function skipReason(): string | null {
  try {
    libpcap('a filter expression');
  } catch (e) {
    return (e as Error).message;
  }
  if (spawnSync('tcpdump', ['--version'], { stdio: 'ignore' }).status !== 0) return 'tcpdump (the oracle) is not installed';
  return null;
}

function flowFiles(dir: string): Map<string, Buffer> {
  const m = new Map<string, Buffer>();
  if (!fs.existsSync(dir)) return m;
  for (const f of walkFiles(dir)) if (f.rel !== 'report.xml') m.set(f.rel, fs.readFileSync(f.abs));
  return m;
}

const why = skipReason();

test(`${EXPRESSIONS.length} expressions: with the expression = without it on what tcpdump selected`, { skip: why ?? false }, async () => {
  assert.ok(EXPRESSIONS.length >= 30);
  const dir = makeTempDir();
  try {
    let nonEmpty = 0;
    await pool(EXPRESSIONS, 2, async (words, i) => {
      const expr = words.join(' ');
      const base = path.join(dir, String(i));
      fs.mkdirSync(base);
      const selected = CAPTURES.map((c, k) => {
        const out = path.join(base, `sel${k}.pcap`);
        const r = spawnSync('tcpdump', ['-r', c, '-w', out, expr], { encoding: 'utf8' });
        assert.equal(r.status, 0, `tcpdump ${expr}: ${r.stderr}`);
        return out;
      });
      const viaTcpdump = await runCli([...selected.flatMap((s) => ['-r', s]), '-o', path.join(base, 'a')]);
      const withExpr = await runCli([...CAPTURES.flatMap((c) => ['-r', c]), '-o', path.join(base, 'b'), ...words]);
      assert.equal(viaTcpdump.code, 0, viaTcpdump.stderr);
      assert.equal(withExpr.code, 0, `${expr}: ${withExpr.stderr}`);
      const want = flowFiles(path.join(base, 'a'));
      const got = flowFiles(path.join(base, 'b'));
      assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), `${expr}: flow file names`);
      for (const [f, bytes] of want) assert.ok(bytes.equals(got.get(f) as Buffer), `${expr}: ${f} differs`);
      if (want.size > 0) nonEmpty++;
      removeDir(base);
    });
    // The expressions select something on these captures (a filter that drops all proves little).
    assert.ok(nonEmpty >= 30, `only ${nonEmpty} expressions selected any flow`);
  } finally {
    removeDir(dir);
  }
});

test('a bad expression: libpcap\'s message on one line, exit 1, nothing written', { skip: why ?? false }, async () => {
  const dir = makeTempDir();
  try {
    const out = path.join(dir, 'out');
    const r = await runCli(['-r', CAPTURES[0], '-o', out, 'port', '80', 'and']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'tcpflow-ts: can\'t parse filter expression: syntax error\n');
    assert.equal(fs.existsSync(out), false, 'output directory created for a bad expression');
    const bad = await runCli(['-r', CAPTURES[0], '-o', out, 'host', 'no-such-host.invalid']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^tcpflow-ts: unknown host 'no-such-host\.invalid'\n$/);
  } finally {
    removeDir(dir);
  }
});

test('a filter on standard input and on a damaged capture', { skip: why ?? false }, async () => {
  const dir = makeTempDir();
  try {
    const viaStdin = spawnSync('sh', ['-c', `node "$0" -r - -o "$1" port 80 < "$2"`, path.join(__dirname, '..', '..', 'cli', 'main.js'), path.join(dir, 'in'), CAPTURES[0]], { encoding: 'utf8' });
    assert.equal(viaStdin.status, 0, viaStdin.stderr);
    const file = await runCli(['-r', CAPTURES[0], '-o', path.join(dir, 'f'), 'port', '80']);
    assert.equal(file.code, 0);
    assert.deepEqual(flowFiles(path.join(dir, 'in')), flowFiles(path.join(dir, 'f')));
    // A named pipe is handed to libpcap unread (it cannot be read twice).
    const viaPipe = spawnSync('bash', ['-c', `node "$0" -r <(cat "$2") -o "$1" port 80`, path.join(__dirname, '..', '..', 'cli', 'main.js'), path.join(dir, 'pipe'), CAPTURES[0]], { encoding: 'utf8' });
    assert.equal(viaPipe.status, 0, viaPipe.stderr);
    assert.deepEqual(flowFiles(path.join(dir, 'pipe')), flowFiles(path.join(dir, 'f')));
    // A capture cut inside a record: the same message as without a filter, records before it kept.
    const cut = path.join(PCAP_DIR, '..', '..', 'pcaps', 'derived__tcpreplay__test__cut.pcap');
    const plain = await runCli(['-r', cut, '-o', path.join(dir, 'c1')]);
    const filtered = await runCli(['-r', cut, '-o', path.join(dir, 'c2'), 'tcp']);
    assert.equal(filtered.code, plain.code);
    // The output directory's name only: the temporary directory's random name may hold "c1" too.
    assert.equal(filtered.stderr, plain.stderr.split(path.join(dir, 'c1')).join(path.join(dir, 'c2')));
    assert.deepEqual(flowFiles(path.join(dir, 'c2')), flowFiles(path.join(dir, 'c1')));
  } finally {
    removeDir(dir);
  }
});

/** A compressed file's bytes, decompressed by the reader's decompressor (tested on its own in decompress.test.ts). */
async function decompressed(file: string): Promise<Buffer> {
  const kind = detectCompression(fs.readFileSync(file).subarray(0, 8));
  assert.ok(kind !== null, file);
  const input = new DecompressedInput(file, kind, { maxBytes: DEFAULT_MAX_DECOMPRESSED, maxRatio: DEFAULT_MAX_RATIO });
  const parts: Buffer[] = [];
  try {
    for (;;) {
      const b = Buffer.alloc(1 << 20);
      const n = input.read(b, 0, b.length);
      if (n === NOT_YET) { await input.more(); continue; }
      if (n === 0) break;
      parts.push(b.subarray(0, n));
    }
  } finally {
    input.close();
  }
  return Buffer.concat(parts);
}

test('a filter with compressed inputs (gzip, xz, bzip2, zstd): what tcpdump selects from the decompressed files', { skip: why ?? false }, async () => {
  const dir = makeTempDir();
  try {
    const rotated = path.join(PCAP_DIR, '..', '..', 'rotated');
    const gz = path.join(dir, 'first.pcap.gz');
    fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(CAPTURES[0])));
    // The rotated fixture's pieces compressed with the tools (jpegs.pcap7 is zstd, without a suffix).
    const inputs = [gz, ...['jpegs.pcap3.xz', 'jpegs.pcap5.bz2', 'jpegs.pcap7'].map((f) => path.join(rotated, f))];
    const plain = await Promise.all(inputs.map(async (f, k) => {
      const p = path.join(dir, `plain${k}.pcap`);
      fs.writeFileSync(p, await decompressed(f));
      return p;
    }));
    for (const words of [['port', '80'], ['tcp', 'and', 'greater', '600'], ['src', 'host', '192.168.1.102', 'or', 'tcp[tcpflags]', '&', 'tcp-fin', '!=', '0']]) {
      const expr = words.join(' ');
      const selected = plain.map((p, k) => {
        const out = path.join(dir, `sel${k}.pcap`);
        const r = spawnSync('tcpdump', ['-r', p, '-w', out, expr], { encoding: 'utf8' });
        assert.equal(r.status, 0, `tcpdump ${expr}: ${r.stderr}`);
        return out;
      });
      const want = await runCli([...selected.flatMap((f) => ['-r', f]), '--workers', '2', '-o', path.join(dir, 'a')]);
      const got = await runCli([...inputs.flatMap((f) => ['-r', f]), '--workers', '2', '-o', path.join(dir, 'b'), ...words]);
      assert.equal(want.code, 0, want.stderr);
      assert.equal(got.code, 0, `${expr}: ${got.stderr}`);
      const a = flowFiles(path.join(dir, 'a'));
      const b = flowFiles(path.join(dir, 'b'));
      assert.ok(a.size > 0, `${expr} selects nothing`);
      assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort(), `${expr}: flow file names`);
      for (const [f, bytes] of a) assert.ok(bytes.equals(b.get(f) as Buffer), `${expr}: ${f} differs`);
      removeDir(path.join(dir, 'a'));
      removeDir(path.join(dir, 'b'));
    }
    // Damaged compressed data: the decompressor's message as without a filter, the packets before it kept.
    const cut = path.join(dir, 'cut.xz');
    fs.writeFileSync(cut, fs.readFileSync(inputs[1]).subarray(0, 5000));
    const unfiltered = await runCli(['-r', cut, '-o', path.join(dir, 'c1')]);
    const filtered = await runCli(['-r', cut, '-o', path.join(dir, 'c2'), 'tcp']);
    assert.equal(filtered.code, 1);
    assert.equal(filtered.stderr, unfiltered.stderr.split(path.join(dir, 'c1')).join(path.join(dir, 'c2')));
    assert.match(filtered.stderr, /cut\.xz: xz data corrupt or truncated after \d+ decompressed bytes/);
    assert.deepEqual(flowFiles(path.join(dir, 'c2')), flowFiles(path.join(dir, 'c1')));
  } finally {
    removeDir(dir);
  }
});
