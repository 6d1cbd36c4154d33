import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from 'xmlbuilder2';
import { escapeXml, isoTime, sanitizeXmlChars } from '../../src/report/xml-text';
import { Rng } from '../flow/rng';
import { checkChars, checkText, checkWellFormed } from './xml-check';

/** The part of the DOM Element interface used here (no DOM lib in this project). */
export interface ParsedElement {
  getAttribute(name: string): string | null;
  textContent: string | null;
}

const hex = (c: number, w: number) => '%' + c.toString(16).toUpperCase().padStart(w, '0');

/**
 * What a reader gets back after escaping: the same text, except that characters XML
 * cannot carry appear as %XX (%XXXX for lone surrogates and U+FFFE/U+FFFF). With
 * `keepWs`, TAB, LF and CR are kept (sanitizeXmlChars).
 */
function model(s: string, keepWs: boolean): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) { out += s[i] + s[i + 1]; i++; continue; }
    }
    if (c >= 0xd800 && c <= 0xdfff) out += hex(c, 4);
    else if (c < 0x20 && !(keepWs && (c === 9 || c === 10 || c === 13))) out += hex(c, 2);
    else if (c === 0xfffe || c === 0xffff) out += hex(c, 4);
    else out += s[i];
  }
  return out;
}

/** A random string drawing on every class of code point. */
function randomString(r: Rng): string {
  const classes: (() => string)[] = [
    () => String.fromCharCode(r.int(0, 0x1f)), // C0 controls, incl. TAB LF CR NUL
    () => r.pick(['&', '<', '>', "'", '"']),
    () => String.fromCharCode(r.int(0x20, 0x7e)), // printable ASCII (incl. %)
    () => '%',
    () => String.fromCharCode(r.int(0x7f, 0x9f)), // DEL and C1 (allowed in XML 1.0)
    () => String.fromCharCode(r.int(0xa0, 0xd7ff)),
    () => String.fromCharCode(r.int(0xd800, 0xdbff)), // lone high surrogate
    () => String.fromCharCode(r.int(0xdc00, 0xdfff)), // lone low surrogate
    () => String.fromCodePoint(r.int(0x10000, 0x10ffff)), // non-BMP (a valid pair)
    () => String.fromCharCode(r.int(0xe000, 0xfffd)),
    () => r.pick(['\ufffe', '\uffff']),
    () => r.pick(['&amp;', '&lt;', '%0A', ']]>', '<!--', '<![CDATA[']),
  ];
  let s = '';
  const n = r.int(0, 30);
  for (let i = 0; i < n; i++) s += r.pick(classes)();
  return s;
}

test('escapeXml: markup characters become entities, controls %XX', () => {
  assert.equal(escapeXml(`a&b<c>d'e"f`), 'a&amp;b&lt;c&gt;d&apos;e&quot;f');
  assert.equal(escapeXml('x\ty\nz\r\0'), 'x%09y%0Az%0D%00');
  assert.equal(escapeXml('\x01\x1f\x7f'), '%01%1F\x7f');
  assert.equal(escapeXml('\ufffe\uffff\ufffd'), '%FFFE%FFFF\ufffd');
  assert.equal(escapeXml('\ud800x\udfff'), '%D800x%DFFF');
  assert.equal(escapeXml('end\ud83d'), 'end%D83D');
  assert.equal(escapeXml('\ud83d\ude00'), '\ud83d\ude00');
  assert.equal(escapeXml('\udc00\ud800'), '%DC00%D800');
  assert.equal(escapeXml('plain/name.c1 %41 é'), 'plain/name.c1 %41 é');
  assert.equal(escapeXml(''), '');
});

test('the strict checker itself rejects what it should', () => {
  for (const bad of ['<a><b></a>', '<a>\u0001</a>', '<a>&</a>', "<a x='<'/>", '<a>\ud800</a>', '<a>\ufffe</a>',
    "<a x='1' x='2'/>", '<a/><b/>', '<a>', "<a x='''/>", '<a>&foo;</a>']) {
    assert.throws(() => checkWellFormed(bad), Error, JSON.stringify(bad));
  }
  checkWellFormed("<a x='&amp;&#10;' y=\"'\"><b/>t&lt;</a>");
});

