/**
 * The tests' one XML well-formedness check: XML 1.0 without DTD declarations, in time linear
 * in the document (reports of big captures run to tens of megabytes).
 *
 * xmlbuilder2's parser is lenient (it accepts `<a><b></a>` and raw control characters), and
 * the report normaliser of test/helpers/corpus.ts must be as tolerant as oracle-compare's, so
 * neither can be the judge of well-formedness.
 */

// XML 1.0 Char production: anything else, lone surrogates included, is an error.
const NOT_CHAR = /[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u;
const NAME_START = 'A-Za-z_:\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C\\u200D' +
  '\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD\\u{10000}-\\u{EFFFF}';
const NAME_CHAR = `${NAME_START}\\-.0-9\\u00B7\\u0300-\\u036F\\u203F-\\u2040`;
const NAME = new RegExp(`[${NAME_START}][${NAME_CHAR}]*`, 'uy');
const REF = new RegExp(`&(?:#([0-9]+)|#x([0-9a-fA-F]+)|([${NAME_START}][${NAME_CHAR}]*));`, 'uy');
const ATTR_VALUE = /"[^"<]*"|'[^'<]*'/y;
const DECLARATION = /<\?xml\s+version\s*=\s*(['"])1\.[0-9]+\1(?:\s+encoding\s*=\s*(['"])[A-Za-z][-A-Za-z0-9._]*\2)?(?:\s+standalone\s*=\s*(['"])(?:yes|no)\3)?\s*\?>/y;
const PREDEFINED = new Set(['amp', 'lt', 'gt', 'quot', 'apos']);

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isXmlChar = (n: number) => n === 9 || n === 10 || n === 13 || (n >= 0x20 && n <= 0xd7ff) || (n >= 0xe000 && n <= 0xfffd) ||
  (n >= 0x10000 && n <= 0x10ffff);

/** Throws unless every character of `s` may appear in an XML document. */
export function checkChars(s: string): void {
  const bad = NOT_CHAR.exec(s);
  if (bad) throw new Error(`character U+${bad[0].codePointAt(0)!.toString(16).padStart(4, '0')} not allowed in XML, at ${bad.index}`);
}

/** The name starting at s[at], or null. */
function nameAt(s: string, at: number): string | null {
  NAME.lastIndex = at;
  return NAME.exec(s)?.[0] ?? null;
}

/** Throws unless every '&' in s[from, to) starts a predefined entity or a character reference to an XML character. */
function checkRefs(s: string, from: number, to: number, where: (at: number) => string): void {
  for (let i = s.indexOf('&', from); i !== -1 && i < to; i = s.indexOf('&', i + 1)) {
    REF.lastIndex = i;
    const m = REF.exec(s);
    if (!m || REF.lastIndex > to) throw new Error(`${where(i)}: '&' that starts no entity or character reference`);
    if (m[3] !== undefined) {
      if (!PREDEFINED.has(m[3])) throw new Error(`${where(i)}: undeclared entity &${m[3]};`);
    } else if (!isXmlChar(m[1] !== undefined ? Number(m[1]) : parseInt(m[2], 16))) {
      throw new Error(`${where(i)}: character reference ${m[0]} is not an XML character`);
    }
  }
}

/** Text content (or an attribute value without its quote): only references may use '&'; no '<'. */
export function checkText(s: string, quote = ''): void {
  checkChars(s);
  const lt = s.indexOf('<');
  if (lt !== -1) throw new Error(`raw '<' at ${lt}`);
  if (quote && s.includes(quote)) throw new Error(`raw quote at ${s.indexOf(quote)}`);
  checkRefs(s, 0, s.length, (at) => `at ${at}`);
}

/**
 * Throws unless `xml` is a well-formed XML 1.0 document: an optional XML declaration, one
 * root element with properly nested and closed tags, attributes quoted and unique per
 * element, only the five predefined entities and references to XML characters, CDATA
 * sections only inside the root, and nothing but comments, processing instructions, a
 * DOCTYPE without internal subset and blanks outside the root. A byte order mark is skipped.
 */
