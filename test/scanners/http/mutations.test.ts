/**
 * The response parser on hostile input: real response flows (the loopback capture and
 * pcapplusplus__650HttpResponses.pcap) with random bytes changed and pieces of broken HTTP
 * put in (negative and huge chunk sizes and lengths, NULs, bad header names, extra status
 * lines), fed in random pieces. Every input must end without an exception, each body
 * offset must lie inside the input, and every started response must be ended once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { ResponseStream } from '../../../src/scanners/http/message-stream';
import { makeTempDir, PCAP_DIR, removeDir, REPO_ROOT } from '../../helpers/corpus';
import { flowFiles, smallResponse } from '../../helpers/flow-files';

const CAPTURES = [path.join(REPO_ROOT, 'fixtures', 'http', 'loopback-http.pcap'), path.join(PCAP_DIR, 'pcapplusplus__650HttpResponses.pcap')];
const JUNK = ['-5', 'ffffffffffffffffffff', '\r\n', '0\r\n\r\n', 'Content-Length: -1\r\n', 'Transfer-Encoding: chunked\r\n',
  'HTTP/1.1 200 OK\r\n', '\0\0\0', ' : x\r\n', 'Content-Length: 99999999999999999999\r\n', 'Connection: close\r\n', 'HTTP/1.0 101 Up\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n'];

test('http response parser: mutated real responses in random pieces end cleanly', async () => {
  const tmp = makeTempDir('tcpflow-ts-http-mut-');
  try {
    const seeds = await flowFiles(CAPTURES, tmp, smallResponse);
    assert.ok(seeds.length > 100, 'response flows to start from');
    let s = 7;
    const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let n = 0; n < 4000; n++) {
      let b = Buffer.from(seeds[Math.floor(rnd() * seeds.length)]);
      for (let k = 0; k < 1 + rnd() * 5; k++) {
        const pos = Math.floor(rnd() * b.length);
        if (rnd() < 0.5) b[pos] = Math.floor(rnd() * 256);
        else b = Buffer.concat([b.subarray(0, pos), Buffer.from(JUNK[Math.floor(rnd() * JUNK.length)], 'latin1'), b.subarray(pos)]);
      }
      let heads = 0, ends = 0;
      const input = b;
      const stream = new ResponseStream({
        head: () => {
          heads++;
          return rnd() < 0.1;
        },
        body: (bytes, offset) => {
          assert.ok(offset >= 0 && offset + bytes.length <= input.length, `body at ${offset}+${bytes.length} in ${input.length} bytes`);
        },
        end: () => {
          ends++;
        },
      });
      for (let pos = 0; pos < b.length;) {
        const end = Math.min(b.length, pos + 1 + Math.floor(rnd() * 600));
        stream.feed(b.subarray(pos, end));
        pos = end;
      }
      stream.finish();
      assert.equal(ends, heads, 'every response started is ended once');
    }
  } finally {
    removeDir(tmp);
  }
});
