/**
 * Text and attribute escaping for the DFXML report, as tcpflow writes it: the five
 * markup characters become entities; CR, LF, TAB, NUL and every other character that
 * XML 1.0 forbids become %XX, so any byte from the input stays well-formed.
 */
import { isoSeconds } from '../util/iso-time';
import { lazyTable } from '../util/lazy-table';

// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /[&<>'"\u0000-\u001f\ud800-\udfff\ufffe\uffff]/;

export function escapeXml(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    switch (c) {
      case 0x26: out += '&amp;'; break;
      case 0x3c: out += '&lt;'; break;
      case 0x3e: out += '&gt;'; break;
      case 0x27: out += '&apos;'; break;
      case 0x22: out += '&quot;'; break;
      default:
        if (c < 0x20 || c === 0xfffe || c === 0xffff) {
          out += '%' + c.toString(16).toUpperCase().padStart(2, '0');
        } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
          const d = s.charCodeAt(i + 1);
          if (d >= 0xdc00 && d <= 0xdfff) { out += s[i] + s[i + 1]; i++; } else out += '%' + c.toString(16).toUpperCase();
        } else if (c >= 0xd800 && c <= 0xdfff) {
          out += '%' + c.toString(16).toUpperCase(); // lone surrogate: not encodable as UTF-8
        } else {
          out += s[i];
        }
    }
  }
  return out;
}

/**
 * Only the characters XML 1.0 cannot carry, as %XX: for the header's and footer's text
 * (elementText), where markup is escaped but TAB, LF and CR are kept.
 */
export function sanitizeXmlChars(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
}

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

/**
 * Text of a header or footer element (command line, outdir, error): sanitizeXmlChars, and
 * '&', '<', '>' as entities; quotes, TAB, LF and CR as they are. Every '&' is escaped, so
 * text that looks like a reference ('&foo;', '&#0;') stays text.
 */
export function elementText(s: string): string {
  return sanitizeXmlChars(s).replace(/[&<>]/g, (c) => ENTITIES[c]);
}

/** An attribute value of a header or footer element (in double quotes): elementText and '"'. */
function attributeText(s: string): string {
  return sanitizeXmlChars(s).replace(/[&<>"]/g, (c) => ENTITIES[c]);
}

/** An element of report.xml's header or footer: its text or its children (neither: `<name/>`). */
export interface XmlElement {
  name: string;
  attrs?: Readonly<Record<string, string>>;
  text?: string;
  children?: readonly XmlElement[];
}

/**
 * `e` laid out as report.xml's header and footer always were (xmlbuilder2's pretty
 * printer wrote them until it was dropped for its start-up cost, README Performance): one
 * element a line, two spaces of indentation a level from `depth`, attributes in double
 * quotes, an element with neither text nor children as `<name/>`. No line end at the end.
 */
export function renderElement(e: XmlElement, depth = 1): string {
  const pad = '  '.repeat(depth);
  let open = `${pad}<${e.name}`;
  for (const [k, v] of Object.entries(e.attrs ?? {})) open += ` ${k}="${attributeText(v)}"`;
  if (e.children !== undefined && e.children.length > 0) {
    return `${open}>\n${e.children.map((c) => renderElement(c, depth + 1)).join('\n')}\n${pad}</${e.name}>`;
  }
  if (e.text === undefined || e.text === '') return `${open}/>`;
  return `${open}>${elementText(e.text)}</${e.name}>`;
}

/**
 * The two seconds formatted last and their text: a record names its flow's first and
 * last second, and consecutive records mostly the same two (one cached second thrashed
 * whenever a flow's packets crossed a second: ~250 ns a call, most of a record's cost).
 */
const cachedSec = [NaN, NaN];
const cachedBase = ['', ''];
let cacheNext = 0;
/** 0-999 as three digits: a microsecond count as two of them. */
const digits3 = lazyTable(1000, (i) => String(i).padStart(3, '0'));

/** isoSeconds(sec), from the cache of the last two. */
export function isoSecondsCached(sec: number): string {
  if (sec === cachedSec[0]) return cachedBase[0];
  if (sec === cachedSec[1]) return cachedBase[1];
  const k = cacheNext;
  cacheNext ^= 1;
  cachedSec[k] = sec;
  return cachedBase[k] = isoSeconds(sec);
}

/** UTC ISO-8601 time as in the report: fraction only when the microseconds are non-zero. */
export function isoTime(sec: number, usec: number): string {
  const base = isoSecondsCached(sec);
  if (usec === 0) return `${base}Z`;
  // A hostile capture's microseconds can be out of range (or, from pcapng ticks, not whole): written as they are.
  const frac = Number.isInteger(usec) && usec > 0 && usec < 1e6
    ? digits3(Math.floor(usec / 1000)) + digits3(usec % 1000) : String(usec).padStart(6, '0');
  return `${base}.${frac}Z`;
}
