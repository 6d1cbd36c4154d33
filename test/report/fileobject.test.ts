import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from 'xmlbuilder2';
import { Flow } from '../../src/flow/flow';
import { renderFileobject } from '../../src/report/fileobject';
import { decodeRecord, encodeRecord, flowRecord } from '../../src/report/flow-record';
import { ip4, ip6 } from '../helpers/packets';
import { checkWellFormed } from './xml-check';

const MAC = Uint8Array.from([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]);

const SPEC_NAME = 'out/010.000.000.002.00080-010.000.000.001.40000';

/** A flow's fileobject the way a run makes it: record in the worker, through the spill, XML in the coordinator. */
function render(flow: Flow, md5: string | null, filename: string | null = null): string {
  return renderFileobject(decodeRecord(encodeRecord(flowRecord(flow, filename, md5 === null ? [] : [{ md5 }]))));
}

function specFlow(): Flow {
  const f = new Flow(ip4('10.0.0.2'), ip4('10.0.0.1'), 80, 40000, -1, MAC, 0);
  f.lastByte = 249;
  f.startSec = 1000000000;
  f.startUsec = 2000;
  f.lastSec = 1000000000;
  f.lastUsec = 7000;
  f.packets = 3;
  f.len = 411;
  f.caplen = 411;
  return f;
}

