/**
 * The byte-level reading of plain responses (plain-head.ts, ResponseStream's feedPlain)
 * against http-parser-js alone (ResponseStream with `plain` off): the same events (heads
 * with their numbers and fields, body bytes at the same offsets, ends) for real response
 * flows (the loopback capture, pcapplusplus__650HttpResponses.pcap), for hand-made
 * responses that take each of its ways out to the library, cut at every byte position,
 * in random pieces, and mutated (bytes changed, pieces of broken HTTP put in). Requests
 * (RequestStream) the same way: the same methods, known at the same pieces.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { RequestStream, ResponseStream, type ResponseHead } from '../../../src/scanners/http/message-stream';
import { headEnd, MORE, NOT_PLAIN, PlainHead, readPlainHead } from '../../../src/scanners/http/plain-head';
import { makeTempDir, PCAP_DIR, removeDir, REPO_ROOT } from '../../helpers/corpus';
import { flowFiles, smallResponse } from '../../helpers/flow-files';

const CAPTURES = [path.join(REPO_ROOT, 'fixtures', 'http', 'loopback-http.pcap'), path.join(PCAP_DIR, 'pcapplusplus__650HttpResponses.pcap')];

const ok = (body: string, extra = '') => `HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n${extra}Content-Length: ${body.length}\r\n\r\n${body}`;
/** Responses that take each way out of the plain reading, and plain ones around them. */
const MADE = [
  ok('hello') + ok('world!'),
  ok('a', 'Connection: close\r\n') + '\r\n\r\n' + ok('after close'),
  'HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc' + ok('next, fresh count'),
  'HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 3\r\n\r\nabc' + ok('same count'),
  'HTTP/1.1 100 Continue\r\n\r\n' + ok('after 100'),
  'HTTP/1.1 204 No Content\r\n\r\n' + 'HTTP/1.1 304 Not Modified\r\nContent-Type: image/png\r\n\r\n' + ok('x'),
  'HTTP/1.1 304 Not Modified\r\nContent-Length: 12\r\n\r\n' + ok('304 with a length'),
  'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n' + ok('after empty'),
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' + ok('after chunked'),
  'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nclose-delimited body',
  ok('y') + 'HTTP/1.1 200 OK\nContent-Length: 2\n\nbare LF' + ok('z'),
  'HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 1\r\n\r\nf' + ok('q'),
  'HTTP/1.1 200 OK\r\nBad Name: a\r\nContent-Length: 1\r\n\r\nf' + ok('q'),
  'HTTP/1.1 200 OK\r\nContent-Typ\xe5: image/gif\r\nContent-Length: 1\r\n\r\nf' + ok('q'),
  'HTTP/1.1 200 OK\r\nContent-Type: text/\x8dhtml\r\nContent-Length: 1\r\n\r\nf',
  'HTTP/1.1 200 OK\r\nContent-Type: \ttext/HTML ; charset=x \xa0\r\nContent-Encoding:  gzip \r\nContent-Length: 2\r\n\r\nzz',
  'HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n0123456789abcdef' + ok('q'),
  'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab' + ok('q'),
  'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\nConnection: close\r\n\r\nab' + ok('q'),
  'HTTP/1.1 101 Switching\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nnot http any more',
  'HTTP/2.0 200 OK\r\nContent-Length: 1\r\n\r\nx' + ok('q'),
  'HTTP/1.1 2000\r\nContent-Length: 1\r\n\r\nx' + ok('q'),
  'HTTP/1.1 20x OK\r\nContent-Length: 1\r\n\r\nx',
  'HTTP/1.1 200 O\rK\r\nContent-Length: 1\r\n\r\nx',
  `HTTP/1.1 200 OK\r\nX-Big: ${'b'.repeat(20_000)}\r\nContent-Length: 1\r\n\r\nx` + ok('q'),
  'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\ncut by the end',
  'HTTP/1.1 200 OK\r\nContent-Le',
];


/** The events of one stream fed `input` in the pieces ending at `cuts` (a head's "skip" answer depends on its number). */
function read(input: Uint8Array, cuts: number[], plain: boolean): string[] {
  const events: string[] = [];
  let bodyAt = -1, body: number[] = [];
  const flushBody = () => {
    if (bodyAt >= 0) events.push(`body ${bodyAt} ${Buffer.from(body).toString('latin1')}`);
    bodyAt = -1;
    body = [];
  };
  const stream = new ResponseStream({
    head: (number: number, h: ResponseHead) => {
      flushBody();
      events.push(`head ${number} ${h.statusCode} [${h.contentType}] [${h.contentEncoding}] ${h.upgrade}`);
      return number % 5 === 3;
    },
    body: (bytes, offset) => {
      if (bodyAt >= 0 && offset !== bodyAt + body.length) flushBody();
      if (bodyAt < 0) bodyAt = offset;
      for (const b of bytes) body.push(b);
    },
    end: () => {
      flushBody();
      events.push('end');
    },
  }, plain);
  let pos = 0;
  for (const end of [...cuts, input.length]) {
    // A plain Uint8Array copy: the scanner is fed those, not Buffers, and the piece is reused after.
    const piece = Uint8Array.from(input.subarray(pos, end));
    stream.feed(piece);
    piece.fill(0xee);
    pos = end;
  }
  stream.finish();
  flushBody();
  events.push(`done ${stream.done}`);
  return events;
}

