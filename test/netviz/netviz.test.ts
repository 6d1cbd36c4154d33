/**
 * -e netviz through the CLI: what the page says, checked against tshark's reading of the
 * same captures; the same bytes for --workers 1, 2 and 4; and the page as a browser
 * shows it (headless Chromium: the DOM it builds, and a screenshot).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTempDir, PCAP_DIR, removeDir, runCli } from '../helpers/corpus';
import { haveExternalReaders } from '../helpers/pcap-tools';

const JPEGS = path.join(PCAP_DIR, 'tcpflow__jpegs.cap');
const MIXED = path.join(PCAP_DIR, 'pcapplusplus__example2.pcap');
const EPOCH = { SOURCE_DATE_EPOCH: '1700000000' };

async function netviz(capture: string, args: string[] = []) {
  const tmp = makeTempDir('tcpflow-ts-netviz-');
  const out = path.join(tmp, 'out');
  try {
    const run = await runCli(['-e', 'netviz', '-r', capture, '-o', out, ...args], { env: EPOCH });
    const read = (name: string) => (fs.existsSync(path.join(out, name)) ? fs.readFileSync(path.join(out, name), 'utf8') : null);
    return { run, svg: read('report.svg'), html: read('report.html'), files: fs.existsSync(out) ? fs.readdirSync(out).sort() : [] };
  } finally {
    removeDir(tmp);
  }
}

/** Texts of the SVG's <text> elements, unescaped. */
function texts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1].replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>'));
}

test('jpegs.cap: the header and top-3 lines tcpflow\'s PDF shows (spec §8.3), the same page for --workers 1, 2 and 4', async () => {
  const runs = [];
  for (const w of [1, 2, 4]) runs.push(await netviz(JPEGS, ['--workers', String(w)]));
  for (const r of runs) assert.equal(r.run.code, 0, r.run.stderr);
  assert.ok(runs[0].svg !== null && runs[0].html !== null);
  for (const r of runs.slice(1)) {
    assert.equal(r.svg, runs[0].svg);
    assert.equal(r.html, runs[0].html);
  }
  const t = texts(runs[0].svg as string);
  // The values of the spec's own example (tcpflow 1.6.1 on this capture).
  assert.equal(t[0], 'tcpflow-ts 0.1.0');
  assert.equal(t[1], `Input: ${JPEGS}`);
  assert.equal(t[2], 'Generated: 2023-11-14 22:13:20 UTC');
  assert.equal(t[3], 'Date range: 2004-11-19 22:29:14 -- 2004-11-19 22:29:25 UTC');
  assert.equal(t[4], 'Packets analyzed: 483 (319.00 KB)');
  assert.equal(t[5], 'Transports: IPv4 100%');
  assert.ok(t.includes('1) 10.1.1.1 - 250.93 KB (78%)'), t.join('\n'));
  for (const title of ['Top Source Addresses', 'Top Destination Addresses', 'Top Source Ports', 'Top Destination Ports', 'HTTP']) {
    assert.ok(t.includes(title), title);
  }
  assert.ok(t.includes('Bytes per 1 s (12 bars)'));
  // the HTML page holds the SVG itself: one file to open or mail
  assert.ok((runs[0].html as string).includes((runs[0].svg as string).replace(/^<\?xml[^>]*>\n/, '').trimEnd()));
});

test('every packet counts, TCP or not: totals, transports and top lists as tshark reads the capture', { skip: !haveExternalReaders() && 'tshark is not installed' }, async () => {
  const { run, files } = await netviz(MIXED, ['-S', 'netviz_histogram_dump=1', '--workers', '3', '-FX']);
  assert.equal(run.code, 0, run.stderr);
  assert.ok(files.includes('report.svg') && files.includes('report.html'), 'netviz works without flow files (-FX)');
  const dump = run.stdout.toString();
  const ts = spawnSync('tshark', ['-r', MIXED, '-T', 'fields', '-E', 'separator=/t', '-e', 'frame.len', '-e', 'eth.type', '-e', 'ip.src', '-e', 'ipv6.src',
    '-e', 'ip.proto', '-e', 'ipv6.nxt', '-e', 'tcp.srcport', '-e', 'tcp.dstport'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  let packets = 0, bytes = 0;
  const transports: Record<string, number> = { IPv4: 0, IPv6: 0, ARP: 0, VLAN: 0, Other: 0 };
  const src = new Map<string, number>(), sport = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, n: number) => m.set(k, (m.get(k) ?? 0) + n);
  for (const line of ts.stdout.trim().split('\n')) {
    const [len, type, ip4, ip6, proto, nxt, sp] = line.split('\t').map((f) => f.split(',')[0]);
    const n = Number(len);
    packets++;
    bytes += n;
    transports[{ '0x0800': 'IPv4', '0x86dd': 'IPv6', '0x0806': 'ARP', '0x8100': 'VLAN' }[type] ?? 'Other'] += n;
    if (ip4 || ip6) add(src, ip4 || ip6, n);
    if (sp && (proto === '6' || nxt === '6')) add(sport, sp, n);
  }
  assert.match(dump, new RegExp(`^netviz: ${packets} packets, ${bytes} bytes\n`));
  assert.ok(dump.includes(`transports: ${Object.entries(transports).map(([k, v]) => `${k}=${v}`).join(' ')}\n`), dump.slice(0, 300));
  const top = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, v]) => `${k}\t${v}`).join('\n');
  assert.ok(dump.includes(`top source addresses:\n${top(src)}\n`), dump);
  assert.ok(dump.includes(`top source ports:\n${top(sport)}\n`), dump);
});