/** The attribute names of <tcpflow .../> in document order. */
function tcpflowAttrs(xml: string): [string, string][] {
  const m = /<tcpflow ((?:[a-z_]+='[^']*' )*)\/>/.exec(xml);
  assert.ok(m, xml);
  return [...m[1].matchAll(/([a-z_]+)='([^']*)' /g)].map((a) => [a[1], a[2]]);
}

interface ParsedNode {
  getAttribute(name: string): string | null;
  textContent: string | null;
}

function parse(xml: string) {
  checkWellFormed(xml);
  const doc = create(xml);
  const root = doc.root();
  assert.equal(root.node.nodeName, 'fileobject');
  const first = (name: string) => root.find((n) => n.node.nodeName === name, false, true)?.node as unknown as ParsedNode | undefined;
  return { first };
}

test('the spec §4.2 example, byte for byte', () => {
  const s = render(specFlow(), 'cb07389391759c2e84adceaf3df00163', SPEC_NAME);
  assert.equal(s, [
    '    <fileobject>',
    '      <filename>out/010.000.000.002.00080-010.000.000.001.40000</filename>',
    '      <filesize>249</filesize>',
    "      <tcpflow startime='2001-09-09T01:46:40.002000Z' endtime='2001-09-09T01:46:40.007000Z' mac_daddr='02:00:00:00:00:01' mac_saddr='02:00:00:00:00:02' family='2' src_ipn='10.0.0.2' dst_ipn='10.0.0.1' srcport='80' dstport='40000' packets='3' len='411' />",
    "      <hashdigest type='MD5'>cb07389391759c2e84adceaf3df00163</hashdigest>",
    '    </fileobject>',
    '',
  ].join('\n'));
  const p = parse(s);
  assert.equal(p.first('filesize')?.textContent, '249');
  assert.equal(p.first('tcpflow')?.getAttribute('src_ipn'), '10.0.0.2');
  assert.equal(p.first('hashdigest')?.getAttribute('type'), 'MD5');
});

test('no file: no <filename>, filesize 0, no hashdigest without md5', () => {
  const f = specFlow();
  f.lastByte = 0;
  const s = render(f, null);
  assert.ok(!s.includes('<filename>'));
  assert.ok(!s.includes('hashdigest'));
  assert.ok(s.includes('      <filesize>0</filesize>\n'));
  parse(s);
});

test('optional attributes appear only when applicable, always in the spec order', () => {
  const ORDER = ['startime', 'endtime', 'mac_daddr', 'mac_saddr', 'family', 'src_ipn', 'dst_ipn', 'srcport',
    'dstport', 'packets', 'out_of_order_count', 'violations', 'len', 'caplen'];
  for (let mask = 0; mask < 64; mask++) {
    const withMac = (mask & 1) !== 0, ooc = (mask & 2) !== 0, viol = (mask & 4) !== 0, cap = (mask & 8) !== 0;
    const v6 = (mask & 16) !== 0, usec = (mask & 32) !== 0;
    const f = new Flow(v6 ? ip6('2001:db8::1') : ip4('192.168.0.1'), v6 ? ip6('::ffff:1.2.3.4') : ip4('10.9.8.7'),
      65535, 1, -1, withMac ? MAC : null, 5);
    f.startSec = 1000000000;
    f.startUsec = usec ? 1 : 0;
    f.lastSec = 1000000100;
    f.lastUsec = usec ? 999999 : 0;
    f.packets = 17;
    f.outOfOrder = ooc ? 4 : 0;
    f.violations = viol ? 2 : 0;
    f.len = 1000;
    f.caplen = cap ? 900 : 1000;
    f.lastByte = 12345;
    const s = render(f, null);
    parse(s);
    const attrs = tcpflowAttrs(s);
    const want = ORDER.filter((n) =>
      (n !== 'mac_daddr' && n !== 'mac_saddr') || withMac)
      .filter((n) => n !== 'out_of_order_count' || ooc)
      .filter((n) => n !== 'violations' || viol)
      .filter((n) => n !== 'caplen' || cap);
    assert.deepEqual(attrs.map((a) => a[0]), want, `mask ${mask}`);
    const val = Object.fromEntries(attrs);
    assert.equal(val.startime, usec ? '2001-09-09T01:46:40.000001Z' : '2001-09-09T01:46:40Z');
    assert.equal(val.endtime, usec ? '2001-09-09T01:48:20.999999Z' : '2001-09-09T01:48:20Z');
    assert.equal(val.family, v6 ? '10' : '2');
    assert.equal(val.src_ipn, v6 ? '2001:db8::1' : '192.168.0.1');
    assert.equal(val.dst_ipn, v6 ? '::ffff:1.2.3.4' : '10.9.8.7');
    assert.equal(val.srcport, '65535');
    assert.equal(val.dstport, '1');
    assert.equal(val.packets, '17');
    assert.equal(val.len, '1000');
    if (ooc) assert.equal(val.out_of_order_count, '4');
    if (viol) assert.equal(val.violations, '2');
    if (cap) assert.equal(val.caplen, '900');
    assert.ok(s.includes('      <filesize>12345</filesize>\n'));
  }
});

test('all-zero MAC addresses are left out, each side on its own', () => {
  const zeroBoth = new Flow(ip4('127.0.0.1'), ip4('127.0.0.1'), 1, 2, -1, new Uint8Array(12), 0);
  assert.ok(!render(zeroBoth, null).includes('mac_'));
  const zeroDst = new Flow(ip4('127.0.0.1'), ip4('127.0.0.1'), 1, 2, -1, Uint8Array.from([0, 0, 0, 0, 0, 0, 0xaa, 0xbb, 0, 0, 0, 1]), 0);
  const a = tcpflowAttrs(render(zeroDst, null));
  assert.deepEqual(a.filter((x) => x[0].startsWith('mac_')), [['mac_saddr', 'aa:bb:00:00:00:01']]);
  const zeroSrc = new Flow(ip4('127.0.0.1'), ip4('127.0.0.1'), 1, 2, -1, Uint8Array.from([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]), 0);
  assert.deepEqual(tcpflowAttrs(render(zeroSrc, null)).filter((x) => x[0].startsWith('mac_')),
    [['mac_daddr', '00:00:00:00:00:01']]);
});

test('the file name is XML-escaped', () => {
  const s = render(specFlow(), null, `o&u<t>/'a"\r\n\t\0b`);
  assert.ok(s.includes('      <filename>o&amp;u&lt;t&gt;/&apos;a&quot;%0D%0A%09%00b</filename>\n'), s);
  const p = parse(s);
  assert.equal(p.first('filename')?.textContent, `o&u<t>/'a"%0D%0A%09%00b`);
});