function same(input: Uint8Array, cuts: number[], what: string): void {
  assert.deepEqual(read(input, cuts, true), read(input, cuts, false), what);
}

let seed = 11;
const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
/** Random pieces of at most `max` bytes (http-parser-js counts a piece's earlier messages into its 80 KB head limit: pieces stay far below). */
const randomCuts = (length: number, max: number): number[] => {
  const cuts: number[] = [];
  for (let p = 1 + Math.floor(rnd() * max); p < length; p += 1 + Math.floor(rnd() * max)) cuts.push(p);
  return cuts;
};

test('plain heads: readPlainHead and headEnd on the edges', () => {
  const b = (s: string) => Buffer.from(s, 'latin1');
  assert.equal(headEnd(b('HTTP/1.1 200 OK\r\n\r\nbody'), 0, 23), 19);
  assert.equal(headEnd(b('HTTP/1.1 200 OK\r\nA: b\r\n'), 0, 23), MORE);
  assert.equal(headEnd(b('HTTP/1.1 200 OK\nA: b\r\n\r\n'), 0, 24), NOT_PLAIN);
  const h = new PlainHead();
  const head = b('HTTP/1.0 404 Not Found\r\ncontent-TYPE:  text/html \r\nCONNECTION: Keep-Alive\r\nContent-Length: 007\r\n\r\n');
  assert.ok(readPlainHead(head, 0, head.length, h));
  assert.deepEqual({ ...h }, { statusCode: 404, http11: false, contentLength: 7, contentType: 'text/html', contentEncoding: '', connection: 'keep-alive' });
  const close = b('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n');
  assert.equal(readPlainHead(close, 0, close.length, h), false, 'a body to the close is the library\'s');
});

test('plain heads: the same events as http-parser-js alone, hand-made responses cut at every byte and in random pieces', () => {
  for (const [i, s] of MADE.entries()) {
    const input = Buffer.from(s, 'latin1');
    same(input, [], `made ${i}: whole`);
    if (input.length < 2000) for (let p = 0; p <= input.length; p++) same(input, [p], `made ${i}: cut at ${p}`);
    for (let k = 0; k < 50; k++) same(input, randomCuts(input.length, 200), `made ${i}: random pieces`);
  }
  assert.equal(read(Buffer.from(MADE[0], 'latin1'), [], true).filter((e) => e.startsWith('body')).length, 2, 'plain bodies read');
});

test('plain heads: the same events as http-parser-js alone on real response flows, whole, cut, in pieces and mutated', async () => {
  const tmp = makeTempDir('tcpflow-ts-http-plain-');
  try {
    const seeds = await flowFiles(CAPTURES, tmp, smallResponse);
    assert.ok(seeds.length > 100, 'response flows to start from');
    for (const [i, s] of seeds.entries()) {
      same(s, randomCuts(s.length, 1500), `flow ${i}: packet-sized pieces`);
      if (i < 40 && s.length < 3000) for (let p = 0; p <= s.length; p++) same(s, [p], `flow ${i}: cut at ${p}`);
    }
    const JUNK = ['\r\n', 'Content-Length: 5\r\n', 'Transfer-Encoding: chunked\r\n', 'HTTP/1.1 200 OK\r\n', 'HTTP/1.0 304 x\r\n\r\n', ' folded\r\n',
      'Connection: close\r\n', 'Content-Length: 99999999999999999999\r\n', '\n', '\r\n\r\n', 'X: \x8d\r\n'];
    for (let n = 0; n < 3000; n++) {
      let b = Buffer.from(seeds[Math.floor(rnd() * seeds.length)]);
      for (let k = 0; k < 1 + rnd() * 4; k++) {
        // Mostly in the heads, where the readings could part.
        const pos = Math.floor(rnd() * Math.min(b.length, rnd() < 0.7 ? 400 : b.length));
        if (rnd() < 0.4) b[pos] = Math.floor(rnd() * 256);
        else b = Buffer.concat([b.subarray(0, pos), Buffer.from(JUNK[Math.floor(rnd() * JUNK.length)], 'latin1'), b.subarray(pos)]);
      }
      same(b, randomCuts(b.length, 600), `mutation ${n}`);
    }
  } finally {
    removeDir(tmp);
  }
});

