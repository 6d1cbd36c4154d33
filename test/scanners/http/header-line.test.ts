/**
 * plainHeader, the http scanner's regex-free reading of `Name: value` header lines, must
 * read every line exactly as before: http-parser-js's own parseHeader, behind tcpflow's
 * strict header names for responses (a name that is not a token stops the parsing). The
 * reference below is that earlier code; random lines over an alphabet rich in the
 * characters that matter (blanks, colons, CR, non-token characters) are read both ways.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HTTPParser } from 'http-parser-js';
import { plainHeader } from '../../../src/scanners/http/message-stream';

const libraryParseHeader = (HTTPParser.prototype as unknown as { parseHeader: (line: string, headers: string[]) => void }).parseHeader;
const TOKEN_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The reading before plainHeader: the strict name check (responses), then the library's. */
function reference(line: string, headers: string[], strict: boolean): void {
  if (strict && line.length > 0 && line[0] !== ' ' && line[0] !== '\t') {
    const colon = line.indexOf(':');
    if (colon <= 0 || !TOKEN_NAME.test(line.slice(0, colon))) throw new Error('invalid header name');
  }
  libraryParseHeader.call({}, line, headers);
}

function read(f: (line: string, headers: string[]) => void, line: string, before: readonly string[]): string[] | 'error' {
  const headers = [...before];
  try {
    f(line, headers);
  } catch {
    return 'error';
  }
  return headers;
}

const plain = (strict: boolean) => (line: string, headers: string[]) => {
  if (!plainHeader(line, headers, strict)) libraryParseHeader.call({}, line, headers);
};

test('plainHeader reads header lines as http-parser-js (with strict names for responses) does', () => {
  const alphabet = ['a', 'Z', '-', '0', ':', ':', ' ', ' ', '\t', '\r', '(', '"', '/', '\x00', '\x7f', '\x0b', 'é', '~'];
  let s = 11;
  const rnd = (n: number) => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) % n);
  const fixed = ['Content-Type: text/html', 'Content-Type:text/html  ', 'X:', 'X: \t ', ': x', ' folded', '\tfolded more',
    'Name : v', 'Na me: v', 'A:b:c', 'A: b\r', 'no colon', '', 'X-(y): z', 'X\x00: z', 'K:\t v \t'];
  const lines = [...fixed];
  for (let n = 0; n < 20000; n++) {
    let line = '';
    for (let k = rnd(14); k > 0; k--) line += alphabet[rnd(alphabet.length)];
    lines.push(line);
  }
  for (const strict of [true, false]) {
    for (const before of [[], ['Server', 'x'], ['Server', '']]) {
      for (const line of lines) {
        assert.deepEqual(read(plain(strict), line, before), read((l, h) => reference(l, h, strict), line, before),
          `${strict ? 'response' : 'request'} line ${JSON.stringify(line)} after ${JSON.stringify(before)}`);
      }
    }
  }
});