test('-x tcpdemux: no flow is written, and netviz still counts every packet', async () => {
  const on = await netviz(JPEGS, ['-S', 'netviz_histogram_dump=1']);
  const off = await netviz(JPEGS, ['-S', 'netviz_histogram_dump=1', '-x', 'tcpdemux']);
  assert.equal(off.run.code, 0, off.run.stderr);
  assert.deepEqual(off.files, ['report.html', 'report.svg', 'report.xml']);
  assert.equal(off.run.stdout.toString(), on.run.stdout.toString());
  assert.match(off.run.stdout.toString(), /^netviz: 483 packets, 319002 bytes\n/);
});

test('IP fragments: every fragment is one packet, the reassembled datagram included (any --workers)', async () => {
  for (const [capture, packets] of [['pcapplusplus__frag_http_req.pcap', 11], ['tcpreplay__test_fragroute.pcap', 20]] as const) {
    const dumps = new Set<string>();
    for (const w of ['1', '2', '4']) {
      const r = await netviz(path.join(PCAP_DIR, capture), ['-S', 'netviz_histogram_dump=1', '-FX', '--workers', w]);
      assert.equal(r.run.code, 0, r.run.stderr);
      assert.match(r.run.stdout.toString(), new RegExp(`^netviz: ${packets} packets, `), capture);
      dumps.add(r.run.stdout.toString());
    }
    assert.equal(dumps.size, 1, capture);
  }
});

function chromium(): string | null {
  for (const name of ['chromium', 'chromium-browser']) {
    if (spawnSync(name, ['--version'], { stdio: 'ignore' }).status === 0) return name;
  }
  return null;
}

const BROWSER = chromium();
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

test('the page in a browser (headless Chromium): the DOM has every part, and it renders', { skip: BROWSER === null && 'chromium is not installed' }, async () => {
  if (BROWSER === null) return;
  const tmp = makeTempDir('tcpflow-ts-chromium-');
  try {
    const out = path.join(tmp, 'out');
    const run = await runCli(['-a', '-r', JPEGS, '-o', out], { env: EPOCH });
    assert.equal(run.code, 0, run.stderr);
    const page = `file://${path.join(out, 'report.html')}`;
    const chrome = (args: string[]) => spawnSync(BROWSER, [...CHROMIUM_FLAGS, `--user-data-dir=${path.join(tmp, 'profile')}`, ...args, page],
      { encoding: 'latin1', timeout: 60_000, maxBuffer: 16 << 20 });
    const dom = chrome(['--dump-dom']);
    assert.equal(dom.status, 0, dom.stderr);
    const html = dom.stdout;
    assert.match(html, /<title>tcpflow-ts 0\.1\.0 netviz: .*tcpflow__jpegs\.cap<\/title>/);
    assert.match(html, /<svg [^>]*id="netviz"/);
    const group = (id: string) => {
      const m = new RegExp(`<g id="${id}"[^>]*>([\\s\\S]*?)</g>`).exec(html);
      assert.ok(m !== null, `<g id="${id}">`);
      return m[1];
    };
    const bars = new Set([...group('time-histogram').matchAll(/<rect class="bar" x="([^"]*)"/g)].map((m) => m[1]));
    assert.equal(bars.size, 10, 'one bar (of one or more coloured parts) for each of the 10 seconds with traffic');
    assert.match(group('legend'), /<rect class="swatch"[^>]*fill="#0500ff"[^>]*><\/rect>\s*<text[^>]*>HTTP<\/text>/);
    for (const id of ['src-addresses', 'dst-addresses', 'src-ports', 'dst-ports']) {
      const g = group(id);
      assert.ok((g.match(/<rect class="bar"/g) ?? []).length >= 4, id);
      assert.equal((g.match(/<text [^>]*class="top"/g) ?? []).length, 3, `${id}: top-3 lines`);
      assert.match(g, /<polyline class="cdf"/, `${id}: cumulative share`);
    }
    assert.match(group('header'), /Packets analyzed: 483 \(319\.00 KB\)/);

    const png = path.join(tmp, 'page.png');
    const shot = chrome([`--screenshot=${png}`, '--window-size=960,1300', '--hide-scrollbars']);
    assert.equal(shot.status, 0, shot.stderr);
    const b = fs.readFileSync(png);
    assert.equal(b.subarray(1, 4).toString('latin1'), 'PNG');
    assert.deepEqual([b.readUInt32BE(16), b.readUInt32BE(20)], [960, 1300]);
    assert.ok(b.length > 20_000, `a page with content, not a blank one (${b.length} bytes)`);
  } finally {
    removeDir(tmp);
  }
});