test('the strict checker on whole documents: declaration, comments, PIs, DOCTYPE, CDATA', () => {
  for (const good of [
    "<?xml version='1.0' encoding='UTF-8'?>\n<dfxml a='1'>\n</dfxml>\n",
    '\ufeff<?xml version="1.0" standalone="yes" ?><a/>',
    '<!-- c --><?pi data?><!DOCTYPE dfxml SYSTEM "x.dtd"><a><![CDATA[<&]]><!----></a>\n<!-- after -->\n',
    '<é:a xmlns:é="u" é:b="&#x10FFFF;">\u{1F600}</é:a>',
  ]) {
    assert.doesNotThrow(() => checkWellFormed(good), JSON.stringify(good));
  }
  for (const bad of [
    "<?xml version='2.0'?><a/>", " <?xml version='1.0'?><a/>", '<a/><?xml version="1.0"?>', '<?pi', '<?xml-stylesheet?><?XML x?><a/>',
    '<!-- a -- b --><a/>', '<!-- a ---><a/>', '<!-- a', '<![CDATA[x]]><a/>', '<a><![CDATA[x</a>', '<a>]]></a>',
    '<!DOCTYPE a [<!ENTITY e "x">]><a/>', '<a/><!DOCTYPE a>', '<a>&#0;</a>', '<a>&#xD800;</a>', "<a x='&#1;'/>", "<a x='&lt'/>",
    'x<a/>', '<a/>x', '<a></b>', '</a>', "<a x='1'y='2'/>", '<a x=1/>', '<a x/>', '<a =\'1\'/>', '< a/>', '<a></a >x', '',
  ]) {
    assert.throws(() => checkWellFormed(bad), Error, JSON.stringify(bad));
  }
});

test('escapeXml: random strings of every code point class round-trip through a parser', () => {
  const r = new Rng(4242);
  for (let i = 0; i < 3000; i++) {
    const s = randomString(r);
    const e = escapeXml(s);
    const want = model(s, false);
    checkText(e, "'");
    checkText(e, '"');
    const xml = `<a x='${e}' y="${e}">${e}</a>`;
    checkWellFormed(xml);
    const root = create(xml).root().node as unknown as ParsedElement;
    assert.equal(root.getAttribute('x'), want, JSON.stringify(s));
    assert.equal(root.getAttribute('y'), want, JSON.stringify(s));
    assert.equal(root.textContent, want, JSON.stringify(s));
  }
});

test('sanitizeXmlChars: only characters XML cannot carry become %XX', () => {
  assert.equal(sanitizeXmlChars('a&<>\'"b'), 'a&<>\'"b');
  assert.equal(sanitizeXmlChars('\t\n\r'), '\t\n\r');
  assert.equal(sanitizeXmlChars('\0\x08\x0b\x0c\x0e\x1f'), '%00%08%0B%0C%0E%1F');
  assert.equal(sanitizeXmlChars('\ud800\ud83d\ude00\udfff'), '%D800\ud83d\ude00%DFFF');
  assert.equal(sanitizeXmlChars('\ufffe\uffff'), '%FFFE%FFFF');
  const r = new Rng(77);
  for (let i = 0; i < 3000; i++) {
    const s = randomString(r);
    const out = sanitizeXmlChars(s);
    assert.equal(out, model(s, true), JSON.stringify(s));
    checkChars(out);
  }
});

test('isoTime: UTC, fraction only with non-zero microseconds', () => {
  assert.equal(isoTime(0, 0), '1970-01-01T00:00:00Z');
  assert.equal(isoTime(1000000000, 0), '2001-09-09T01:46:40Z');
  assert.equal(isoTime(1000000000, 2000), '2001-09-09T01:46:40.002000Z');
  assert.equal(isoTime(1000000000, 1), '2001-09-09T01:46:40.000001Z');
  assert.equal(isoTime(1000000000, 999999), '2001-09-09T01:46:40.999999Z');
  assert.equal(isoTime(1700000000, 123456), '2023-11-14T22:13:20.123456Z');
  assert.equal(isoTime(2147483647, 0), '2038-01-19T03:14:07Z');
  assert.equal(isoTime(4102444800, 500000), '2100-01-01T00:00:00.500000Z');
  const r = new Rng(5);
  for (let i = 0; i < 500; i++) {
    const sec = r.int(0, 2 ** 33), usec = r.int(0, 999999);
    const s = isoTime(sec, usec);
    assert.match(s, usec ? /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/ : /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(Date.parse(s.replace(/\.\d+Z$/, 'Z')), sec * 1000);
    if (usec) assert.equal(Number(s.slice(20, 26)), usec);
  }
});

test('isoTime: the seconds it caches never leak into another second; odd microseconds written as they are', () => {
  // Three seconds in turn (a two-slot cache), each with the Date's own text as the model.
  const r = new Rng(9);
  const secs = [1700000000, 1700000001, 86399, 1700000000, 4102444800, 86399, 1700000001];
  for (let i = 0; i < 2000; i++) {
    const sec = i < secs.length * 50 ? secs[i % secs.length] : r.int(0, 3);
    const usec = r.chance(0.2) ? 0 : r.int(1, 999999);
    const want = new Date(sec * 1000).toISOString().slice(0, 19) + (usec === 0 ? 'Z' : `.${String(usec).padStart(6, '0')}Z`);
    assert.equal(isoTime(sec, usec), want, `${sec} ${usec}`);
  }
  assert.equal(isoTime(0, 1234567), '1970-01-01T00:00:00.1234567Z');
  assert.equal(isoTime(0, -5), '1970-01-01T00:00:00.0000-5Z');
  assert.equal(isoTime(0, 2.5), '1970-01-01T00:00:00.0002.5Z');
});