export function checkWellFormed(xml: string): void {
  const s = xml.charCodeAt(0) === 0xfeff ? xml.slice(1) : xml;
  checkChars(s);
  const where = (at: number) => {
    let line = 1;
    for (let k = s.indexOf('\n'); k !== -1 && k < at; k = s.indexOf('\n', k + 1)) line++;
    return `line ${line}`;
  };
  const n = s.length;
  let i = 0;
  DECLARATION.lastIndex = 0;
  if (DECLARATION.exec(s)) i = DECLARATION.lastIndex;
  else if (/^<\?xml[\s?]/.test(s)) throw new Error('malformed XML declaration');
  const stack: string[] = [];
  let rootSeen = false;
  while (i < n) {
    const lt = s.indexOf('<', i);
    const end = lt === -1 ? n : lt;
    if (end > i) {
      if (stack.length === 0) {
        for (let k = i; k < end; k++) if (!isSpace(s.charCodeAt(k))) throw new Error(`${where(k)}: text outside the root element`);
      } else {
        if (s.slice(i, end).includes(']]>')) throw new Error(`${where(i)}: ']]>' in text`);
        checkRefs(s, i, end, where);
      }
    }
    if (lt === -1) break;
    i = lt;
    if (s.startsWith('<!--', i)) {
      const e = s.indexOf('--', i + 4);
      if (e === -1) throw new Error(`${where(i)}: unterminated comment`);
      if (s.charCodeAt(e + 2) !== 0x3e) throw new Error(`${where(e)}: '--' inside a comment`);
      i = e + 3;
    } else if (s.startsWith('<?', i)) {
      const target = nameAt(s, i + 2);
      if (target === null || target.toLowerCase() === 'xml') throw new Error(`${where(i)}: bad processing instruction`);
      const after = i + 2 + target.length;
      const e = s.indexOf('?>', after);
      if (e === -1) throw new Error(`${where(i)}: unterminated processing instruction`);
      if (e !== after && !isSpace(s.charCodeAt(after))) throw new Error(`${where(i)}: bad processing instruction`);
      i = e + 2;
    } else if (s.startsWith('<![CDATA[', i)) {
      if (stack.length === 0) throw new Error(`${where(i)}: CDATA outside the root element`);
      const e = s.indexOf(']]>', i + 9);
      if (e === -1) throw new Error(`${where(i)}: unterminated CDATA section`);
      i = e + 3;
    } else if (s.startsWith('<!DOCTYPE', i)) {
      if (rootSeen) throw new Error(`${where(i)}: DOCTYPE after the root element`);
      const e = s.indexOf('>', i);
      if (e === -1 || s.slice(i, e).includes('[')) throw new Error(`${where(i)}: unsupported DOCTYPE`);
      i = e + 1;
    } else if (s.charCodeAt(i + 1) === 0x2f) {
      const name = nameAt(s, i + 2);
      if (name === null) throw new Error(`${where(i)}: malformed end tag`);
      let j = i + 2 + name.length;
      while (isSpace(s.charCodeAt(j))) j++;
      if (s.charCodeAt(j) !== 0x3e) throw new Error(`${where(i)}: malformed end tag </${name}`);
      const open = stack.pop();
      if (open !== name) throw new Error(`${where(i)}: </${name}> closes ${open ? `<${open}>` : 'nothing'}`);
      i = j + 1;
    } else {
      const name = nameAt(s, i + 1);
      if (name === null) throw new Error(`${where(i)}: malformed tag or stray '<'`);
      if (stack.length === 0) {
        if (rootSeen) throw new Error(`${where(i)}: a second root element <${name}>`);
        rootSeen = true;
      }
      let j = i + 1 + name.length;
      const seen = new Set<string>();
      for (;;) {
        const before = j;
        while (isSpace(s.charCodeAt(j))) j++;
        if (s.charCodeAt(j) === 0x3e) {
          stack.push(name);
          j++;
          break;
        }
        if (s.startsWith('/>', j)) {
          j += 2;
          break;
        }
        if (j === before) throw new Error(`${where(j)}: no blank before an attribute of <${name}>, or a malformed tag`);
        const attr = nameAt(s, j);
        if (attr === null) throw new Error(`${where(j)}: malformed attribute in <${name}>`);
        if (seen.has(attr)) throw new Error(`${where(j)}: attribute ${attr} repeated on <${name}>`);
        seen.add(attr);
        j += attr.length;
        while (isSpace(s.charCodeAt(j))) j++;
        if (s.charCodeAt(j) !== 0x3d) throw new Error(`${where(j)}: attribute ${attr} without '='`);
        j++;
        while (isSpace(s.charCodeAt(j))) j++;
        ATTR_VALUE.lastIndex = j;
        if (!ATTR_VALUE.exec(s)) throw new Error(`${where(j)}: attribute ${attr}: unquoted value, or '<' in it`);
        checkRefs(s, j + 1, ATTR_VALUE.lastIndex - 1, where);
        j = ATTR_VALUE.lastIndex;
      }
      i = j;
    }
  }
  if (stack.length) throw new Error(`end of document with <${stack[stack.length - 1]}> still open`);
  if (!rootSeen) throw new Error('no root element');
}
