/**
 * BodyInflater: gzip, zlib ("deflate") and brotli bodies decoded in pieces of any size,
 * corrupt data ending the decoding, and both limits (absolute, ratio) cutting a body at a
 * point that does not depend on how its bytes were split.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import { BodyInflater, type Coding, type InflateLimits } from '../../../src/scanners/http/inflate';

const PLAIN = Buffer.from(Array.from({ length: 4000 }, (_, i) => `row ${i} ${(i * 7919) % 1000}\n`).join(''));
const LIMITS: InflateLimits = { maxBytes: 1 << 30, maxRatio: 100, ratioFloor: 1 << 20 };

function decode(coding: Coding, input: Buffer, piece: number, limits = LIMITS): { out: Buffer; inf: BodyInflater } {
  const parts: Buffer[] = [];
  const inf = new BodyInflater(coding, limits, (b) => parts.push(Buffer.from(b)));
  for (let i = 0; i < input.length; i += piece) inf.write(input.subarray(i, i + piece));
  inf.end();
  return { out: Buffer.concat(parts), inf };
}

test('gzip, zlib, gzip sent as deflate and brotli decode in pieces of 1, 7, 1000 bytes and whole', () => {
  const cases: [Coding, Buffer][] = [['gzip', zlib.gzipSync(PLAIN)], ['deflate', zlib.deflateSync(PLAIN)], ['deflate', zlib.gzipSync(PLAIN)], ['br', zlib.brotliCompressSync(PLAIN)]];
  for (const [coding, enc] of cases) {
    for (const piece of [1, 7, 1000, enc.length]) {
      const { out, inf } = decode(coding, enc, piece);
      assert.ok(out.equals(PLAIN), `${coding} in pieces of ${piece}`);
      assert.equal(inf.failed, null);
      assert.equal(inf.capped, null);
    }
  }
});

test('corrupt data: the decoding stops, what came before is kept, and it says so', () => {
  const enc = zlib.gzipSync(PLAIN);
  const bad = Buffer.concat([enc.subarray(0, 2000), Buffer.alloc(200, 0xff), enc.subarray(2200)]);
  const { out, inf } = decode('gzip', bad, 500);
  assert.ok(out.length < PLAIN.length && PLAIN.subarray(0, out.length).equals(out), 'a correct prefix');
  assert.equal(inf.failed, 'corrupt compressed data');
  const notGzip = decode('gzip', Buffer.from('this is not compressed at all, not even a header'), 10);
  assert.equal(notGzip.out.length, 0);
  assert.equal(notGzip.inf.failed, 'corrupt compressed data');
});

test('a bomb is cut at the ratio limit, at the same byte however it is split; the absolute limit too', () => {
  const bomb = zlib.gzipSync(Buffer.alloc(200 << 20));
  const sizes = [1, 333, 4096, 65536, bomb.length].map((p) => {
    const { out, inf } = decode('gzip', p === 1 ? bomb.subarray(0, 20_000) : bomb, p, { maxBytes: 1 << 30, maxRatio: 100, ratioFloor: 0 });
    assert.match(inf.capped ?? '', /over 100 times the compressed bytes read/);
    assert.ok(out.every((b) => b === 0));
    return out.length;
  });
  assert.ok(sizes.every((s) => s === sizes[0]), `one cut point: ${sizes.join(', ')}`);
  assert.equal(sizes[0], 100 * 4096, 'cut when the first 4 KiB block has given 100 times its size');
  const { out, inf } = decode('br', zlib.brotliCompressSync(PLAIN), 100, { maxBytes: 5000, maxRatio: 1e9, ratioFloor: 0 });
  assert.equal(out.length, 5000);
  assert.ok(PLAIN.subarray(0, 5000).equals(out));
  assert.equal(inf.capped, 'decompressed body cut at 5000 bytes (limit per body)');
});