const req = (method: string, extra = '') => `${method} /a/b?c=d HTTP/1.1\r\nHost: example.com\r\n${extra}\r\n`;
const MADE_REQUESTS = [
  req('GET') + req('HEAD') + req('GET'),
  req('POST', 'Content-Length: 11\r\n') + 'GET / HTTP/' + req('HEAD'),
  req('POST', 'Transfer-Encoding: chunked\r\n') + '4\r\nHEAD\r\n0\r\n\r\n' + req('HEAD'),
  '\r\n' + req('GET') + '\r\n\r\n' + req('HEAD'),
  req('GET') + 'HEAD / HTTP/1.1\nHost: x\n\n' + req('GET'),
  req('CONNECT') + req('HEAD'),
  req('GET', 'Upgrade: websocket\r\nConnection: Upgrade\r\n') + req('HEAD') + req('GET'),
  req('get') + req('HEAD'),
  req('BREW') + req('HEAD'),
  req('M-SEARCH') + req('PROPFIND') + req('HEAD'),
  'GET /\xa0x HTTP/1.1\r\n\r\n' + req('HEAD'),
  'GET / HTTP/2.0\r\n\r\n' + 'GET / HTTP/1.1 \r\n\r\n' + req('HEAD'),
  req('GET', 'X-Folded: a\r\n b\r\n') + req('HEAD'),
  req('GET', 'Bad Name: a\r\nOdd@name: b\r\n') + req('HEAD'),
  req('POST', 'Content-Length: 3\r\nContent-Length: 3\r\n') + 'abc' + req('HEAD'),
  req('POST', 'Content-Length: x\r\n') + req('HEAD'),
  req('GET', `X-Big: ${'b'.repeat(20_000)}\r\n`) + req('HEAD'),
  req('GET', 'X: \x8a\r\n') + req('HEAD'),
  req('HEAD').slice(0, 30),
];

/** After each piece, the methods known so far (a response is read knowing exactly those). */
function requests(input: Uint8Array, cuts: number[], plain: boolean): string[] {
  const stream = new RequestStream(1000, plain);
  const seen: string[] = [];
  let pos = 0;
  for (const end of [...cuts, input.length]) {
    const piece = Uint8Array.from(input.subarray(pos, end));
    stream.feed(piece);
    piece.fill(0xee);
    seen.push(stream.methods.join(','));
    pos = end;
  }
  return seen;
}

function sameRequests(input: Uint8Array, cuts: number[], what: string): void {
  assert.deepEqual(requests(input, cuts, true), requests(input, cuts, false), what);
}

test('plain requests: the same methods, at the same pieces, as http-parser-js alone', async () => {
  for (const [i, s] of MADE_REQUESTS.entries()) {
    const input = Buffer.from(s, 'latin1');
    sameRequests(input, [], `made request ${i}: whole`);
    if (input.length < 2000) for (let p = 0; p <= input.length; p++) sameRequests(input, [p], `made request ${i}: cut at ${p}`);
    for (let k = 0; k < 50; k++) sameRequests(input, randomCuts(input.length, 100), `made request ${i}: random pieces`);
  }
  assert.deepEqual(requests(Buffer.from(MADE_REQUESTS[0], 'latin1'), [], true), ['GET,HEAD,GET']);
  const tmp = makeTempDir('tcpflow-ts-http-plain-req-');
  try {
    const more = ['pcapplusplus__http-packets2.pcap', 'pcapplusplus__three_http_streams.pcap'].map((f) => path.join(PCAP_DIR, f));
    const seeds = await flowFiles([...CAPTURES, ...more], tmp, (b) => /^[A-Z]+ /.test(b.subarray(0, 10).toString('latin1')) && b.length < 200_000);
    assert.ok(seeds.length >= 10, `request flows to start from: ${seeds.length}`);
    for (const [i, s] of seeds.entries()) sameRequests(s, randomCuts(s.length, 1500), `request flow ${i}`);
    const JUNK = ['\r\n', 'Content-Length: 5\r\n', 'Transfer-Encoding: chunked\r\n', 'HEAD / HTTP/1.1\r\n', 'CONNECT x:1 HTTP/1.1\r\n\r\n', ' folded\r\n', '\n', '\r\n\r\n'];
    for (let n = 0; n < 2000; n++) {
      let b = Buffer.from(seeds[Math.floor(rnd() * seeds.length)]);
      for (let k = 0; k < 1 + rnd() * 4; k++) {
        const pos = Math.floor(rnd() * Math.min(b.length, 400));
        if (rnd() < 0.4) b[pos] = Math.floor(rnd() * 256);
        else b = Buffer.concat([b.subarray(0, pos), Buffer.from(JUNK[Math.floor(rnd() * JUNK.length)], 'latin1'), b.subarray(pos)]);
      }
      sameRequests(b, randomCuts(b.length, 300), `request mutation ${n}`);
    }
  } finally {
    removeDir(tmp);
  }
});
