/**
 * The js plugin scanner through the CLI: the example plugin (examples/tls-sni.js) against
 * tshark's reading of the same capture, a plugin that throws, returns a Promise or odd
 * values, an ES module, and modules that cannot be used (refused before anything is
 * written).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTempDir, PCAP_DIR, removeDir, REPO_ROOT, runCli } from '../helpers/corpus';
import { readJsonl } from '../helpers/jsonl';
import { haveExternalReaders } from '../helpers/pcap-tools';

const EXAMPLE = path.join(REPO_ROOT, 'examples', 'tls-sni.js');
const TLS = path.join(PCAP_DIR, 'pcapplusplus__example2.pcap');
const HTTP = path.join(PCAP_DIR, 'tcpflow__test1.pcap');

async function withPlugin(source: string | null, args: string[], capture = HTTP, ext = '.js') {
  const tmp = makeTempDir('tcpflow-ts-js-');
  const plugin = source === null ? EXAMPLE : path.join(tmp, `plugin${ext}`);
  if (source !== null) fs.writeFileSync(plugin, source);
  const out = path.join(tmp, 'out'), jsonl = path.join(tmp, 'r.jsonl');
  try {
    const run = await runCli(['-r', capture, '-o', out, '--jsonl', jsonl, '-e', 'js', '-S', `js_module=${plugin}`, ...args]);
    const report = fs.existsSync(path.join(out, 'report.xml')) ? fs.readFileSync(path.join(out, 'report.xml'), 'utf8') : null;
    return { run, lines: readJsonl(jsonl).filter((l) => l.type === 'flow'), report, outExists: fs.existsSync(out), plugin, out };
  } finally {
    removeDir(tmp);
  }
}

test('the example plugin finds every TLS ClientHello server name tshark finds, flow for flow', { skip: !haveExternalReaders() && 'tshark is not installed' }, async () => {
  const ts = spawnSync('tshark', ['-r', TLS, '-Y', 'tls.handshake.type == 1', '-T', 'fields', '-e', 'ip.src', '-e', 'tcp.srcport',
    '-e', 'tls.handshake.extensions_server_name'], { encoding: 'utf8' });
  const expected = ts.stdout.trim().split('\n').sort();
  assert.ok(expected.length >= 10, 'tshark sees the ClientHellos');
  const { run, lines, report } = await withPlugin(null, ['-S', 'js_function=scan'], TLS);
  assert.equal(run.code, 0, run.stderr);
  const found = lines.filter((l) => l.js !== undefined).map((l) => `${l.src_ipn}\t${l.srcport}\t${(l.js as { sni: string }).sni}`).sort();
  assert.deepEqual(found, expected);
  const one = lines.find((l) => (l.js as { sni?: string } | undefined)?.sni === 'www.facebook.com');
  assert.deepEqual(one?.js, { tls_record_version: '3.1', sni: 'www.facebook.com', alpn: ['spdy/3.1', 'spdy/3', 'http/1.1'] });
  // the same results in report.xml, one element per flow, as JSON text
  const results = [...(report ?? '').matchAll(/<tcpflow:result xmlns:tcpflow='http:\/\/afflib.org\/tcpflow\/' scan='js' module='([^']*)' function='scan'>([^<]*)<\/tcpflow:result>/g)];
  assert.equal(results.length, found.length);
  assert.ok(results.every((m) => m[1] === EXAMPLE));
  assert.ok(results.some((m) => m[2] === JSON.stringify(one?.js).replace(/"/g, '&quot;')));
});

test('the flow a plugin gets: metadata and its bytes (read, bytes)', async () => {
  const source = `exports.scan = (f) => {
    const all = f.bytes();
    const head = f.read(0, 4);
    return { name: require('path').basename(f.filename), size: f.filesize, n: all.length, head: Buffer.from(head).toString('latin1'),
      past: f.read(f.filesize + 10, 5).length, src: f.src, dst: f.dst, sport: f.sport, dport: f.dport, family: f.family,
      packets: f.packets, start: f.startTime, end: f.endTime };
  };`;
  const { run, lines } = await withPlugin(source, []);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(lines.length, 4);
  for (const l of lines) {
    const js = l.js as Record<string, unknown>;
    assert.equal(js.name, path.basename(l.filename as string));
    assert.equal(js.size, l.filesize);
    assert.equal(js.n, l.filesize);
    assert.equal(js.past, 0);
    assert.deepEqual([js.src, js.dst, js.sport, js.dport, js.family, js.packets, js.start, js.end],
      [l.src_ipn, l.dst_ipn, l.srcport, l.dstport, 4, l.packets, l.startime, l.endtime]);
    assert.ok(js.head === 'GET ' || js.head === 'HTTP', String(js.head));
  }
});

test('a plugin that throws, returns a Promise or what JSON cannot carry: an error for that flow, the run goes on', async () => {
  const source = `let n = 0;
  exports.scan = (f) => {
    n++;
    if (f.dport === 80 && f.sport === 50955) throw new TypeError('bad <thing> & "quotes"\\nsecond line');
    if (f.dport === 80) return Promise.resolve('late');
    if (f.sport === 80 && f.dport === 50955) return { big: 10n };
    return 'plain <text> & more\\ttab';
  };`;
  const { run, lines, report } = await withPlugin(source, []);
  assert.equal(run.code, 0, run.stderr);
  const by = (sport: number, dport: number) => lines.find((l) => l.srcport === sport && l.dstport === dport) as Record<string, unknown>;
  assert.equal(by(50955, 80).js_error, 'TypeError: bad <thing> & "quotes"\nsecond line');
  assert.match(by(50956, 80).js_error as string, /returned a Promise/);
  assert.match(by(80, 50955).js_error as string, /cannot be written as JSON: TypeError: Do not know how to serialize a BigInt/);
  assert.equal(by(80, 50956).js, 'plain <text> & more\ttab');
  assert.ok(lines.every((l) => l.md5 === undefined && (l.js === undefined) !== (l.js_error === undefined)));
  // DFXML: escaped (markup as entities, control characters as %XX), the error as an attribute
  assert.ok(report?.includes(`scan='js' module=`));
  assert.ok(report?.includes(`error='TypeError: bad &lt;thing&gt; &amp; &quot;quotes&quot;%0Asecond line' />`), report ?? '');
  assert.ok(report?.includes(`>plain &lt;text&gt; &amp; more%09tab</tcpflow:result>`));
});

test('an ES module, a result of null (no result), and -S js_function naming another export', async () => {
  const source = `export function other(f) { return f.sport === 80 ? null : { ok: true }; }\nexport default {};\n`;
  const { run, lines } = await withPlugin(source, ['-S', 'js_function=other'], HTTP, '.mjs');
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(lines.map((l) => (l.srcport === 80 ? 'server ' : 'client ') + JSON.stringify(l.js ?? null)).sort(),
    ['client {"ok":true}', 'client {"ok":true}', 'server null', 'server null']);
});

test('a module that cannot be used stops the run at once, before anything is written (exit 2)', async () => {
  const cases: [string | null, string[], RegExp][] = [
    ['exports.scan = (', [], /^tcpflow-ts: -S js_module=.*plugin\.js: cannot load: SyntaxError: /],
    ['throw new Error("no network here")', [], /cannot load: Error: no network here$/],
    ['exports.scan = 42; exports.helper = () => 1;', [], /no function 'scan' exported \(-S js_function; exports: .*helper/],
    ['exports.scan = () => 1;', ['-S', 'js_function=missing'], /no function 'missing' exported/],
  ];
  for (const [source, args, message] of cases) {
    const { run, outExists } = await withPlugin(source, args);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr.trim(), message);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.equal(outExists, false, 'no output directory');
  }
  const missing = await runCli(['-r', HTTP, '-o', '/nonexistent/x', '-e', 'js', '-S', 'js_module=/nonexistent/plugin.js']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /js_module=\/nonexistent\/plugin\.js: cannot load: Error: Cannot find module/);
  const none = await runCli(['-r', HTTP, '-e', 'js']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /-e js needs -S js_module=PATH/);
});
