/**
 * Every place text from outside reaches the report (the command line, the output
 * directory, flow file names, error messages), fed every byte value and every UTF-16
 * code unit (lone surrogates included, which no argv can carry): the document is
 * well-formed XML 1.0 and survives UTF-8 encoding unchanged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Flow } from '../../src/flow/flow';
import { dfxmlFooter, dfxmlHeader } from '../../src/report/dfxml';
import { renderFileobject } from '../../src/report/fileobject';
import { noFragments } from '../../src/shard/ip-fragments';
import { decodeRecord, encodeRecord, flowRecord } from '../../src/report/flow-record';
import { assertWellFormedXml } from '../helpers/corpus';
import { ip4 } from '../helpers/packets';
import { checkWellFormed } from './xml-check';

/** Bytes 0-255 as a file name read as latin1 would give them. */
const ALL_BYTES = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));
/** Every UTF-16 code unit in order: almost all surrogates alone (U+DBFF U+DC00 pair up). */
const ALL_UNITS = Array.from({ length: 0x10000 }, (_, i) => String.fromCharCode(i)).join('');
const ODD = [
  ALL_BYTES,
  ALL_UNITS,
  '\ud800', '\udfff', 'a\udc00b', 'end\ud83d', '\ud83d\ude00\ud83d', '\ufffe\uffff',
  ']]>', '<!--', '<![CDATA[x]]>', '&amp;', '&#0;', '%00',
];

function document(text: string): string {
  const flow = new Flow(ip4('10.0.0.1'), ip4('10.0.0.2'), 80, 40000, -1, null, 0);
  flow.lastByte = 3;
  flow.packets = 1;
  flow.len = flow.caplen = 57;
  return dfxmlHeader({ commandLine: `tcpflow-ts -o ${text}`, startTime: new Date(0), config: { workers: 1, outdir: text }, tdelta: 0 }) +
    // As a run does: the record in the worker, through the spill, XML in the coordinator.
    renderFileobject(decodeRecord(encodeRecord(flowRecord(flow, `out/${text}`, [])))) +
    renderFileobject(decodeRecord(encodeRecord(flowRecord(flow, text, [{ md5: 'd41d8cd98f00b204e9800998ecf8427e' }])))) +
    dfxmlFooter({ openFdsAtEnd: 0, maxOpenFlows: 1, totalFlows: 1, flowMapSize: 0, totalPackets: 1, error: `${text}: No space left on device`, flowsPurged: 0, maxFlows: 300000, flowsTimedOut: 0, tcpTimeout: 0, fragments: noFragments() }, 0n);
}

test('every byte and every code unit in the command line, output directory, file names, error: well-formed', () => {
  for (const text of ODD) {
    const doc = document(text);
    const what = JSON.stringify(text.slice(0, 20));
    assert.doesNotThrow(() => checkWellFormed(doc.replace(/^<\?xml[^>]*\?>\n/, '')), what);
    // No lone surrogate: UTF-8 encoding is lossless.
    const bytes = Buffer.from(doc, 'utf8');
    assert.equal(bytes.toString('utf8'), doc, `${what}: not representable in UTF-8`);
    assert.doesNotThrow(() => assertWellFormedXml(bytes), what);
  }
});

test('the escaped text keeps every allowed character and says which were replaced', () => {
  const doc = document(ALL_BYTES);
  // In element text (command line, outdir, error: elementText): TAB, LF, CR kept.
  assert.ok(doc.includes('%00%01%02%03%04%05%06%07%08\t\n%0B%0C\r%0E%0F%10'), 'controls in the header');
  // In the workers' fileobject records (escapeXml, tcpflow's way): TAB, LF, CR escaped too.
  assert.ok(doc.includes('<filename>%00%01%02%03%04%05%06%07%08%09%0A%0B%0C%0D%0E%0F%10'), 'controls in <filename>');
  assert.ok(doc.includes(' !&quot;#$%&amp;&apos;()*+,-./0123456789:;&lt;=&gt;?@A'), 'markup in <filename>');
  // DEL, C1 controls and latin1 letters are XML characters: kept as they are.
  assert.ok(doc.includes(ALL_BYTES.slice(0x7f)), 'U+007F-U+00FF');
  const units = document('\ud800x\udfff\ufffe\uffff\ud83d\ude00');
  assert.ok(units.includes('<filename>%D800x%DFFF%FFFE%FFFF\ud83d\ude00</filename>'), 'surrogates in <filename>');
  assert.ok(units.includes('<outdir>%D800x%DFFF%FFFE%FFFF\ud83d\ude00</outdir>'), 'surrogates in <outdir>');
});

test('text that looks like references stays text ("&foo;" and "&#0;" are not passed through as markup)', () => {
  const unescape = (t: string) => t.replace(/&(lt|gt|amp|apos|quot);/g, (_m, e: string) => ({ lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' })[e] as string);
  for (const text of ['a&foo;b', '&amp;', '&#0;', '&#65;', '&#x41;', '&lt;&gt;', '&', '&&;;']) {
    const doc = document(text);
    assert.doesNotThrow(() => assertWellFormedXml(doc), text);
    for (const name of ['outdir', 'error', 'filename']) {
      const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(doc);
      assert.ok(m !== null, name);
      assert.equal(unescape(m[1]).replace(/^out\/|: No space left on device$/g, ''), text, `${name} of ${text}`);
    }
    assert.ok(doc.includes(`<command_line>tcpflow-ts -o ${text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}</command_line>`), text);
  }
});
