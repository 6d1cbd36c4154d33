/**
 * Safety: nothing taken from the input can place a file outside the output directory or
 * overwrite a file there, and the report stays well-formed XML whatever text reaches it.
 *
 * The input controls only numbers in flow file names (addresses, ports, VLAN ids, MAC
 * addresses, times, connection counters); templates come from the user. Captures with
 * the most hostile values run through every escape, as files and as directories: every
 * file created must be inside the output directory, files beside it untouched, and flow
 * files are created exclusively (O_EXCL): a file or symbolic link already there under a
 * flow's name is left alone and the flow goes to the next name (c1).
 *
 * The report: command line, output directory, file names and error messages with every
 * character XML 1.0 forbids (C0 controls, U+FFFE/U+FFFF, bytes that are not UTF-8 in
 * argv) must leave it well-formed (test/report/xml-escape.test.ts covers lone surrogates,
 * which cannot come through argv, at the unit level).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assertWellFormedXml, CLI, makeTempDir, removeDir, stackFrames, unprefixedLines } from '../helpers/corpus';
import { ACK, ether, ipv4, ipv6, PSH, tcp } from '../helpers/packets';
import { Frame, writePcap } from '../helpers/pcap-write';
import { sanitizeXmlChars } from '../../src/report/xml-text';

interface Run { code: number | null; stderr: string }

function cliSync(args: string[], cwd: string): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8' });
  return { code: r.status, stderr: r.stderr };
}

/** Frames of flows with the most hostile values the input controls. */
function hostileFrames(): Frame[] {
  const FF = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
  const ZERO = [0, 0, 0, 0, 0, 0];
  const data = (i: number) => `flow ${i} <&'"> %41 ../../x\n`;
  const seg = (i: number, sport: number, dport: number) => tcp({ sport, dport, seq: 1000, flags: ACK | PSH, payload: data(i) });
  const list: [Uint8Array, number][] = [
    // Extreme IPv4 addresses and ports.
    [ether(ipv4(seg(0, 0, 65535), { src: '0.0.0.0', dst: '255.255.255.255' })), 0],
    [ether(ipv4(seg(1, 65535, 0), { src: '255.255.255.255', dst: '0.0.0.0' })), 0xffffffff],
    // IPv6: all zeros (text "::"), all ones, and the forms with dots.
    [ether(ipv6(seg(2, 0, 65535), { src: '::', dst: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff' })), 1],
    [ether(ipv6(seg(3, 1, 2), { src: '::ffff:1.2.3.4', dst: '::1.2.3.4' })), 2],
    // VLAN ids 4095 and 0, QinQ, broadcast and all-zero MAC addresses.
    [ether(ipv6(seg(4, 443, 80), { src: 'fe80::1', dst: 'ff02::1' }), { tags: [{ tpid: 0x8100, tci: 0xffff }], dst: FF, src: ZERO }), 3],
    [ether(ipv4(seg(5, 80, 80), { src: '10.0.0.1', dst: '10.0.0.2' }), { tags: [{ tpid: 0x88a8, tci: 0x0fff }, { tpid: 0x8100, tci: 0 }], dst: ZERO, src: FF }), 4],
    [ether(ipv4(seg(6, 81, 81), { src: '10.0.0.1', dst: '10.0.0.2' }), { tags: [{ tpid: 0x8100, tci: 0 }] }), 5],
  ];
  return list.map(([bytes, sec], i) => ({ bytes, sec, usec: i * 111111 % 1000000 }));
}

/** Every path below `dir` (directories end in '/'), with file md5s; symbolic links as `-> target`. */
function snapshot(dir: string): Map<string, string> {
  const m = new Map<string, string>();
  const walk = (d: string, rel: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      const p = path.join(d, e.name);
      if (e.isSymbolicLink()) m.set(r, `-> ${fs.readlinkSync(p)}`);
      else if (e.isDirectory()) { m.set(`${r}/`, ''); walk(p, r); }
      else m.set(r, createHash('md5').update(fs.readFileSync(p)).digest('hex'));
    }
  };
  walk(dir, '');
  return m;
}

function reportFilenames(out: string): string[] {
  const bytes = fs.readFileSync(path.join(out, 'report.xml'));
  assertWellFormedXml(bytes);
  return [...bytes.toString('utf8').matchAll(/<filename>([^<]*)<\/filename>/g)].map((m) => m[1]);
}

const NAMINGS: string[][] = [
  [],
  ['-T', '%A/%B/%a/%b/x%V%v%C%c'],
  ['-T', '%e/%E/%A.%a-%B.%b'],
  ['-T', '%T_%t_%V%v_%#_%C%c_%N_%K_%M_%G_%S_%%_%A_%E'],
  ['-Fk'],
  ['-Fg', '-Fc'],
];

for (const naming of NAMINGS) {
  test(`hostile addresses, ports, VLANs, MACs, times with ${naming.join(' ') || 'the default names'}: every file inside the output directory`, () => {
    const tmp = makeTempDir('tcpflow-ts-safety-');
    try {
      const cap = path.join(tmp, 'hostile.pcap');
      writePcap(cap, hostileFrames());
      fs.mkdirSync(path.join(tmp, 'beside'));
      fs.writeFileSync(path.join(tmp, 'beside', 'victim'), 'keep me\n');
      const before = snapshot(tmp);
      const out = path.join(tmp, 'out');
      const r = cliSync([...naming, '-r', cap, '-o', out, '--workers', '2'], tmp);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(stackFrames(r.stderr), []);
      // Nothing changed beside the output directory.
      const after = snapshot(tmp);
      for (const [p, v] of after) if (!p.startsWith('out/')) assert.equal(v, before.get(p), `${p} appeared or changed`);
      for (const [p, v] of before) assert.equal(after.get(p), v, `${p} disappeared or changed`);
      // Inside it: regular files and directories only, each really below it.
      const realOut = fs.realpathSync(out);
      const files: string[] = [];
      for (const [p, v] of after) {
        if (!p.startsWith('out/') || p === 'out/') continue;
        assert.ok(!v.startsWith('->'), `${p} is a symbolic link`);
        const real = fs.realpathSync(path.join(tmp, p));
        assert.ok(real.startsWith(realOut + path.sep), `${p} resolves outside the output directory: ${real}`);
        if (!p.endsWith('/') && p !== 'out/report.xml') files.push(p.slice('out/'.length));
      }
      assert.equal(files.length, 7, `flow files: ${files.join(', ')}`);
      // The report names exactly these files.
      assert.deepEqual(reportFilenames(out).map((f) => path.relative(out, f)).sort(), files.sort());
    } finally {
      removeDir(tmp);
    }
  });
}

test('a file or symbolic link already under a flow\'s name is left alone; the flow goes to c1', () => {
  const tmp = makeTempDir('tcpflow-ts-safety-');
  try {
    const cap = path.join(tmp, 'hostile.pcap');
    writePcap(cap, hostileFrames());
    // The names a run into an empty directory gives.
    const ref = path.join(tmp, 'ref');
    assert.equal(cliSync(['-r', cap, '-o', ref], tmp).code, 0);
    const refFiles = snapshot(ref);
    refFiles.delete('report.xml');
    const names = [...refFiles.keys()].sort();
    assert.equal(names.length, 7);
    // Planted: a regular file, a link to a file beside the output directory, a dangling
    // link to where a file could be created, a directory.
    const out = path.join(tmp, 'out');
    fs.mkdirSync(out);
    fs.mkdirSync(path.join(tmp, 'beside'));
    const victim = path.join(tmp, 'beside', 'victim');
    fs.writeFileSync(victim, 'keep me\n');
    fs.writeFileSync(path.join(out, names[0]), 'planted\n');
    fs.symlinkSync(victim, path.join(out, names[1]));
    fs.symlinkSync(path.join(tmp, 'beside', 'created'), path.join(out, names[2]));
    fs.mkdirSync(path.join(out, names[3]));
    const planted = snapshot(out);
    const r = cliSync(['-r', cap, '-o', out, '--workers', '2'], tmp);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.readFileSync(victim, 'utf8'), 'keep me\n');
    assert.ok(!fs.existsSync(path.join(tmp, 'beside', 'created')), 'a file was created through a dangling link');
    const after = snapshot(out);
    for (const [p, v] of planted) assert.equal(after.get(p), v, `${p} was changed`);
    // The planted names' flows are in c1, the others where they were; contents as in the reference.
    const want = new Map<string, string>();
    names.forEach((n, i) => want.set(i < 4 ? `${n}c1` : n, refFiles.get(n) as string));
    for (const [n, sum] of want) assert.equal(after.get(n), sum, n);
    assert.deepEqual(reportFilenames(out).map((f) => path.relative(out, f)).sort(), [...want.keys()].sort());
  } finally {
    removeDir(tmp);
  }
});

// ---------------------------------------------------------------- the report's text

/** $'...' quoting of raw bytes for bash (the script itself stays ASCII). */
function bashBytes(bytes: number[]): string {
  return `$'${bytes.map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('')}'`;
}

const range = (lo: number, hi: number, skip: number[] = []) =>
  Array.from({ length: hi - lo + 1 }, (_, i) => lo + i).filter((b) => !skip.includes(b));

test('odd bytes in -o and on the command line, in file names and in an error message: the report stays well-formed', () => {
  const tmp = makeTempDir('tcpflow-ts-safety-');
  try {
    const cap = path.join(tmp, 'hostile.pcap');
    writePcap(cap, hostileFrames());
    // Every byte but NUL and '/' in the output directory's name: C0 controls, markup,
    // DEL, U+FFFE and U+FFFF (valid UTF-8, not XML characters), reference look-alikes,
    // and bytes that are not UTF-8 (node reads them as U+FFFD), split over components to
    // stay within NAME_MAX.
    const components = [
      range(0x01, 0x7f, [0x2f]),
      [0xef, 0xbf, 0xbe, 0x20, 0xef, 0xbf, 0xbf, 0x20, 0xed, 0xa0, 0x80],
      // Text a careless writer takes for references.
      [...Buffer.from('a&foo;&#0;&amp;&#x41;b')],
      range(0x80, 0xbf),
      range(0xc0, 0xff),
    ];
    const outBytes = Buffer.concat([Buffer.from(tmp), ...components.map((c) => Buffer.from([0x2f, ...c]))]);
    // The directory as node sees the argument; a file where the template wants the
    // directory of flows from 10.0.0.1: those flows fail, naming the path.
    const outdir = outBytes.toString('utf8');
    fs.mkdirSync(path.dirname(outdir), { recursive: true });
    fs.mkdirSync(outdir);
    fs.writeFileSync(path.join(outdir, '010.000.000.001'), 'x');
    const script = `exec "${process.execPath}" "${CLI}" -T '%A/%a' -r "${cap}" -o ${bashBytes([...outBytes])} -X "${tmp}/report.xml" --workers 1`;
    const r = spawnSync('bash', ['-c', script], { cwd: tmp });
    const stderr = r.stderr.toString('utf8');
    assert.equal(r.status, 3, stderr);
    assert.deepEqual(stackFrames(stderr), []);
    assert.deepEqual(unprefixedLines(stderr), []);
    const bytes = fs.readFileSync(path.join(tmp, 'report.xml'));
    assert.doesNotThrow(() => assertWellFormedXml(bytes), 'report.xml is not well-formed');
    const text = bytes.toString('utf8');
    const unescape = (t: string) => t.replace(/&(lt|gt|amp|apos|quot);/g, (_m, e: string) => ({ lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' })[e] as string);
    const element = (name: string) => [...text.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, 'g'))].map((m) => unescape(m[1]));
    // XML-forbidden characters as %XX, the rest as they were.
    assert.deepEqual(element('outdir'), [sanitizeXmlChars(outdir)]);
    assert.ok(element('command_line')[0].includes(sanitizeXmlChars(outdir)), 'the command line');
    assert.match(text, /%01%02%03%04%05%06%07%08\t\n%0B%0C\r%0E/, 'C0 controls');
    assert.match(text, /%FFFE %FFFF \ufffd/, 'U+FFFE and U+FFFF');
    assert.deepEqual(element('error'), [`${sanitizeXmlChars(outdir)}/010.000.000.001/00080: Not a directory`]);
    // The flows that could be written are inside the odd directory, each listed.
    const listed = element('filename');
    assert.ok(listed.length >= 3, `${listed.length} file names`);
    for (const f of listed) {
      assert.ok(f.startsWith(sanitizeXmlChars(outdir).replace(/[\t\n\r]/g, (c) => `%0${c.charCodeAt(0).toString(16).toUpperCase()}`) + '/'), f);
    }
  } finally {
    removeDir(tmp);
  }
});
