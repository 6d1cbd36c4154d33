/**
 * Text and attribute escaping for the DFXML report, as tcpflow writes it: the five
 * markup characters become entities; CR, LF, TAB, NUL and every other character that
 * XML 1.0 forbids become %XX, so any byte from the input stays well-formed.
 */
import { isoSeconds } from '../util/iso-time';

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
 * Only the characters XML 1.0 cannot carry, as %XX: for text handed to xmlbuilder2,
 * which escapes markup itself but passes control characters through.
 */
export function sanitizeXmlChars(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
}

/**
 * Text for xmlbuilder2's txt(): XML characters only (sanitizeXmlChars) and every '&'
 * written as '&amp;' here. xmlbuilder2 escapes '<' and '>' but passes anything that looks
 * like an entity or decimal character reference ('&foo;', '&#0;') through as markup, so
 * an output directory or file name such as `a&foo;b` would make the report ill-formed
 * (and `&amp;` would lose its meaning).
 */
export function builderText(s: string): string {
  return sanitizeXmlChars(s).replace(/&/g, '&amp;');
}

/** UTC ISO-8601 time as in the report: fraction only when the microseconds are non-zero. */
let lastSec = NaN;
let lastBase = '';

export function isoTime(sec: number, usec: number): string {
  // Consecutive records mostly share the second: format it once.
  if (sec !== lastSec) {
    lastBase = isoSeconds(sec);
    lastSec = sec;
  }
  const base = lastBase;
  return usec === 0 ? `${base}Z` : `${base}.${String(usec).padStart(6, '0')}Z`;
}
