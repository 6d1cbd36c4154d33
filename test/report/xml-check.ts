/**
 * A strict well-formedness check for the small XML subset the report uses (elements,
 * attributes in ' or ", text, the five predefined entities and numeric references).
 * xmlbuilder2's parser is lenient (it accepts `<a><b></a>` and raw control characters),
 * so it cannot be the judge of well-formedness on its own.
 */

// XML 1.0 Char production.
const CHARS = /^[\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]*$/u;
const NAME = /^[A-Za-z_:][A-Za-z0-9_:.-]*/;
const REF = /^&(amp|lt|gt|apos|quot|#[0-9]+|#x[0-9a-fA-F]+);/;

export function checkChars(s: string): void {
  if (!CHARS.test(s)) {
    for (const ch of s) {
      if (!CHARS.test(ch)) throw new Error(`character U+${ch.codePointAt(0)!.toString(16)} not allowed in XML`);
    }
    throw new Error('character not allowed in XML');
  }
}

/** Text content (or an attribute value without its quote): only references may use '&'; no '<'. */
export function checkText(s: string, quote = ''): void {
  checkChars(s);
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '<') throw new Error(`raw '<' at ${i}`);
    if (quote && c === quote) throw new Error(`raw quote at ${i}`);
    if (c === '&') {
      const m = REF.exec(s.slice(i));
      if (!m) throw new Error(`bare '&' at ${i}: ${JSON.stringify(s.slice(i, i + 10))}`);
      i += m[0].length - 1;
    }
  }
}

/** Throws unless `xml` is one well-formed element (optionally surrounded by whitespace). */
export function checkWellFormed(xml: string): void {
  checkChars(xml);
  const stack: string[] = [];
  let i = 0;
  let roots = 0;
  const ws = () => { while (i < xml.length && /\s/.test(xml[i])) i++; };
  while (i < xml.length) {
    if (xml[i] === '<') {
      if (xml[i + 1] === '/') {
        const m = NAME.exec(xml.slice(i + 2));
        if (!m) throw new Error(`bad end tag at ${i}`);
        const name = m[0];
        i += 2 + name.length;
        ws();
        if (xml[i] !== '>') throw new Error(`bad end tag ${name} at ${i}`);
        i++;
        const open = stack.pop();
        if (open !== name) throw new Error(`</${name}> closes <${open}>`);
        continue;
      }
      if (stack.length === 0 && roots++ > 0) throw new Error('more than one root element');
      const m = NAME.exec(xml.slice(i + 1));
      if (!m) throw new Error(`bad start tag at ${i}`);
      const name = m[0];
      i += 1 + name.length;
      const seen = new Set<string>();
      for (;;) {
        const before = i;
        ws();
        if (xml[i] === '>') { i++; stack.push(name); break; }
        if (xml[i] === '/' && xml[i + 1] === '>') { i += 2; break; }
        if (i === before) throw new Error(`no space before attribute at ${i}`);
        const a = NAME.exec(xml.slice(i));
        if (!a) throw new Error(`bad attribute at ${i} in <${name}>`);
        if (seen.has(a[0])) throw new Error(`duplicate attribute ${a[0]}`);
        seen.add(a[0]);
        i += a[0].length;
        ws();
        if (xml[i] !== '=') throw new Error(`attribute ${a[0]} without '='`);
        i++;
        ws();
        const q = xml[i];
        if (q !== "'" && q !== '"') throw new Error(`unquoted attribute ${a[0]}`);
        const end = xml.indexOf(q, i + 1);
        if (end < 0) throw new Error(`unterminated attribute ${a[0]}`);
        checkText(xml.slice(i + 1, end), q);
        i = end + 1;
      }
    } else {
      const next = xml.indexOf('<', i);
      const text = xml.slice(i, next < 0 ? xml.length : next);
      if (stack.length === 0 && text.trim() !== '') throw new Error(`text outside the root: ${JSON.stringify(text.slice(0, 20))}`);
      checkText(text);
      if (text.includes(']]>')) throw new Error("']]>' in text");
      i = next < 0 ? xml.length : next;
    }
  }
  if (stack.length) throw new Error(`unclosed <${stack.join('><')}>`);
  if (roots !== 1) throw new Error('no root element');
}
