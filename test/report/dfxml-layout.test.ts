/**
 * report.xml's header and footer are laid out by a small renderer (xml-text.ts
 * renderElement) since xmlbuilder2 was dropped from the run for its start-up cost: the
 * same bytes as xmlbuilder2's pretty printer gave them (`fragment().ele().txt()`, with
 * '&' escaped first, as dfxml.ts did), for text and attribute values with every kind of
 * character that needs care.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fragment } from 'xmlbuilder2';
import { renderElement, sanitizeXmlChars, type XmlElement } from '../../src/report/xml-text';

const OPTS = { prettyPrint: true, indent: '  ', offset: 1 } as const;
const ODD = ['', 'plain', 'a&b', '&amp;', '&foo;', '&#0;', '<x>', ']]>', '"q"', "'a'", 'tab\there', 'l1\nl2', 'cr\r',
  '\u0000\u0001\u001f', '\ud800', 'a\udc00', '\ud83d\ude00', '\ufffe\uffff', 'é\u0085\u2028', '  spaced  '];

/** What dfxml.ts built with xmlbuilder2: text and attributes went through this first. */
const builderText = (s: string) => sanitizeXmlChars(s).replace(/&/g, '&amp;');

type Parent = ReturnType<typeof fragment>;

function withXmlbuilder2(parent: Parent, e: XmlElement): void {
  const attrs = Object.fromEntries(Object.entries(e.attrs ?? {}).map(([k, v]) => [k, builderText(v)]));
  const node = parent.ele(e.name, attrs);
  if (e.text !== undefined) node.txt(builderText(e.text));
  for (const c of e.children ?? []) withXmlbuilder2(node, c);
}

function xmlbuilder2(e: XmlElement): string {
  const f = fragment();
  withXmlbuilder2(f, e);
  return f.end(OPTS);
}

test('renderElement lays out elements as xmlbuilder2 did: text, attributes, nesting, empty elements', () => {
  for (const s of ODD) {
    const cases: XmlElement[] = [
      { name: 'command_line', text: s },
      { name: 'capture_stats', attrs: { interface: s, captured: '3' } },
      { name: 'flows_purged', attrs: { reason: s }, text: s },
      { name: 'creator', attrs: { version: '1.0' }, children: [{ name: 'program', text: s }, { name: 'execution_environment', children: [{ name: 'username', text: s }, { name: 'uid', text: '0' }] }] },
    ];
    for (const e of cases) assert.equal(renderElement(e), xmlbuilder2(e), JSON.stringify(e));
  }
  assert.equal(renderElement({ name: 'summary' }), '  <summary/>');
  assert.equal(renderElement({ name: 'rusage', children: [{ name: 'utime', text: '0.1' }] }), '  <rusage>\n    <utime>0.1</utime>\n  </rusage>');
});
