import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestStream, ResponseStream } from '../../../src/scanners/http/message-stream';

/**
 * The 80 KiB head limit of http-parser (tcpflow's) counts one message's head. http-parser-js
 * counted every byte of a piece ending in a head, earlier messages' bodies too: a flow file
 * read back in 1 MiB steps stopped being parsed after its first step.
 */

const chunked = (n: number) => `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n${String.fromCharCode(97 + (n % 26)).repeat(1024)}\r\n0\r\n\r\n`;
const sized = (body: string, extra = '') => `HTTP/1.1 200 OK\r\n${extra}Content-Length: ${body.length}\r\n\r\n${body}`;

/** Heads and body bytes read from `pieces`, by http-parser-js alone (plain false) or with the plain reader first. */
function read(pieces: string[], plain: boolean): { heads: number; bodyBytes: number; done: boolean } {
  let heads = 0, bodyBytes = 0;
  const stream = new ResponseStream({
    head: () => { heads++; return false; },
    body: (bytes) => { bodyBytes += bytes.length; },
    end: () => undefined,
  }, plain);
  for (const p of pieces) stream.feed(Uint8Array.from(Buffer.from(p, 'latin1')));
  stream.finish();
  return { heads, bodyBytes, done: stream.done };
}

test('a piece of many responses ending in a head does not stop the parsing (chunked: http-parser-js reads them)', () => {
  const many = Array.from({ length: 200 }, (_, i) => chunked(i)).join(''); // 214 kB
  const next = chunked(200);
  for (const plain of [true, false]) {
    // The piece ends inside the next head, and then exactly at a message's end.
    const cut = next.indexOf('\r\n') + 2;
    const r = read([many + next.slice(0, cut), next.slice(cut) + chunked(201)], plain);
    assert.equal(r.heads, 202, `plain ${plain}`);
    assert.equal(r.bodyBytes, 202 * 1024, `plain ${plain}`);
    const s = read([many, chunked(200) + chunked(201)], plain);
    assert.equal(s.heads, 202, `plain ${plain}, cut at a message's end`);
  }
});

test('the head limit still holds per message: 79 KiB after a large body is read, 81 KiB is not', () => {
  const body = 'x'.repeat(100_000);
  const header = (kib: number) => `X-Big: ${'h'.repeat(kib * 1024 - 10)}\r\n`;
  for (const plain of [true, false]) {
    const ok = read([sized(body) + sized('abc', header(79)) + sized('de')], plain);
    assert.deepEqual([ok.heads, ok.bodyBytes], [3, 100_005], `plain ${plain}: 79 KiB`);
    const big = sized('abc', header(81));
    // Fed whole and in 1 KiB pieces: the head alone is over the limit either way.
    for (const pieces of [[sized(body) + big + sized('de')], (sized(body) + big + sized('de')).match(/[^]{1,1024}/g) as string[]]) {
      const over = read(pieces, plain);
      assert.deepEqual([over.heads, over.bodyBytes, over.done], [1, 100_000, true], `plain ${plain}: 81 KiB in ${pieces.length} pieces`);
    }
  }
});

test('requests: a piece of many requests ending in a head keeps the methods coming', () => {
  const post = (n: number) => `POST /u${n} HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n${'p'.repeat(1024)}\r\n0\r\n\r\n`;
  const many = Array.from({ length: 100 }, (_, i) => post(i)).join('');
  for (const plain of [true, false]) {
    const stream = new RequestStream(1000, plain);
    stream.feed(Uint8Array.from(Buffer.from(many + 'HEAD / HT', 'latin1')));
    stream.feed(Uint8Array.from(Buffer.from('TP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n', 'latin1')));
    assert.equal(stream.methods.length, 102, `plain ${plain}`);
    assert.deepEqual(stream.methods.slice(-2), ['HEAD', 'GET'], `plain ${plain}`);
  }
});
